/**
 * A class in Chromium over TLS, on real VMs: the trainer's dashboard and two trainees, each in a
 * browser context of their own. Chromium trusts exactly the class's certificate (its public key
 * pinned with --ignore-certificate-errors-spki-list), as a trainee who compared the fingerprint.
 * A trainee's Check reaches the trainer's tile within 2 s; a lock-out is shown and Reset brings
 * the seat back; the trainer takes over a terminal (the trainee sees the notice) and resets a seat.
 */
import { chromium, type Browser, type Page } from '@playwright/test';
import { createHash, X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { IMAGE_DIR, newHome } from '../integration/vm-env.js';
import { startClassCli } from '../integration/class-client.js';
import { expect, test } from './fixtures.js';

async function spkiPin(url: string): Promise<string> {
  const u = new URL(url);
  const pem = await new Promise<string>((resolve, reject) => {
    const s = tls.connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false }, () => {
      const der = s.getPeerCertificate().raw;
      s.end();
      resolve(new X509Certificate(der).toString());
    });
    s.on('error', reject);
  });
  const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

const terminal = (p: Page, id: string) => p.getByTestId(id).locator('.xterm-rows');

async function joinAs(browser: Browser, link: string, name?: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(link);
  if (name !== undefined) await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Join' }).click();
  return page;
}

test('a trainer and two trainees run a class in the browser', async () => {
  test.setTimeout(420_000);
  const home = newHome('class-e2e');
  const { child, out } = await startClassCli(home, IMAGE_DIR);
  const pin = await spkiPin(out.info.url);
  const browser = await chromium.launch({
    executablePath: process.env.HLAB_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', `--ignore-certificate-errors-spki-list=${pin}`],
  });
  try {
    const [linkA, linkB] = out.links.seats.map((s) => s.url) as [string, string];
    const trainer = await joinAs(browser, out.links.trainer);
    await expect(
      trainer.getByRole('heading', { level: 2, name: 'Lock SSH down without locking yourself out' }),
    ).toBeVisible();
    const a = await joinAs(browser, linkA, 'Ana');
    const b = await joinAs(browser, linkB, 'Ben');

    // Each trainee sees their own seat and nothing else of the app.
    await expect(a.getByTestId('seat-who')).toHaveText('Ana · seat-1');
    await expect(b.getByTestId('seat-who')).toHaveText('Ben · seat-2');
    // (Their own machine's name shows in their shell prompt; the other seat's appears nowhere.)
    for (const [p, other] of [
      [a, out.info.seats[1]!.machine],
      [b, out.info.seats[0]!.machine],
    ] as const) {
      await expect(p.getByRole('button', { name: 'Machines' })).toHaveCount(0);
      await expect(p.getByText(other)).toHaveCount(0);
    }
    await expect(trainer.getByTestId('tile-seat-1')).toContainText('Ana');
    await expect(trainer.getByTestId('tile-seat-2')).toContainText('Ben');
    // The link left the address bar.
    expect(new URL(a.url()).hash).toBe('');

    // Trainee A solves the first challenge in the terminal; the trainer's tile follows within 2 s.
    await expect(terminal(a, 'seat-terminal')).toContainText('$', { timeout: 60_000 });
    await a.getByTestId('seat-terminal').click();
    await a.keyboard.type(
      "printf 'PasswordAuthentication no\\nKbdInteractiveAuthentication no\\n' | sudo tee /etc/ssh/sshd_config.d/00-hardening.conf && sudo sshd -t && sudo systemctl reload ssh && echo applied-$((40+2))\n",
    );
    await expect(terminal(a, 'seat-terminal')).toContainText('applied-42', { timeout: 60_000 });
    await a.getByRole('button', { name: 'Check', exact: true }).click();
    await expect(a.getByTestId('check-result')).toContainText('Passed: Keys only: no password logins', {
      timeout: 120_000,
    });
    await expect(trainer.getByTestId('progress-seat-1')).toContainText('1/3 passed', { timeout: 2000 });

    // A locks themselves out: Check says so, the tile flags it, Reset brings the seat back.
    await a.getByTestId('seat-terminal').click();
    await a.keyboard.type(
      "echo 'AllowUsers deploy' | sudo tee -a /etc/ssh/sshd_config.d/00-hardening.conf && sudo systemctl reload ssh && echo wrong-$((6*7))\n",
    );
    await expect(terminal(a, 'seat-terminal')).toContainText('wrong-42', { timeout: 60_000 });
    await a.getByRole('button', { name: 'Check', exact: true }).click();
    await expect(a.getByTestId('check-result')).toContainText('locked yourself out', { timeout: 120_000 });
    await expect(trainer.getByTestId('tile-seat-1')).toContainText('locked out?', { timeout: 2000 });
    await a.getByRole('button', { name: 'Reset', exact: true }).click();
    await a.getByRole('alertdialog').getByRole('button', { name: 'Reset' }).click();
    await expect(a.getByTestId('check-result')).toHaveCount(0, { timeout: 120_000 });
    await expect(trainer.getByTestId('tile-seat-1')).not.toContainText('locked out?');
    await expect(terminal(a, 'seat-terminal')).toContainText('$', { timeout: 60_000 });
    await a.getByTestId('seat-terminal').click();
    await a.keyboard.type('echo allow=$(grep -c AllowUsers /etc/ssh/sshd_config.d/00-hardening.conf)\n');
    await expect(terminal(a, 'seat-terminal')).toContainText('allow=0', { timeout: 30_000 });

    // The trainer watches A's terminal, takes over (A is told), types, and hands back.
    await trainer.getByTestId('tile-seat-1').getByRole('button', { name: 'Watch' }).click();
    await expect(terminal(trainer, 'watch-seat-1')).toContainText('allow=0', { timeout: 30_000 });
    await trainer.getByRole('button', { name: 'Take over' }).click();
    await expect(a.getByTestId('seat-notice')).toContainText('taken over');
    await trainer.getByTestId('watch-seat-1').click();
    await trainer.keyboard.type('echo from-trainer-$((6*7))\n');
    await expect(terminal(a, 'seat-terminal')).toContainText('from-trainer-42', { timeout: 30_000 });
    await trainer.getByRole('button', { name: 'Hand back' }).click();
    await expect(a.getByTestId('seat-notice')).toContainText('handed the terminal back');
    await trainer.screenshot({ path: 'build/screenshots/class-dashboard.png', fullPage: true });

    // The trainer resets B's seat: B is told and gets a fresh terminal on the restored machine.
    await expect(terminal(b, 'seat-terminal')).toContainText('$', { timeout: 60_000 });
    await b.getByTestId('seat-terminal').click();
    await b.keyboard.type('touch /tmp/ben-was-here && echo mark=$((2+3))\n');
    await expect(terminal(b, 'seat-terminal')).toContainText('mark=5', { timeout: 30_000 });
    // The page's command runs in the seat's terminal with one click (I-13).
    await b.getByRole('button', { name: 'Run the command in the terminal' }).click();
    await expect(terminal(b, 'seat-terminal')).toContainText('passwordauthentication yes', {
      timeout: 60_000,
    });
    await trainer.getByTestId('tile-seat-2').getByRole('button', { name: 'Reset' }).click();
    await trainer.getByRole('alertdialog').getByRole('button', { name: 'Reset' }).click();
    await expect(b.getByTestId('seat-notice')).toContainText('reset this seat', { timeout: 120_000 });
    await expect(terminal(b, 'seat-terminal')).toContainText('$', { timeout: 60_000 });
    await b.getByTestId('seat-terminal').click();
    await b.keyboard.type('test -e /tmp/ben-was-here && echo still || echo gone-$((40+2))\n');
    await expect(terminal(b, 'seat-terminal')).toContainText('gone-42', { timeout: 30_000 });
    await expect(trainer.getByTestId('tile-seat-2')).toContainText('1 resets');
  } finally {
    await browser.close();
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
});
