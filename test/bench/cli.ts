/**
 * `npm run bench -- cli [--runs N]`: the CLI as scripts see it — a whole `hlab` process, start to
 * exit: `hlab --help`, and `hlab exec M -- true` against a running QEMU machine, with the kept
 * connection and with a fresh login (--fresh); OpenSSH's `ssh` the same two ways (a new connection,
 * and ControlMaster/ControlPersist) as the peer, and `node -e 0` as the floor of a Node CLI. Medians.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { keeperSocket } from '../../electron/ssh/keeper.js';
import { bundleCli } from '../../build/bundle-cli.js';
import { must, newHome, newService } from '../integration/vm-env.js';

const HLAB = path.resolve(import.meta.dirname, '..', '..', 'electron', 'host', 'hlab.mjs');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function timeCmd(cmd: string, args: string[], env: NodeJS.ProcessEnv, runs: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const t = performance.now();
    const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
    out.push(performance.now() - t);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  return out;
}
const time = (args: string[], env: NodeJS.ProcessEnv, runs: number) =>
  timeCmd(process.execPath, [HLAB, ...args], env, runs);

async function waitFor(file: string): Promise<void> {
  for (let i = 0; i < 100 && !existsSync(file); i += 1) await new Promise((r) => setTimeout(r, 100));
}

export async function benchCli(argv: string[]): Promise<void> {
  const runs = Math.max(3, Number(argv[argv.indexOf('--runs') + 1]) || 5);
  // What scripts run is the prebuilt bundle (npm ci makes it): make sure it is current.
  await bundleCli();
  const home = newHome('bench-cli');
  const { client, service } = newService(home);
  const M = 'bcli';
  console.error('booting a machine…');
  await must(client, 'machines.create', { name: M, memoryMiB: 1024, cpus: 2 });
  await must(client, 'machines.up', { name: M });
  const env = { ...process.env, HLAB_HOME: home };
  const help = time(['--help'], env, runs);
  const fresh = time(['exec', '--fresh', M, '--', 'true'], env, runs);
  // The first call starts the keeper; the measured ones find it.
  time(['exec', M, '--', 'true'], env, 1);
  await waitFor(keeperSocket(home, M));
  const kept = time(['exec', M, '--', 'true'], env, runs);
  // The floor under any `hlab` process: Node starting and ending with nothing to do.
  const nodeAlone = timeCmd(process.execPath, ['-e', '0'], env, runs);
  // OpenSSH against the same guest: a new connection each time, and its own kept connection.
  const t = await service.context.machines.targetOf(M);
  const dir = mkdtempSync(path.join(tmpdir(), 'hlab-bench-ssh-'));
  const key = path.join(dir, 'id');
  writeFileSync(key, t.privateKey, { mode: 0o600 });
  const ssh = [
    ...['-i', key, '-p', String(t.port), '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes'],
    ...['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'],
  ];
  const mux = ['-o', 'ControlMaster=auto', '-o', `ControlPath=${dir}/cm`, '-o', 'ControlPersist=60'];
  const sshFresh = timeCmd('ssh', [...ssh, `${t.user}@${t.host}`, 'true'], env, runs);
  timeCmd('ssh', [...ssh, ...mux, `${t.user}@${t.host}`, 'true'], env, 1);
  const sshKept = timeCmd('ssh', [...ssh, ...mux, `${t.user}@${t.host}`, 'true'], env, runs);
  spawnSync('ssh', [...ssh, '-o', `ControlPath=${dir}/cm`, '-O', 'exit', `${t.user}@${t.host}`]);
  rmSync(dir, { recursive: true, force: true });
  const rows: Array<[string, number[], string]> = [
    ['hlab --help', help, '≤ 0.3 s'],
    [`hlab exec ${M} -- true (kept connection)`, kept, '≤ 0.6 s'],
    [`hlab exec --fresh ${M} -- true (new login)`, fresh, ''],
    ['node -e 0 (Node start-up alone: the floor under any hlab process)', nodeAlone, 'floor'],
    ['ssh … true (OpenSSH, new connection)', sshFresh, 'peer'],
    ['ssh … true (OpenSSH ControlPersist)', sshKept, 'peer'],
  ];
  await must(client, 'machines.destroy', { name: M });
  console.log('| command (whole process) | median | runs | target |\n|---|---|---|---|');
  for (const [what, t, target] of rows)
    console.log(
      `| \`${what}\` | ${(median(t) / 1000).toFixed(2)} s | ${t.map((x) => (x / 1000).toFixed(2)).join(', ')} | ${target} |`,
    );
}
