import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test } from './fixtures.js';

test('the shell loads in Chromium, connects and calls the real API over the WebSocket', async ({
  page,
  host,
}) => {
  await page.goto(host.url);
  await expect(page.getByTestId('connection')).toHaveText(/connected/);
  for (const s of ['Machines', 'Terminal', 'Steps', 'Runs', 'Bench', 'Workshops', 'Class']) {
    await expect(page.getByRole('navigation').getByRole('button', { name: s, exact: true })).toBeVisible();
  }
  // providers.list really ran on the node side: it reports this machine's QEMU version.
  await expect(page.getByTestId('providers')).toContainText(/qemu \d+\.\d+/);
  // The first-run check ran on the node side too (app.doctor): QEMU found, and the image path named.
  await expect(page.getByTestId('host-check')).toContainText(/Host check: (ready|not ready)/);
  await expect(page.getByTestId('host-check')).toContainText(
    /✓ QEMU \(the embedded sandbox\): qemu \d+\.\d+/,
  );
  await expect(page.getByText('No machines yet')).toBeVisible();
  await page.getByRole('button', { name: 'Terminal', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Terminal', exact: true })).toBeVisible();
  // settings.get: without a local copy, docker-bench-security would be fetched at the pinned commit.
  await page.getByRole('button', { name: 'Bench', exact: true }).click();
  await page.getByLabel('Bench tool').selectOption('docker-bench');
  await expect(page.getByTestId('docker-bench-source')).toContainText('GitHub at commit ff26d67f25be');
  // Class: no class running, so the start form, with the built-in workshops to pick from.
  await page.getByRole('button', { name: 'Class', exact: true }).click();
  await expect(page.getByLabel('Workshop')).toContainText('Lock SSH down without locking yourself out');
  await page.getByLabel('Listen on', { exact: false }).fill('0.0.0.0:8443');
  await page.getByRole('button', { name: 'Start class' }).click();
  await expect(page.getByRole('alert')).toContainText('not a wildcard');
  await page.getByRole('button', { name: 'Machines', exact: true }).click();
  await expect(page.getByTestId('host-check')).toBeVisible();
  await page.screenshot({ path: 'test-results/screenshots/machines.png' });
});

test('a wrong token is refused and the page says so', async ({ page, host }) => {
  await page.goto(host.url.replace(/token=.*/, 'token=not-the-token'));
  await expect(page.getByTestId('connection')).toHaveText(/refused/);
});

test('a page from a foreign origin cannot use the API even with the right token', async ({ page, host }) => {
  const evil = http.createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>evil</title>'),
  );
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
  const port = (evil.address() as AddressInfo).port;
  try {
    await page.goto(`http://127.0.0.1:${port}/`);
    const outcome = await page.evaluate(
      (wsUrl) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(wsUrl);
          ws.onopen = () => resolve('opened');
          ws.onerror = () => resolve('refused');
          setTimeout(() => resolve('timeout'), 5000);
        }),
      `ws://127.0.0.1:${new URL(host.origin).port}/api?token=${host.token}`,
    );
    expect(outcome).toBe('refused');
  } finally {
    evil.close();
  }
});
