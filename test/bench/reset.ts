/**
 * `npm run bench -- reset [--runs N]`: a workshop Reset as a trainee meets it, in Chromium, from
 * the click on the dialog's Reset to a terminal that answers — every part named from the
 * WebSocket's own frames — beside `hlab workshop reset` (the same restore, no browser) in one run.
 */
import { chromium, type WebSocket } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { startWebHost } from '../../electron/host/web-host.js';
import { RENDERER_DIST } from '../../electron/host/cli.js';
import { IMAGE_DIR, must, newHome, newService } from '../integration/vm-env.js';

const WORKSHOP = 'ssh-lockdown';
const MACHINE = `ws-${WORKSHOP}`;
const TERMINAL_BASE = 1_000_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const arg = (argv: string[], name: string, dflt: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};

/** When each RPC of interest was sent and answered, and when a terminal's first output came. */
class FrameClock {
  sent = new Map<number, { method: string; at: number; opId?: string }>();
  /** Each operation's progress lines, as they arrived. */
  progress = new Map<string, Array<{ at: number; description: string }>>();
  answered = new Map<number, number>();
  firstData = new Map<string, number>();
  terminalIds = new Map<number, string>();

  watch(ws: WebSocket): void {
    ws.on('framesent', (f) => this.onSent(String(f.payload)));
    ws.on('framereceived', (f) => this.onReceived(String(f.payload)));
  }
  private onSent(text: string) {
    const m = JSON.parse(text) as { t?: string; id?: number; method?: string; opId?: string };
    if (m.t === 'call' && typeof m.id === 'number' && m.method)
      this.sent.set(m.id, { method: m.method, at: performance.now(), ...(m.opId ? { opId: m.opId } : {}) });
  }
  private onReceived(text: string) {
    const now = performance.now();
    const m = JSON.parse(text) as {
      t?: string;
      id?: number;
      name?: string;
      result?: { ok: boolean; value?: { id?: string } };
      payload?: { id?: string; opId?: string; progress?: { description?: string } };
    };
    const op = m.payload?.opId;
    if (m.t === 'event' && m.name === 'op.progress' && op)
      this.progress.set(op, [
        ...(this.progress.get(op) ?? []),
        { at: now, description: m.payload?.progress?.description ?? '' },
      ]);
    if (m.t === 'result' && typeof m.id === 'number') {
      this.answered.set(m.id, now);
      const value = m.result?.value;
      if (this.sent.get(m.id)?.method === 'terminal.open' && value?.id) this.terminalIds.set(m.id, value.id);
    }
    if (m.t === 'event' && m.name === 'terminal.data' && m.payload?.id && !this.firstData.has(m.payload.id))
      this.firstData.set(m.payload.id, now);
  }
  /** The first call of `method` sent after `after`, and when it was answered. */
  call(method: string, after: number): { id: number; sent: number; answered: number; opId?: string } {
    for (const [id, s] of this.sent)
      if (s.method === method && s.at >= after)
        return { id, sent: s.at, answered: this.answered.get(id) ?? Number.NaN, opId: s.opId };
    throw new Error(`no ${method} call after the click`);
  }
  /**
   * The Reset's own parts, from its progress lines: up to "restoring …" (closing the old terminal,
   * dropping kept logins), the restore (loadvm), the attempts sshd reset or refused, and the
   * attempt that answered (fresh login + sudo + clock). NaN where a line did not come.
   */
  resetParts(call: { sent: number; answered: number; opId?: string }) {
    const lines = this.progress.get(call.opId ?? '') ?? [];
    const restoring = lines.find((l) => l.description.startsWith('restoring '))?.at ?? Number.NaN;
    const waits = lines.filter((l) => l.description.startsWith('waiting for SSH'));
    const firstWait = waits[0]?.at ?? Number.NaN;
    const lastWait = waits.at(-1)?.at ?? Number.NaN;
    return {
      beforeRestore: restoring - call.sent,
      restore: firstWait - restoring,
      untilSshd: lastWait - firstWait,
      attempts: waits.length,
      login: call.answered - lastWait,
    };
  }
}

interface Lap {
  dialogToCall: number;
  reset: number;
  beforeRestore: number;
  restore: number;
  untilSshd: number;
  attempts: number;
  login: number;
  rerender: number;
  terminalOpen: number;
  firstOutput: number;
  promptDrawn: number;
  total: number;
  echo: number;
}

export async function benchReset(argv: string[]): Promise<void> {
  const runs = arg(argv, '--runs', 5);
  const home = newHome('bench-reset');
  const { service, client } = newService(home);
  console.error(`starting ${WORKSHOP} (the first start on an image cache builds its template)…`);
  await must(client, 'workshops.start', { workshop: WORKSHOP, trainee: 'bench' });
  const host = await startWebHost({ dispatcher: service.dispatcher, staticDir: RENDERER_DIST, port: 0 });
  const browser = await chromium.launch({
    executablePath: process.env.HLAB_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const laps: Lap[] = [];
  const cli: number[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const clock = new FrameClock();
    page.on('websocket', (ws) => clock.watch(ws));
    await page.goto(host.url);
    await page.getByRole('button', { name: 'Workshops', exact: true }).click();
    await page
      .getByRole('row', { name: new RegExp(MACHINE) })
      .getByRole('button', { name: 'Continue' })
      .click();
    for (let i = 0; i <= runs; i += 1) {
      const term = page.getByTestId(`terminal-${TERMINAL_BASE + i}`);
      await term.locator('.xterm-rows').getByText('$').first().waitFor({ timeout: 60_000 });
      await term.click();
      await page.keyboard.type(`echo ok-${i}-$((6*7))\n`);
      const t = performance.now();
      await term.locator('.xterm-rows').getByText(`ok-${i}-42`).waitFor({ timeout: 60_000 });
      if (i > 0) laps[i - 1]!.echo = performance.now() - t;
      if (i === runs) break;

      await page.getByRole('button', { name: 'Reset', exact: true }).click();
      const ask = page.getByRole('alertdialog');
      await ask.waitFor();
      const click = performance.now();
      await ask.getByRole('button', { name: 'Reset' }).click();
      const next = page.getByTestId(`terminal-${TERMINAL_BASE + i + 1}`);
      await next.locator('.xterm-rows').getByText('$').first().waitFor({ timeout: 120_000 });
      const drawn = performance.now();
      const reset = clock.call('workshops.reset', click);
      const open = clock.call('terminal.open', reset.answered);
      const first = clock.firstData.get(clock.terminalIds.get(open.id) ?? '') ?? Number.NaN;
      laps.push({
        dialogToCall: reset.sent - click,
        reset: reset.answered - reset.sent,
        ...clock.resetParts(reset),
        rerender: open.sent - reset.answered,
        terminalOpen: open.answered - open.sent,
        firstOutput: first - open.answered,
        promptDrawn: drawn - first,
        total: drawn - click,
        echo: 0,
      });
      console.error(`run ${i + 1}: ${(laps.at(-1)!.total / 1000).toFixed(2)} s`);
    }
  } finally {
    await browser.close();
    await host.close();
  }

  // The peer in the same run: the same reset from the CLI, which proves the login and stops there.
  for (let i = 0; i < runs; i += 1) {
    const t = performance.now();
    const r = spawnSync(process.execPath, ['electron/host/hlab.mjs', 'workshop', 'reset', MACHINE], {
      env: { ...process.env, HLAB_HOME: home, HLAB_IMAGE_DIR: IMAGE_DIR },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`hlab workshop reset failed: ${r.stderr}`);
    cli.push(performance.now() - t);
  }
  await must(client, 'workshops.end', { machine: MACHINE });

  const row = (name: string, pick: (l: Lap) => number, unit = ' ms') =>
    console.log(
      `| ${name} | ${median(laps.map(pick)).toFixed(0)}${unit} | ${laps.map((l) => pick(l).toFixed(0)).join(', ')} |`,
    );
  console.log(`\n| workshop Reset in Chromium (${runs} runs) | median | runs |\n|---|---|---|`);
  row('confirm click → workshops.reset sent', (l) => l.dialogToCall);
  row('workshops.reset: loadvm + fresh login + sudo', (l) => l.reset);
  row('  of which: close the old terminal, drop kept logins', (l) => l.beforeRestore);
  row('  of which: restore (`loadvm`)', (l) => l.restore);
  row('  of which: until sshd answers (connections reset or refused)', (l) => l.untilSshd);
  row('  SSH attempts', (l) => l.attempts, '');
  row('  of which: the attempt that answered (fresh login + sudo + clock)', (l) => l.login);
  row('answer → terminal.open sent (React, new xterm)', (l) => l.rerender);
  row('terminal.open: the login the Reset proved (else a new one) + shell channel', (l) => l.terminalOpen);
  row('→ first output (the guest starts the session: PAM, motd)', (l) => l.firstOutput);
  row("→ prompt drawn (the guest's login shell starting, xterm)", (l) => l.promptDrawn);
  row('**click → usable terminal (prompt shown)**', (l) => l.total);
  row('then: a typed `echo` answered', (l) => l.echo);
  console.log(
    `| peer: \`hlab workshop reset\` (whole CLI process) | ${median(cli).toFixed(0)} ms | ${cli.map((x) => x.toFixed(0)).join(', ')} |`,
  );
}
