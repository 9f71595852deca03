/**
 * The core path a user takes, in Chromium against the real QEMU VM: create a machine, open a
 * terminal, build a recipe with a deliberately broken step, run it, watch the broken step roll
 * back while the others validate, and read the bench chart. Each section is screenshotted.
 */
import { test as base, expect, type Page } from '@playwright/test';
import { cpSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IMAGE_DIR } from '../integration/vm-env.js';
import { startServe, type HostFixture } from './fixtures.js';
import { hlab } from './vm-fixture.js';

const M = 'core1';
const SHOTS = 'test-results/screenshots';

const test = base.extend<object, { coreHost: HostFixture }>({
  coreHost: [
    // eslint-disable-next-line no-empty-pattern -- Playwright requires the destructuring form
    async ({}, use) => {
      // A copy of the labs: saving a recipe from the UI must not touch the repository.
      const labs = mkdtempSync(path.join(os.tmpdir(), 'hlab-e2e-labs-'));
      cpSync('labs', labs, { recursive: true });
      const { host, child, stderr } = await startServe({ HLAB_IMAGE_DIR: IMAGE_DIR, HLAB_LABS_DIR: labs });
      await use(host);
      if (stderr().trim()) console.error(`hlab serve said:\n${stderr()}`);
      try {
        hlab(host.home, 'machine', 'rm', M);
      } finally {
        child.kill('SIGINT');
      }
    },
    { scope: 'worker', timeout: 600_000 },
  ],
});

const section = (page: Page, name: string) => page.getByRole('button', { name, exact: true }).click();

test.describe.configure({ mode: 'serial' });
test.setTimeout(900_000);

test('create → terminal → recipe with a broken step → run with live rollback → bench chart', async ({
  page,
  coreHost,
}) => {
  await page.setViewportSize({ width: 1360, height: 900 });
  await page.goto(coreHost.url);
  // Connected, and the providers and images are listed: the form submits what the user sees.
  await expect(page.getByTestId('connection')).toContainText('connected');
  await expect(page.getByRole('combobox', { name: 'Image' })).toContainText('kernel');

  // Machines: create and start from the form.
  // Two forms have a Name field once the providers are listed (create, add existing): take ours.
  const form = page.getByRole('form', { name: 'New machine' });
  // A bad name is said next to the field as it is typed, not in a toast after submitting.
  await form.getByLabel('Name').fill('My Lab!');
  await expect(form.getByRole('alert')).toContainText('must be a name of letters, digits');
  await expect(form.getByLabel('Name')).toHaveAttribute('aria-invalid', 'true');
  await form.getByLabel('Name').fill(M);
  await expect(form.getByRole('alert')).toHaveCount(0);
  // The fast path (a copy of the ready template) is the default.
  await expect(form.getByLabel('From the ready template (seconds)')).toBeChecked();
  await page.getByRole('button', { name: 'Create machine' }).click();
  // Progress ticks where the user looks, then the toast offers the next step.
  await expect(form.getByTestId('elapsed')).toBeVisible();
  const ready = page.locator('.toast', { hasText: `${M} is running and answers SSH` });
  await expect(ready).toBeVisible({ timeout: 300_000 });
  const row = page.getByTestId('machine-list').getByRole('row', { name: new RegExp(M) });
  // "running" shows as soon as QEMU is up; Stop appears when the start (SSH ready) has finished.
  await expect(row.getByText('running')).toBeVisible({ timeout: 300_000 });
  await expect(row.getByRole('button', { name: 'Stop' })).toBeVisible({ timeout: 300_000 });
  // A QEMU machine's guest reaches only its egress allow list.
  await expect(row.getByText('filtered')).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/machines.png` });

  // Lab servers: the app's key to install there, and a URI the app refuses with its reason.
  const servers = page.getByTestId('lab-servers');
  await servers.getByText('Lab servers').click();
  await expect(servers.locator('code.key')).toContainText('ssh-ed25519 ');
  const addServer = page.getByRole('form', { name: 'Add lab server' });
  await addServer.getByLabel('Name').fill('s1');
  await addServer.getByLabel('URI').fill('qemu+tcp://server/system');
  await addServer.getByRole('button', { name: 'Add lab server' }).click();
  await expect(page.getByText('uses "qemu+tcp"')).toBeVisible();

  // Terminal: a real shell on the new machine, opened from the machine's row.
  await row.getByRole('button', { name: 'Open terminal' }).click();
  await expect(page.getByRole('heading', { name: 'Terminal' })).toBeVisible();
  const term = page.getByTestId('terminal-1');
  await expect(term.locator('.xterm-rows')).toContainText('$', { timeout: 60_000 });
  await term.click();
  await page.keyboard.type('echo core-$((6*7)) && uname -r\n');
  await expect(term.locator('.xterm-rows')).toContainText('core-42');
  await page.screenshot({ path: `${SHOTS}/terminal.png` });

  // Steps: browse, then build a recipe: two good steps around a deliberately broken one.
  await section(page, 'Steps');
  await page.getByRole('combobox', { name: 'Filter by area' }).selectOption('ssh');
  await page.getByRole('button', { name: /Demo: an sshd change/ }).click();
  await expect(page.getByTestId('step-script')).toContainText('AllowUsers');
  await page.getByRole('combobox', { name: 'Filter by area' }).selectOption('');
  await page.getByLabel('Recipe id').fill('ui-demo');
  await page.getByLabel('Recipe title').fill('Built in the UI');
  await page.getByRole('button', { name: 'Add kernel-sysctl to recipe' }).click();
  await page.getByRole('button', { name: 'Add demo-sshd-lockout to recipe' }).click();
  await page.getByRole('button', { name: 'Add disable-rare-protocols to recipe' }).click();
  await expect(page.getByTestId('draft-steps').locator('li')).toHaveCount(3);
  // Each add is seen: the button says so, and the tray at the bottom counts the steps.
  await expect(page.getByRole('button', { name: 'Add kernel-sysctl to recipe' })).toHaveText('✓ Added');
  await expect(page.getByTestId('recipe-tray')).toContainText('Recipe ui-demo (3)');
  await page.getByRole('button', { name: 'Validate' }).click();
  await expect(page.getByTestId('draft-valid')).toContainText('Valid: 3 steps');
  await page.getByRole('button', { name: 'Save to my recipes' }).click();
  // Into the user's data folder, not the app's labs.
  const saved = page.locator('.toast', { hasText: `Saved ${coreHost.home}/recipes/ui-demo.yaml` });
  await expect(saved).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/steps.png`, fullPage: true });

  // Runs, from the toast: the recipe is picked; run it and watch the timeline.
  await saved.getByRole('button', { name: 'Run it' }).click();
  await expect(page.getByRole('combobox', { name: 'Recipe to run' })).toHaveValue('ui-demo');
  await expect(page.getByRole('combobox', { name: 'Machine to run on' })).toHaveValue(M);
  await page.getByRole('button', { name: 'Run recipe' }).click();
  const timeline = page.getByTestId('run-timeline');
  await expect(timeline.getByTestId('timeline-step-1')).toContainText(/rolling back|ROLLED BACK/, {
    timeout: 300_000,
  });
  // The rollback worked as designed: amber "completed, 1 rolled back", not a red "failed".
  await expect(timeline.locator('h3 .badge')).toHaveText('completed, 1 rolled back', {
    timeout: 300_000,
  });
  await expect(timeline.getByTestId('timeline-step-0')).toContainText('validated');
  await expect(timeline.getByTestId('timeline-step-1')).toContainText('ROLLED BACK');
  await expect(timeline.getByTestId('timeline-step-1')).toContainText(/Restored snapshot .* healthy/);
  await expect(timeline.getByTestId('timeline-step-2')).toContainText('validated');
  await page.screenshot({ path: `${SHOTS}/runs.png`, fullPage: true });

  // Bench: the recipe's checks bench before and after.
  await section(page, 'Bench');
  await expect(page.getByTestId('bench-chart')).toBeVisible();
  await expect(page.getByTestId('flipped-tests')).toContainText('kernel-sysctl');
  await expect(page.getByTestId('flipped-tests')).not.toContainText('regression');
  // Per step: each validated step's own checks flipped (the lockout step has only a probe).
  const claims = page.getByTestId('step-claims');
  for (const step of ['kernel-sysctl', 'disable-rare-protocols']) {
    const row = claims
      .getByRole('row')
      .filter({ has: page.getByRole('cell', { name: step, exact: true }) })
      .filter({ has: page.getByRole('cell', { name: 'checks', exact: true }) });
    await expect(row.getByRole('cell').nth(3)).toHaveText(/^[1-9]/);
  }
  await page.screenshot({ path: `${SHOTS}/bench.png`, fullPage: true });
});
