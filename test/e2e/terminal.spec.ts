import type { Page } from '@playwright/test';
import { expect, hlab, MACHINE, test } from './vm-fixture.js';

async function openTerminal(page: Page, url: string) {
  await page.goto(url);
  await page.getByRole('button', { name: 'Terminal', exact: true }).click();
  await expect(page.getByRole('combobox', { name: 'Machine' })).toHaveValue(MACHINE);
  await page.getByRole('button', { name: 'Open terminal' }).click();
  const term = page.getByTestId('terminal-1');
  await expect(term.locator('.xterm-rows')).toContainText('$', { timeout: 30_000 });
  await term.click();
  return term;
}

async function sttySize(
  page: Page,
  term: ReturnType<Page['getByTestId']>,
  marker: string,
): Promise<[number, number]> {
  await page.keyboard.type(`echo ${marker}-$(stty size | tr ' ' x)\n`);
  const rows = term.locator('.xterm-rows');
  await expect(rows).toContainText(new RegExp(`${marker}-\\d+x\\d+`));
  const m = new RegExp(`${marker}-(\\d+)x(\\d+)`).exec((await rows.textContent()) ?? '');
  return [Number(m?.[1]), Number(m?.[2])];
}

test('types into the terminal in Chromium and reads the result from the xterm buffer', async ({
  page,
  vmHost,
}) => {
  const term = await openTerminal(page, vmHost.url);
  await page.keyboard.type('echo hello-$((6*7))\n');
  await expect(term.locator('.xterm-rows')).toContainText('hello-42');
  await expect(page.getByRole('tab', { name: new RegExp(MACHINE) })).toBeVisible();
  await page.screenshot({ path: 'test-results/screenshots/terminal.png' });
});

/**
 * The glyphs, not the buffer: an underscore clipped by a too-short row (ux review I-1) leaves the
 * buffer right and the screen wrong. Each "_" cell of the echoed line must differ, in pixels,
 * from a blank cell of the same row.
 */
test('underscores are drawn: each "_" cell has ink that a blank cell does not', async ({ page, vmHost }) => {
  const term = await openTerminal(page, vmHost.url);
  const [, cols] = await sttySize(page, term, 'U');
  await page.keyboard.type('echo a_b__c\n');
  const row = term.locator('.xterm-rows > div', { hasText: /^a_b__c\s*$/ });
  await expect(row).toHaveCount(1);
  const box = (await row.boundingBox())!;
  const width = box.width / cols;
  const clip = (cell: number) =>
    // The middle half of the cell: no antialiasing of a neighbour's glyph reaches it.
    page.screenshot({
      clip: { x: box.x + (cell + 0.25) * width, y: box.y, width: width / 2, height: box.height },
    });
  const blank = await clip(cols - 4);
  expect((await clip(0)).equals(blank), 'cell 0 ("a") is drawn').toBe(false);
  for (const cell of [1, 3, 4])
    expect((await clip(cell)).equals(blank), `cell ${cell} ("_") is drawn`).toBe(false);
});

test('resizing the window changes the pty size (stty size)', async ({ page, vmHost }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  const term = await openTerminal(page, vmHost.url);
  const before = await sttySize(page, term, 'A');
  await page.setViewportSize({ width: 900, height: 560 });
  await expect
    .poll(async () => (await sttySize(page, term, `B${Date.now() % 1000}`)).join('x'))
    .not.toBe(before.join('x'));
  const after = await sttySize(page, term, 'C');
  expect(after[0]).toBeLessThan(before[0]);
  expect(after[1]).toBeLessThan(before[1]);
});

test('restoring from the UI ends the shell with the reason, and a key press reconnects', async ({
  page,
  vmHost,
}) => {
  const term = await openTerminal(page, vmHost.url);
  await page.keyboard.type('touch /tmp/after-clean && echo touched\n');
  await expect(term.locator('.xterm-rows')).toContainText('touched');
  await page.getByRole('button', { name: 'Machines', exact: true }).click();
  await page.getByRole('button', { name: MACHINE, exact: true }).click();
  await page
    .getByRole('listitem')
    .filter({ hasText: 'clean' })
    .getByRole('button', { name: 'Restore' })
    .click();
  // The app's own dialog (not the browser's) names what is lost; Restore confirms.
  await page.getByRole('alertdialog').getByRole('button', { name: 'Restore' }).click();
  await page.getByRole('button', { name: 'Terminal', exact: true }).click();
  await expect(term.locator('.xterm-rows')).toContainText('restored to snapshot "clean"', {
    timeout: 30_000,
  });
  await term.click();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('tab', { name: new RegExp(MACHINE) }).locator('.tdot-open')).toBeVisible({
    timeout: 30_000,
  });
  await page.keyboard.type('test -e /tmp/after-clean && echo still-there || echo rolled-back\n');
  await expect(term.locator('.xterm-rows')).toContainText('rolled-back');
});

test('a restore by another process shows the lost connection, and a key press reconnects', async ({
  page,
  vmHost,
}) => {
  const term = await openTerminal(page, vmHost.url);
  hlab(vmHost.home, 'snapshot', 'restore', MACHINE, 'clean');
  await expect(term.locator('.xterm-rows')).toContainText('was lost', { timeout: 60_000 });
  await page.keyboard.press('Enter');
  await page.keyboard.type('echo back-$((40+2))\n');
  await expect(term.locator('.xterm-rows')).toContainText('back-42', { timeout: 30_000 });
});

/**
 * A tab whose machine stopped (ux review I-16) says so above the terminal and in the tab, and a
 * key press says why it cannot reconnect instead of failing again; once the machine runs again,
 * a key press reconnects. Last in this file: it stops the shared machine, and starts it again.
 */
test('a tab of a stopped machine says so, and reconnects once the machine runs again', async ({
  page,
  vmHost,
}) => {
  const term = await openTerminal(page, vmHost.url);
  hlab(vmHost.home, 'machine', 'down', MACHINE);
  const banner = page.getByTestId('terminal-blocked');
  await expect(banner).toHaveText(
    `${MACHINE} is stopped: start it under Machines, then press a key here to reconnect.`,
    { timeout: 30_000 },
  );
  await expect(page.getByRole('tab', { name: new RegExp(MACHINE) })).toContainText('stopped');
  await term.click();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Enter');
  const rows = term.locator('.xterm-rows');
  await expect(rows).toContainText(`[${MACHINE} is stopped: start it under Machines`);
  expect(((await rows.textContent()) ?? '').split(`[${MACHINE} is stopped`).length - 1).toBe(1);

  // Started again from its clean snapshot: the banner goes, and a key press brings a shell back.
  hlab(vmHost.home, 'snapshot', 'restore', MACHINE, 'clean');
  hlab(vmHost.home, 'machine', 'up', MACHINE);
  await expect(banner).toHaveCount(0, { timeout: 30_000 });
  await term.click();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('tab', { name: new RegExp(MACHINE) }).locator('.tdot-open')).toBeVisible({
    timeout: 30_000,
  });
  await page.keyboard.type('echo again-$((40+2))\n');
  await expect(rows).toContainText('again-42', { timeout: 30_000 });
});
