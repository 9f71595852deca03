/**
 * VM figures under this machine's accelerator: image build, clone, cold boot to SSH, live
 * snapshot take/restore, and restore-to-SSH-ready, as medians of >= 3 runs.
 * Then what a class costs in host memory (vm-memory.ts).
 * Options: --runs N (default 3), --rebuild (time a fresh image build into a temp dir),
 * --ksm (root: turn KSM on for the memory part, then put it back), --memory-only.
 */
import { rmSync } from 'node:fs';
import type { ApiClient } from '../../shared/rpc.js';
import { must, newHome, newService, IMAGE_DIR } from '../integration/vm-env.js';
import { createLocalClient } from '../../electron/core/local-client.js';
import { createService } from '../../electron/core/service.js';
import { benchMemory } from './vm-memory.js';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

export async function benchVm(argv: string[]): Promise<void> {
  const runs = Math.max(3, Number(argv[argv.indexOf('--runs') + 1]) || 3);
  const rows: Array<[string, number[], string]> = [];
  const report = (name: string, xs: number[], note = '') => {
    rows.push([name, xs, note]);
    console.error(`${name}: ${xs.map((x) => (x / 1000).toFixed(2)).join(', ')} s`);
  };

  if (argv.includes('--rebuild')) {
    const dir = newHome('bench-images');
    const svc = createService({ home: newHome('bench-build'), env: { ...process.env, HLAB_IMAGE_DIR: dir } });
    const c = createLocalClient(svc.dispatcher);
    report(
      'image build (fresh)',
      [await time(() => must(c, 'images.build', { name: 'debian-12' }))],
      'mmdebstrap + GRUB + qcow2, 1 run',
    );
    rmSync(dir, { recursive: true, force: true });
  }

  const home = newHome('bench');
  const { client } = newService(home);
  const lines: string[] = [];
  const memory = () =>
    benchMemory(client, home, {
      ksm: argv.includes('--ksm'),
      line: (s) => {
        lines.push(s);
        console.error(s);
      },
    });
  if (argv.includes('--memory-only')) {
    await memory();
    for (const l of lines) console.log(l);
    return;
  }
  report('image build (cached, recipe unchanged)', [
    await time(() => must(client, 'images.build', { name: 'debian-12' })),
  ]);

  const clone: number[] = [];
  for (let i = 0; i < runs; i += 1)
    clone.push(
      await time(() => must(client, 'machines.create', { name: `clone${i}`, memoryMiB: 1024, cpus: 2 })),
    );
  report('clone (overlay + key + checksum of base)', clone);

  const boot: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    boot.push(await time(() => must(client, 'machines.up', { name: `clone${i}` })));
    if (i > 0) await must(client, 'machines.down', { name: `clone${i}`, force: true });
  }
  report('cold boot to SSH ready', boot);

  // New machines from the image's ready template (an overlay on a booted machine's disk + its saved state).
  report('first ready machine (builds the template if missing: once per image and size)', [
    await time(() =>
      must(client, 'machines.create', { name: 'ready0', memoryMiB: 1024, cpus: 2, ready: true }),
    ),
  ]);
  const fast: number[] = [];
  const phases = new Map<string, number[]>();
  /** A create's progress lines, each starting the phase named beside it. */
  const CREATE_PHASES: Array<[RegExp, string]> = [
    [/^overlay on/, 'overlay on the template disk (qemu-img create)'],
    [/^choosing accelerator/, 'accelerator, port, egress proxy spawned'],
    [/^resuming/, 'QEMU start (until QEMU daemonizes)'],
    [/QMP and egress proxy/, "template's saved state loaded, egress proxy ready"],
    [/take its own identity/, 'identity applied by the agent in the guest'],
    [/fresh login/, 'fresh login with its own key'],
  ];
  for (let i = 1; i <= runs; i += 1) {
    let last = performance.now();
    let phase = 'image and template checked';
    const lap = (next: string) => {
      const now = performance.now();
      phases.set(phase, [...(phases.get(phase) ?? []), now - last]);
      [last, phase] = [now, next];
    };
    fast.push(
      await time(async () => {
        const r = await client.call(
          'machines.create',
          { name: `ready${i}`, memoryMiB: 1024, cpus: 2, ready: true },
          {
            onProgress: (p) => {
              const d = p.description ?? '';
              const next = CREATE_PHASES.find(([pattern]) => pattern.test(d))?.[1];
              if (next && next !== phase) lap(next);
            },
          },
        );
        if (!r.ok) throw new Error(r.error.message);
        lap('done');
      }),
    );
  }
  report(
    'new machine from the ready template to SSH ready',
    fast,
    'overlay + saved state loaded + own identity + fresh login',
  );
  for (const [name, xs] of phases) if (name !== 'done') report(`  of which ${name}`, xs);
  for (let i = 0; i <= runs; i += 1) await must(client, 'machines.destroy', { name: `ready${i}` });

  const m = 'clone0';
  const take: number[] = [];
  for (let i = 0; i < runs; i += 1)
    take.push(await time(() => must(client, 'snapshots.take', { machine: m, snapshot: `s${i}` })));
  report('live snapshot take', take);

  const restore = await restoreTimes(client, m, runs);
  report('restore to SSH ready (loadvm + SSH + clock)', restore);

  for (let i = 0; i < runs; i += 1) await must(client, 'machines.destroy', { name: `clone${i}` });
  await memory();
  console.log('\n| measure | median | runs |\n|---|---|---|');
  for (const [name, xs, note] of rows) {
    console.log(
      `| ${name} | ${(median(xs) / 1000).toFixed(2)} s | ${xs.map((x) => (x / 1000).toFixed(2)).join(', ')}${note ? ` (${note})` : ''} |`,
    );
  }
  console.log(`\nimage cache: ${IMAGE_DIR}`);
  for (const l of lines) console.log(l);
}

async function restoreTimes(client: ApiClient, m: string, runs: number): Promise<number[]> {
  const xs: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    await must(client, 'machines.exec', { machine: m, command: 'sudo touch /etc/bench-dirty' });
    xs.push(await time(() => must(client, 'snapshots.restore', { machine: m, snapshot: 's0' })));
  }
  return xs;
}
