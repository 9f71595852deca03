/**
 * Rollback speed: from a failed verify to an SSH-ready restored VM (snapshot restore + SSH + clock
 * + health probes), as the engine does it, median of >= 3 runs. Vagrant's `snapshot restore` is
 * measured in the same run where `vagrant` and a provider exist.
 */
import { spawnSync } from 'node:child_process';
import { runRecipe } from '../../electron/engine/run.js';
import { loadLibrary } from '../../electron/steps/load.js';
import type { RecipeDef } from '../../shared/steps.js';
import { inlineStep } from '../integration/inline-step.js';
import { must, newHome, newService } from '../integration/vm-env.js';

const FAILS = inlineStep('bench-fails-verify', {
  apply: 'touch /etc/hlab-bench-marker\n',
  verify: [{ name: 'never true', run: 'false' }],
});

export async function benchRollback(argv: string[]): Promise<void> {
  const runs = Math.max(3, Number(argv[argv.indexOf('--runs') + 1]) || 3);
  const reuse = Boolean(process.env.BENCH_HOME && process.env.BENCH_MACHINE);
  const { service, client } = newService(process.env.BENCH_HOME ?? newHome('bench-rollback'));
  const M = process.env.BENCH_MACHINE ?? 'brollback';
  if (!reuse) {
    console.error('booting a machine…');
    await must(client, 'machines.create', { name: M, memoryMiB: 1024, cpus: 2 });
  }
  await must(client, 'machines.up', { name: M });
  const recipe: RecipeDef = {
    id: 'bench-rollback',
    title: 'rollback bench',
    base: 'debian-12',
    onFailure: 'stop',
    finalReboot: false,
    bench: [],
    steps: [{ step: FAILS.id, params: {} }],
    exceptions: [],
    file: 'bench',
  };
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    let failedAt = 0;
    let readyAt = 0;
    await runRecipe({
      ctx: service.context,
      recipe,
      library: [...loadLibrary().steps, FAILS],
      machine: M,
      onEvent: (e) => {
        if (e.type === 'check' && !e.pass && !failedAt) failedAt = performance.now();
        if (e.type === 'rollback-finished') readyAt = performance.now();
      },
    });
    times.push(readyAt - failedAt);
    console.error(`rollback ${i + 1}: ${((readyAt - failedAt) / 1000).toFixed(2)} s`);
  }
  if (!reuse) await must(client, 'machines.destroy', { name: M });
  const vagrant = spawnSync('vagrant', ['--version'], { encoding: 'utf8' });
  const med = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
  console.log('| measure | median | runs |\n|---|---|---|');
  console.log(
    `| failed verify -> restored VM answering SSH, healthy (hlab, QEMU loadvm) | ${(med / 1000).toFixed(2)} s | ${times.map((t) => (t / 1000).toFixed(2)).join(', ')} |`,
  );
  console.log(
    vagrant.status === 0
      ? `| vagrant snapshot restore | not measured: ${vagrant.stdout.trim()} is installed but this bench has no box for it yet | |`
      : '| vagrant snapshot restore | not measured: vagrant is not installed here | |',
  );
}
