/**
 * A trainee walks the SSH workshop in the UI against a real VM: start, read the page, type the
 * solution in the terminal beside it, Check passes; a wrong turn (locking yourself out) is shown
 * by Check, and Reset really restores the challenge's start snapshot.
 */
import { IMAGE_DIR } from '../integration/vm-env.js';
import { expect, startServe, test } from './fixtures.js';
import { hlab } from './vm-fixture.js';

test('a trainee starts ssh-lockdown, solves in the terminal, locks out, resets', async ({ page }) => {
  test.setTimeout(600_000);
  const { host, child, stderr } = await startServe({ HLAB_IMAGE_DIR: IMAGE_DIR });
  try {
    await page.goto(host.url);
    await page.getByRole('button', { name: 'Workshops', exact: true }).click();
    await page.getByLabel('Trainee name').fill('Chris');
    await page.getByRole('button', { name: 'Start ssh-lockdown' }).click();
    // The start shows its progress in the card that was pressed, with a ticking time.
    await expect(page.getByTestId('starting-ssh-lockdown').getByTestId('elapsed')).toBeVisible();
    await expect(
      page.getByRole('heading', { level: 2, name: 'Lock SSH down without locking yourself out' }),
    ).toBeVisible({
      timeout: 300_000,
    });
    await expect(page.getByText('the first value wins', { exact: false })).toBeVisible();

    const term = page.getByTestId('terminal-1000000');
    await expect(term.locator('.xterm-rows')).toContainText('$', { timeout: 30_000 });
    // The page's command runs in the terminal beside it with one click, and copies with another.
    await page.getByRole('button', { name: 'Run the command in the terminal' }).click();
    await expect(term.locator('.xterm-rows')).toContainText('passwordauthentication yes', {
      timeout: 60_000,
    });
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.getByRole('button', { name: 'Copy the command' }).click();
    await expect(page.getByRole('button', { name: 'Copy the command' })).toHaveText('Copied');
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(
      "sudo sshd -T | grep -Ei '^(passwordauthentication|kbdinteractiveauthentication) '",
    );
    await page.getByText('sudo sshd -t', { exact: true }).click();
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe('sudo sshd -t');
    await term.click();
    await page.keyboard.type(
      "printf 'PasswordAuthentication no\\nKbdInteractiveAuthentication no\\n' | sudo tee /etc/ssh/sshd_config.d/00-hardening.conf && sudo sshd -t && sudo systemctl reload ssh && echo applied-$((40+2))\n",
    );
    await expect(term.locator('.xterm-rows')).toContainText('applied-42', { timeout: 60_000 });
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await expect(page.getByTestId('check-result')).toContainText('Passed: Keys only: no password logins', {
      timeout: 120_000,
    });
    await expect(page.getByRole('heading', { level: 3, name: 'No root logins, few tries' })).toBeVisible();

    // The wrong turn: only deploy may log in, so the trainee (and the check) are locked out.
    await term.click();
    await page.keyboard.type(
      "echo 'AllowUsers deploy' | sudo tee -a /etc/ssh/sshd_config.d/00-hardening.conf && sudo systemctl reload ssh && echo wrong-$((6*7))\n",
    );
    await expect(term.locator('.xterm-rows')).toContainText('wrong-42', { timeout: 60_000 });
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await expect(page.getByTestId('check-result')).toContainText('locked yourself out', { timeout: 120_000 });

    await page.getByRole('button', { name: 'Reset', exact: true }).click();
    // Reset loses the trainee's work: it asks first, in the app's own dialog.
    const ask = page.getByRole('alertdialog');
    await expect(ask).toContainText('What you changed on the machine since it began is lost');
    await ask.getByRole('button', { name: 'Reset' }).click();
    await expect(page.getByTestId('check-result')).toHaveCount(0, { timeout: 120_000 });
    // A new terminal on the restored machine: the wrong line is gone, the first challenge's is there.
    const again = page.getByTestId('terminal-1000001');
    await expect(again.locator('.xterm-rows')).toContainText('$', { timeout: 60_000 });
    await again.click();
    await page.keyboard.type('echo allow=$(grep -c AllowUsers /etc/ssh/sshd_config.d/00-hardening.conf)\n');
    await expect(again.locator('.xterm-rows')).toContainText('allow=0');
    const status = JSON.parse(hlab(host.home, 'workshop', 'status', 'ws-ssh-lockdown', '--json')) as {
      progress: { challenges: Array<{ resets: number; status: string }> };
    };
    expect(status.progress.challenges.map((c) => [c.status, c.resets])).toEqual([
      ['passed', 0],
      ['current', 1],
      ['locked', 0],
    ]);
    await page.screenshot({ path: 'test-results/screenshots/workshop.png' });
  } catch (err) {
    console.error(`${String(err)}\nhlab serve said:\n${stderr()}`);
    throw err;
  } finally {
    try {
      hlab(host.home, 'workshop', 'end', 'ws-ssh-lockdown');
    } finally {
      child.kill('SIGINT');
    }
  }
});
