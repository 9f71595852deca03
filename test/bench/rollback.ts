/**
 * `npm run bench -- rollback [--runs N] [--providers qemu,libvirt,vagrant]`: the engine's rollback (a
 * failed verify -> snapshot restored, SSH answering, clock set, health proven) per provider, with
 * its breakdown — libvirt on a lab server over qemu+ssh, by both restore paths (QEMU's loadvm through
 * the monitor, and libvirt's own snapshot-revert) — and, in the same run on the same base image, Vagrant's own path
 * (`vagrant snapshot restore --no-provision` + `vagrant ssh -c true`) as the peer. Medians.
 *
 * vagrant-libvirt needs its private-range management network inside a network namespace: when
 * Vagrant is measured and we are not in one yet, the bench sets it up and re-runs itself inside.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { runRecipe } from '../../electron/engine/run.js';
import type { RecipeDef } from '../../shared/steps.js';
import type { ProviderKind } from '../../shared/types.js';
import { inlineStep } from '../integration/inline-step.js';
import { must, newHome, newService } from '../integration/vm-env.js';
import type { Service } from '../../electron/core/service.js';

const FAILS = inlineStep('bench-fails-verify', {
  apply: 'touch /etc/hlab-bench-marker\n',
  verify: [{ name: 'never true', run: 'false' }],
});

const NETNS = path.resolve(import.meta.dirname, '..', 'vagrant', 'netns.sh');
/** Lab servers for the libvirt rows: one namespaced libvirtd + sshd, put in the same network namespace. */
const LAB_HOSTS = path.resolve(import.meta.dirname, '..', 'libvirt', 'lab-hosts.sh');
const LAB_STATE = process.env.HLAB_LV_STATE ?? '/tmp/hlab-lab-hosts';
const LAB_ENV = { HLAB_LV_NETNS: process.env.HLAB_NETNS ?? 'hlabvg' };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

interface Row {
  what: string;
  times: number[];
  phases?: Array<Record<string, number>>;
}

function hasVagrant(): boolean {
  return spawnSync('vagrant', ['--version'], { encoding: 'utf8' }).status === 0;
}

export async function benchRollback(argv: string[]): Promise<void> {
  const arg = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const runs = Math.max(3, Number(arg('--runs')) || 3);
  const wanted = (arg('--providers') ?? (hasVagrant() ? 'qemu,libvirt,vagrant' : 'qemu,libvirt')).split(
    ',',
  ) as ProviderKind[];

  const needsNetns = wanted.includes('vagrant') || wanted.includes('libvirt');
  if (needsNetns && !process.env.HLAB_IN_NETNS && process.getuid?.() === 0) {
    spawnSync('bash', [NETNS, 'up'], { stdio: 'inherit' });
    if (wanted.includes('libvirt'))
      spawnSync('bash', [LAB_HOSTS, 'up', '1'], { stdio: 'inherit', env: { ...process.env, ...LAB_ENV } });
    const r = spawnSync(
      'bash',
      [
        NETNS,
        'exec',
        'env',
        'HLAB_IN_NETNS=1',
        process.execPath,
        ...process.execArgv,
        ...process.argv.slice(1),
      ],
      {
        stdio: 'inherit',
        env: { ...process.env, HLAB_LIBVIRT_DRIVER: process.env.HLAB_LIBVIRT_DRIVER ?? 'qemu' },
      },
    );
    if (wanted.includes('libvirt'))
      spawnSync('bash', [LAB_HOSTS, 'down'], { stdio: 'inherit', env: { ...process.env, ...LAB_ENV } });
    spawnSync('bash', [NETNS, 'down'], { stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }

  const { service, client } = newService(newHome('bench-rollback'));
  const rows: Row[] = [];
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

  if (wanted.includes('libvirt')) {
    const { publicKey } = await must(client, 'hosts.key', {});
    appendFileSync(path.join(LAB_STATE, 'authorized_keys'), `${publicKey}\n`);
    await must(client, 'hosts.add', { name: 'h1', uri: 'qemu+ssh://root@10.99.0.11/system' });
  }
  // libvirt is measured on both restore paths: the same machine, a second service per path.
  const revert = newService(service.context.home, undefined, { HLAB_LIBVIRT_RESTORE: 'revert' }).service;
  const passes = wanted.flatMap(
    (p): Array<{ provider: ProviderKind; label: string; svc: Service; create: boolean }> =>
      p === 'libvirt'
        ? [
            { provider: p, label: 'libvirt, monitor loadvm', svc: service, create: true },
            { provider: p, label: 'libvirt, virsh snapshot-revert', svc: revert, create: false },
          ]
        : [{ provider: p, label: p, svc: service, create: true }],
  );

  for (const { provider, label, svc, create } of passes) {
    const M = `brb-${provider}`;
    if (create) {
      console.error(`${provider}: creating and booting ${M}…`);
      // QEMU machines start from the ready template, as the app makes them by default.
      await must(client, 'machines.create', {
        name: M,
        provider,
        memoryMiB: 1024,
        cpus: 2,
        ...(provider === 'qemu' ? { ready: true } : {}),
      });
      await must(client, 'machines.up', { name: M });
    }
    const row: Row = { what: `hlab engine rollback (${label})`, times: [], phases: [] };
    for (let i = 0; i < runs; i += 1) {
      // Every event's arrival after the failed check: the spans between them name each part, and
      // the provider's own phases split the restore; the parts add up to the total.
      let failedAt = 0;
      const at: Record<string, number> = {};
      let phases: Record<string, number> = {};
      await runRecipe({
        ctx: svc.context,
        recipe,
        library: [FAILS],
        machine: M,
        onEvent: (e) => {
          const now = performance.now();
          if (e.type === 'check' && !e.pass && !failedAt) failedAt = now;
          if (failedAt && !(e.type in at)) at[e.type] = now;
          if (e.type === 'rollback-finished') phases = e.phases ?? {};
        },
      });
      const total = (at['rollback-finished'] ?? NaN) - failedAt;
      const inRestore = Object.values(phases).reduce((a, b) => a + b, 0);
      const named: Record<string, number> = {
        'read login events before the rewind': (at['events-collected'] ?? NaN) - failedAt,
        'journal the verdict, start the rollback':
          (at['rollback-started'] ?? NaN) - (at['events-collected'] ?? NaN),
        ...phases,
        'close terminals, journal the proof':
          (at['rollback-finished'] ?? NaN) - (at['rollback-started'] ?? NaN) - inRestore,
      };
      const rounded = Object.fromEntries(Object.entries(named).map(([k, v]) => [k, Math.round(v)]));
      row.times.push(total);
      row.phases?.push(rounded);
      console.error(`  rollback ${i + 1}: ${s(total)} ${JSON.stringify(rounded)}`);
    }
    rows.push(row);

    if (provider === 'vagrant') {
      // The peer: Vagrant's own restore path on the very same machine and box.
      const dir = path.join(service.context.home, 'vagrant', 'projects', M);
      const env = { ...process.env, LC_ALL: 'C', VAGRANT_CHECKPOINT_DISABLE: '1' };
      spawnSync('vagrant', ['snapshot', 'save', 'default', 'peer'], { cwd: dir, env, stdio: 'ignore' });
      const peer: Row = { what: 'vagrant snapshot restore --no-provision + vagrant ssh -c true', times: [] };
      for (let i = 0; i < runs; i += 1) {
        const t = performance.now();
        const a = spawnSync('vagrant', ['snapshot', 'restore', 'default', 'peer', '--no-provision'], {
          cwd: dir,
          env,
        });
        // Right after a restore the guest may not answer yet (vagrant ssh exits 255): a user
        // retries, so the peer's time runs until its first successful login (at most 60 s).
        let b = spawnSync('vagrant', ['ssh', '-c', 'true'], { cwd: dir, env });
        while (b.status === 255 && performance.now() - t < 60_000)
          b = spawnSync('vagrant', ['ssh', '-c', 'true'], { cwd: dir, env });
        if (a.status !== 0 || b.status !== 0)
          throw new Error(
            `vagrant peer run failed (restore exit ${a.status}, ssh exit ${b.status}): ${String(a.stdout).slice(-500)} ${String(a.stderr)} ${String(b.stdout).slice(-300)} ${String(b.stderr)}`,
          );
        peer.times.push(performance.now() - t);
        console.error(`  vagrant CLI restore ${i + 1}: ${s(peer.times.at(-1) ?? 0)}`);
      }
      rows.push(peer);
    }
    if (provider !== 'libvirt' || svc === revert) await must(client, 'machines.destroy', { name: M });
  }

  console.log('| measure | median | runs |\n|---|---|---|');
  for (const r of rows) console.log(`| ${r.what} | ${s(median(r.times))} | ${r.times.map(s).join(', ')} |`);
  for (const r of rows.filter((x) => x.phases?.length)) {
    const names = [...new Set(r.phases?.flatMap((p) => Object.keys(p)))];
    console.log(
      `\n${r.what}, breakdown (median ms): ${names.map((n) => `${n} ${median(r.phases?.map((p) => p[n] ?? NaN) ?? [])}`).join(' · ')}`,
    );
  }
  const qemu = rows.find((r) => r.what.includes('(qemu)'));
  const peer = rows.find((r) => r.what.startsWith('vagrant snapshot'));
  if (qemu && peer)
    console.log(
      `\nratio: Vagrant's restore path / hlab's rollback on QEMU = ${(median(peer.times) / median(qemu.times)).toFixed(1)}×`,
    );
  if (!peer)
    console.log('\nVagrant not measured: vagrant is not installed here (or --providers left it out).');
}
