/**
 * Bench a machine now: earlier results of the picked tool are listed, and the one shown is
 * compared with the one before it — chart, change line and the flipped test (ux review I-11).
 * The two benches run through the CLI (a checks subset: seconds, not the minute and a half of
 * the whole set under emulation); the page reads what the CLI kept.
 */
import { expect, hlab, MACHINE, test } from './vm-fixture.js';

const SUBSET = ['--tool', 'checks', '--tests', 'lock-root/1 kernel-sysctl/1'];

test('a bench run now is charted against the same bench before it, with the test that flipped', async ({
  page,
  vmHost,
}) => {
  hlab(vmHost.home, 'bench', MACHINE, ...SUBSET);
  hlab(vmHost.home, 'exec', MACHINE, '--', 'sudo', 'passwd', '-l', 'root');
  hlab(vmHost.home, 'bench', MACHINE, ...SUBSET);
  try {
    await page.goto(vmHost.url);
    await page.getByRole('button', { name: 'Bench', exact: true }).click();
    const history = page.getByTestId('bench-history');
    await expect(history).toContainText(`Earlier checks benches on ${MACHINE} (2)`);
    await history.getByRole('button', { name: 'Show' }).first().click();

    const since = page.getByTestId('bench-since');
    await expect(since).toContainText('0/2 → 1/2 (+1): 1 fixed, 0 regressions');
    await expect(since.getByRole('img', { name: 'Scores earlier and now' })).toBeVisible();
    await expect(page.getByTestId('bench-now-flips')).toContainText('lock-root/1');
    await expect(page.getByTestId('bench-now-flips').locator('.flip-fixed')).toHaveText('fail → pass');
    await page.screenshot({ path: 'test-results/screenshots/bench-now.png' });

    // The older one has nothing before it.
    await history.getByRole('button', { name: 'Show' }).click();
    await expect(since).toContainText('The first checks bench of this scope on e2e1');
  } finally {
    hlab(vmHost.home, 'snapshot', 'restore', MACHINE, 'clean');
  }
});
