/**
 * Terminal throughput: 10 MB of base64 from the VM through ssh2 -> WebSocket -> xterm.js in
 * Chromium, against the same bytes through the system `ssh` client into /dev/null, in one run.
 * Also the exec round-trip latency on an open connection. Reports which ssh2 crypto path ran.
 */
import { chromium } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { startWebHost } from '../../electron/host/web-host.js';
import { RENDERER_DIST } from '../../electron/host/cli.js';
import { SshExecutor } from '../../electron/ssh/executor.js';
import { keyPaths } from '../../electron/ssh/keys.js';
import { must, newHome, newService } from '../integration/vm-env.js';

const MB = Number(process.env.BENCH_MB ?? 10);
const PAYLOAD = `head -c ${MB}M /dev/urandom | base64`;

function ssh2Path(): string {
  try {
    createRequire(import.meta.url)('ssh2/lib/protocol/crypto/build/Release/sshcrypto.node');
    return 'native binding';
  } catch {
    return 'pure JS';
  }
}

/** BENCH_HOME + BENCH_MACHINE reuse a running machine instead of booting one. */
export async function benchTerminal(): Promise<void> {
  const reuse = Boolean(process.env.BENCH_HOME && process.env.BENCH_MACHINE);
  const home = process.env.BENCH_HOME ?? newHome('bench-term');
  const { service, client } = newService(home);
  const M = process.env.BENCH_MACHINE ?? 'bterm';
  if (!reuse) {
    console.error('booting a machine…');
    await must(client, 'machines.create', { name: M, memoryMiB: 1024, cpus: 2 });
  }
  const info = await must(client, 'machines.up', { name: M });
  const port = info.ssh?.port ?? 0;
  const key = keyPaths(service.context.paths.keys, M).privatePath;

  // Two baselines: the (no pty) and like-for-like (-tt: the guest's pty layer, which is
  // what a terminal needs, is slow under TCG and dominates both).
  const systemSsh = (pty: boolean) => {
    const runs: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const t = performance.now();
      const r = spawnSync(
        'ssh',
        [
          ...(pty ? ['-tt'] : []),
          '-i',
          key,
          '-p',
          String(port),
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          `UserKnownHostsFile=${path.join(home, 'sys_known')}`,
          '-o',
          'BatchMode=yes',
          '-o',
          'LogLevel=ERROR',
          'lab@127.0.0.1',
          PAYLOAD,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      if (r.status !== 0) throw new Error(`system ssh failed: ${r.stderr.toString()}`);
      runs.push(performance.now() - t);
    }
    return runs;
  };
  const sysRuns = systemSsh(false);
  const sysPtyRuns = systemSsh(true);

  const host = await startWebHost({ dispatcher: service.dispatcher, staticDir: RENDERER_DIST, port: 0 });
  const browser = await chromium.launch({
    executablePath: process.env.HLAB_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const ours: number[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(host.url);
    await page.getByRole('button', { name: 'Terminal', exact: true }).click();
    await page.getByRole('button', { name: 'Open terminal' }).click();
    const rows = page.getByTestId('terminal-1').locator('.xterm-rows');
    await rows.getByText('$').first().waitFor({ timeout: 30_000 });
    await page.getByTestId('terminal-1').click();
    for (let i = 0; i < 3; i += 1) {
      await page.keyboard.type('clear\n');
      const t = performance.now();
      // Opening a connection is part of the ssh baseline, so it is part of ours too.
      await page.keyboard.type(`${PAYLOAD}; echo DONE-$((${i}+1000))\n`);
      await rows.getByText(`DONE-${i + 1000}`, { exact: true }).waitFor({ timeout: 600_000 });
      ours.push(performance.now() - t);
    }
  } finally {
    await browser.close();
    await host.close();
  }

  const ex = new SshExecutor(() => service.context.machines.targetOf(M), service.context.knownHosts);
  await ex.exec('true');
  const lat: number[] = [];
  for (let i = 0; i < 20; i += 1) {
    const t = performance.now();
    await ex.exec('true');
    lat.push(performance.now() - t);
  }
  ex.reset();
  if (!reuse) await must(client, 'machines.destroy', { name: M });

  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\nssh2 crypto path: ${ssh2Path()}`);
  console.log('| measure | median | runs |\n|---|---|---|');
  console.log(
    `| ${MB} MB base64: system ssh -> /dev/null | ${(med(sysRuns) / 1000).toFixed(2)} s | ${sysRuns.map((x) => (x / 1000).toFixed(2)).join(', ')} |`,
  );
  console.log(
    `| ${MB} MB base64: ssh2 -> WebSocket -> xterm (Chromium) | ${(med(ours) / 1000).toFixed(2)} s | ${ours.map((x) => (x / 1000).toFixed(2)).join(', ')} |`,
  );
  console.log(
    `| ${MB} MB base64: system ssh -tt (pty) -> /dev/null | ${(med(sysPtyRuns) / 1000).toFixed(2)} s | ${sysPtyRuns.map((x) => (x / 1000).toFixed(2)).join(', ')} |`,
  );
  console.log(
    `| ratio to system ssh without pty (goal <= 2x) | ${(med(ours) / med(sysRuns)).toFixed(2)}x | |`,
  );
  console.log(
    `| ratio to system ssh with pty (like for like) | ${(med(ours) / med(sysPtyRuns)).toFixed(2)}x | |`,
  );
  console.log(`| exec round trip on an open connection | ${med(lat).toFixed(0)} ms | 20 runs |`);
}
