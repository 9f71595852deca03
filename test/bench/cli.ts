/**
 * `npm run bench -- cli [--runs N]`: the CLI as scripts see it — a whole `hlab` process, start to
 * exit: `hlab --help`, and `hlab exec M -- true` against a running QEMU machine. Medians.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { bundleCli } from '../../build/bundle-cli.js';
import { must, newHome, newService } from '../integration/vm-env.js';

const HLAB = path.resolve(import.meta.dirname, '..', '..', 'electron', 'host', 'hlab.mjs');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function time(args: string[], env: NodeJS.ProcessEnv, runs: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const t = performance.now();
    const r = spawnSync(process.execPath, [HLAB, ...args], { env, encoding: 'utf8' });
    out.push(performance.now() - t);
    if (r.status !== 0) throw new Error(`hlab ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  return out;
}

export async function benchCli(argv: string[]): Promise<void> {
  const runs = Math.max(3, Number(argv[argv.indexOf('--runs') + 1]) || 5);
  // What scripts run is the prebuilt bundle (npm ci makes it): make sure it is current.
  await bundleCli();
  const home = newHome('bench-cli');
  const { client } = newService(home);
  const M = 'bcli';
  console.error('booting a machine…');
  await must(client, 'machines.create', { name: M, memoryMiB: 1024, cpus: 2 });
  await must(client, 'machines.up', { name: M });
  const env = { ...process.env, HLAB_HOME: home };
  const rows: Array<[string, number[], string]> = [
    ['hlab --help', time(['--help'], env, runs), '≤ 0.3 s'],
    [`hlab exec ${M} -- true`, time(['exec', M, '--', 'true'], env, runs), '≤ 0.6 s'],
  ];
  await must(client, 'machines.destroy', { name: M });
  console.log('| command (whole process) | median | runs | target |\n|---|---|---|---|');
  for (const [what, t, target] of rows)
    console.log(
      `| \`${what}\` | ${(median(t) / 1000).toFixed(2)} s | ${t.map((x) => (x / 1000).toFixed(2)).join(', ')} | ${target} |`,
    );
}
