/**
 * The layout and navigation a newcomer meets, at 1440 and 1024 px, without a VM: the Steps pane
 * never covers the table, each section has its own URL, and a machine made or removed by a CLI
 * beside the page shows up in it without a reload.
 */
import { expect, test, type Page } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { startServe, type HostFixture } from './fixtures.js';
import { IMAGE_DIR } from '../integration/vm-env.js';

let host: HostFixture;
let stop: () => void;
test.beforeAll(async () => {
  const s = await startServe({ HLAB_IMAGE_DIR: IMAGE_DIR });
  host = s.host;
  stop = () => s.child.kill('SIGINT');
});
test.afterAll(() => stop());

const overlaps = (a: { x: number; y: number; width: number; height: number }, b: typeof a) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

async function stepsWithDetails(page: Page) {
  await page.goto(host.url);
  await page.getByRole('button', { name: 'Steps', exact: true }).click();
  await page.getByTestId('step-list').getByRole('button').first().click();
  await expect(page.getByTestId('step-details')).toBeVisible();
}

for (const width of [1440, 1024]) {
  test(`at ${width} px the step details never cover the step table`, async ({ page }) => {
    await page.setViewportSize({ width, height: 800 });
    await stepsWithDetails(page);
    const table = await page.getByTestId('step-list').boundingBox();
    const details = await page.getByTestId('step-details').boundingBox();
    expect(table && details).toBeTruthy();
    expect(overlaps(table!, details!)).toBe(false);
    // Nothing lies over the first row's add button: a trial click would fail if it did.
    await page
      .getByTestId('step-list')
      .getByRole('button', { name: /^Add .* to recipe$/ })
      .first()
      .click({ trial: true });
    await page.screenshot({ path: `test-results/screenshots/steps-${width}.png` });
  });
}

test('each section has its own URL: a reload and the back button land where the user was', async ({
  page,
}) => {
  await page.goto(host.url);
  await expect(page.getByRole('heading', { level: 1, name: 'Hardening Lab' })).toBeVisible();
  await page.getByRole('button', { name: 'Runs', exact: true }).click();
  await expect(page).toHaveURL(/#\/Runs$/);
  await expect(page.getByRole('button', { name: 'Runs', exact: true })).toHaveAttribute(
    'aria-current',
    'page',
  );
  await page.reload();
  await expect(page.getByRole('heading', { level: 2, name: 'Runs' })).toBeVisible();
  await page.getByRole('button', { name: 'Bench', exact: true }).click();
  await page.goBack();
  await expect(page.getByRole('heading', { level: 2, name: 'Runs' })).toBeVisible();
});

test('a machine a CLI creates or removes beside the page shows up in it, without a reload', async ({
  page,
}) => {
  const hlab = (...args: string[]) =>
    spawnSync(process.execPath, ['electron/host/hlab.mjs', ...args], {
      env: { ...process.env, HLAB_HOME: host.home, HLAB_IMAGE_DIR: IMAGE_DIR },
      encoding: 'utf8',
      timeout: 120_000,
    });
  await page.goto(host.url);
  await expect(page.getByText('No machines yet')).toBeVisible();
  // Created, not started: an overlay and a record, no boot.
  const made = hlab('machine', 'create', 'beside1');
  expect(made.status, made.stderr).toBe(0);
  const row = page.getByTestId('machine-list').getByRole('row', { name: /beside1/ });
  await expect(row).toBeVisible({ timeout: 10_000 });
  await page.getByRole('button', { name: 'Terminal', exact: true }).click();
  await expect(page.getByText('No running machine')).toBeVisible();
  await page.getByRole('button', { name: 'Machines', exact: true }).click();
  const gone = hlab('machine', 'rm', 'beside1');
  expect(gone.status, gone.stderr).toBe(0);
  await expect(row).toHaveCount(0, { timeout: 10_000 });
});
