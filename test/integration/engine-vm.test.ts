/**
 * The core loop against the REAL VM: a recipe is validated step by step, and broken steps (an
 * sshd lockout, a failing verify) are caught and rolled back to the provable pre-step state.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../shared/rpc.js';
import type { RecipeDef } from '../../shared/steps.js';
import type { StampedEvent } from '../../shared/runs.js';
import type { Service } from '../../electron/core/service.js';
import { listRuns, readEvents } from '../../electron/engine/journal.js';
import { runRecipe } from '../../electron/engine/run.js';
import { readRunEvents } from '../../electron/engine/run-events.js';
import { defaultParams, loadLibrary } from '../../electron/steps/load.js';
import { QemuProvider } from '../../electron/providers/qemu/provider.js';
import { inlineStep } from './inline-step.js';
import { IMAGE_DIR, must, newHome, newService, sh } from './vm-env.js';

const M = 'engine1';
let service: Service;
let client: ApiClient;
const library = loadLibrary().steps;

const LOCKOUT = inlineStep('lockout-allowusers', {
  area: 'ssh',
  risk: 'lockout',
  apply: "echo 'AllowUsers nobody' > /etc/ssh/sshd_config.d/00-broken.conf\nsshd -t\nsystemctl reload ssh\n",
  verify: [{ name: 'lab can still log in', probe: 'fresh-ssh-login' }],
  revert: 'rm -f /etc/ssh/sshd_config.d/00-broken.conf\nsystemctl reload ssh\n',
});
const FAILS_VERIFY = inlineStep('fails-verify', {
  apply: 'touch /etc/hlab-marker\n',
  verify: [{ name: 'never true', run: 'test -e /etc/hlab-nonexistent' }],
});

const recipe = (id: string, steps: string[], onFailure: 'stop' | 'continue' = 'stop'): RecipeDef => ({
  id,
  title: id,
  base: 'debian-12',
  onFailure,
  finalReboot: false,
  bench: [],
  steps: steps.map((step) => ({
    step,
    params: defaultParams([...library, LOCKOUT, FAILS_VERIFY].find((s) => s.id === step)!),
  })),
  exceptions: [],
  file: `test/${id}.yaml`,
});

beforeAll(async () => {
  ({ service, client } = newService(newHome('engine')));
  await must(client, 'machines.create', { name: M, memoryMiB: 1024, cpus: 2 });
  await must(client, 'machines.up', { name: M });
});
afterAll(async () => {
  if (client) await client.call('machines.destroy', { name: M });
});

const run = (r: RecipeDef, seen?: StampedEvent[], signal?: AbortSignal, also?: (e: StampedEvent) => void) =>
  runRecipe({
    ctx: service.context,
    recipe: r,
    library: [...library, LOCKOUT, FAILS_VERIFY],
    machine: M,
    onEvent: (e) => {
      seen?.push(e);
      also?.(e);
    },
    ...(signal ? { signal } : {}),
  });

describe('run engine', { timeout: 600_000 }, () => {
  it('validates a recipe step by step and journals every event before telling', async () => {
    const seen: StampedEvent[] = [];
    const s = await run(recipe('quick', ['disable-rare-protocols', 'kernel-sysctl']), seen);
    expect(s.status).toBe('validated');
    expect(s.steps.map((x) => x.outcome)).toEqual(['validated', 'validated']);
    const journal = readEvents(path.join(service.context.home, 'runs'), s.id);
    expect(journal.map((e) => e.seq)).toEqual(seen.map((e) => e.seq));
    expect(journal.map((e) => e.type)).toContain('apply-finished');
    expect(journal.filter((e) => e.type === 'check' && e.name === 'health: fresh-ssh-login')).toHaveLength(2);
    expect(journal.at(-1)).toMatchObject({ type: 'run-finished', status: 'validated' });
    expect(
      (await must(client, 'snapshots.list', { machine: M })).filter((x) => x.name.startsWith('hlab-')),
    ).toEqual([]);
    expect(await sh(client, M, '/usr/sbin/sysctl -n kernel.kptr_restrict')).toBe('2');
  });

  it('catches an sshd change that locks the lab user out and restores the pre-step state', async () => {
    const s = await run(recipe('lockout', ['lockout-allowusers']));
    expect(s.status).toBe('failed');
    expect(s.steps[0]).toMatchObject({ outcome: 'rolled-back' });
    expect(s.steps[0]!.reason).toContain('lab can still log in');
    // The cause in words (sshd answers AllowUsers nobody by refusing or dropping the login).
    expect(s.steps[0]!.reason).toMatch(
      /sshd (refused the fresh key login|did not let a fresh login through)/,
    );
    expect(s.steps[0]!.reason).toContain('the change locks users out');
    const events = readEvents(path.join(service.context.home, 'runs'), s.id);
    expect(events.find((e) => e.type === 'rollback-finished')).toMatchObject({ healthy: true });
    expect(
      await sh(client, M, 'test -e /etc/ssh/sshd_config.d/00-broken.conf && echo present || echo gone'),
    ).toBe('gone');
    expect(await sh(client, M, '/usr/sbin/sysctl -n kernel.kptr_restrict')).toBe('2'); // the earlier validated run's state is kept
  });

  it('a machine from the ready template: its refused login is read before the rollback, without sudo', async () => {
    const R = 'engine-ready';
    await must(client, 'machines.create', { name: R, memoryMiB: 1024, cpus: 2, ready: true });
    try {
      // Made without a copy: an overlay on the saved template's disk, and that template never runs again.
      const info = JSON.parse(
        spawnSync(
          'qemu-img',
          ['info', '-U', '--output=json', path.join(service.context.home, 'machines', R, 'disk.qcow2')],
          {
            encoding: 'utf8',
          },
        ).stdout,
      ) as { 'backing-filename'?: string; 'actual-size': number };
      const backing = info['backing-filename'] ?? '';
      expect(path.dirname(path.dirname(backing))).toBe(path.join(IMAGE_DIR, 'ready'));
      expect(info['actual-size']).toBeLessThan(64 * 2 ** 20);
      const templates = new QemuProvider({
        machinesDir: path.join(IMAGE_DIR, 'ready'),
        cacheDir: IMAGE_DIR,
        accel: 'tcg',
      });
      const template = path.basename(path.dirname(backing));
      expect(templates.templateSaved(template)).toBe(true);
      await expect(templates.up(template)).rejects.toThrow(/is a saved ready template.*never runs again/);
      // The template put the app's user in systemd-journal: the read before a rollback needs no sudo.
      expect((await sh(client, R, 'id -Gn')).split(' ')).toContain('systemd-journal');
      // The agent restarted journald under the copy's own machine-id (a kill, not systemctl): the
      // create's own proving login is in the copy's journal, and journald is running, not failed.
      // The login message, made once at the template's boot, names the copy; no login remakes it.
      const [unit, accepted, motd, pam] = (
        await sh(
          client,
          R,
          [
            'systemctl is-failed systemd-journald.service || true',
            "journalctl -q --no-pager -b _COMM=sshd | grep -c 'Accepted publickey for lab' || true",
            'cat /run/motd.dynamic',
            "grep -c '^session.*pam_motd.so.*motd=/run/motd.dynamic noupdate$' /etc/pam.d/sshd || true",
          ].join('; '),
        )
      ).split('\n');
      expect(unit).toBe('active');
      expect(Number(accepted)).toBeGreaterThanOrEqual(1);
      expect(motd).toContain(`Linux ${R} `);
      expect(pam).toBe('1');
      const s = await runRecipe({
        ctx: service.context,
        recipe: recipe('lockout-ready', ['lockout-allowusers']),
        library: [...library, LOCKOUT],
        machine: R,
      });
      expect(s.steps[0]).toMatchObject({ outcome: 'rolled-back' });
      const runDir = path.join(service.context.home, 'runs', s.id);
      const journal = readEvents(path.join(service.context.home, 'runs'), s.id);
      const read = journal.findLast(
        (e) =>
          e.type === 'events-collected' && e.seq < journal.find((x) => x.type === 'rollback-started')!.seq,
      );
      expect(read).toMatchObject({ type: 'events-collected' });
      expect(read).not.toHaveProperty('error');
      // sshd's "not listed in AllowUsers" for the app's own fresh login, kept though the rollback
      // rewound the guest's journal.
      expect(readRunEvents(runDir).map((e) => [e.action, e.user])).toContainEqual([
        'ssh_user_not_allowed',
        'lab',
      ]);
    } finally {
      await client.call('machines.destroy', { name: R });
    }
  });

  it('rolls back a step whose verify fails, and onFailure: continue runs the next step', async () => {
    const s = await run(recipe('mixed', ['fails-verify', 'blacklist-filesystems'], 'continue'));
    expect(s.status).toBe('failed');
    expect(s.steps.map((x) => x.outcome)).toEqual(['rolled-back', 'validated']);
    expect(await sh(client, M, 'test -e /etc/hlab-marker && echo present || echo gone')).toBe('gone');
    expect(
      await sh(client, M, 'test -e /etc/modprobe.d/hlab-filesystems.conf && echo present || echo gone'),
    ).toBe('present');
  });

  it('a cancel during the bench before stops the run there: no bench failure, no snapshot, no step', async () => {
    const seen: StampedEvent[] = [];
    const controller = new AbortController();
    const r = { ...recipe('cancelled', ['kernel-sysctl']), bench: ['checks' as const] };
    // Ctrl-C while the checks bench runs on the guest: just after the facts before it are in.
    const s = await run(r, seen, controller.signal, (e) => {
      if (e.type === 'facts') setTimeout(() => controller.abort(), 300);
    });
    expect(s.status).toBe('cancelled');
    const types = seen.map((e) => e.type);
    expect(types).not.toContain('bench-failed');
    expect(types).not.toContain('step-started');
    expect(types).not.toContain('snapshot-taken');
    expect(seen.at(-1)).toMatchObject({ type: 'run-finished', status: 'cancelled' });
  });

  it('onFailure: stop skips the remaining steps; runs are listed from the journal', async () => {
    const s = await run(recipe('stopping', ['fails-verify', 'lock-root']));
    expect(s.steps.map((x) => x.outcome)).toEqual(['rolled-back', 'skipped']);
    expect(await sh(client, M, "sudo -n getent shadow root | cut -d: -f2 | grep -c '^!' || true")).toBe('0');
    const runs = listRuns(path.join(service.context.home, 'runs'));
    expect(runs.map((r) => r.recipe)).toEqual(
      expect.arrayContaining(['quick', 'lockout', 'mixed', 'stopping']),
    );
    expect(runs.every((r) => r.status !== 'running')).toBe(true);
  });

  it('kill -9 of the CLI mid-step, then runs recover: VM back at the last good snapshot, journal complete', async () => {
    const labs = newHome('labs');
    mkdirSync(path.join(labs, 'steps'));
    mkdirSync(path.join(labs, 'recipes'));
    writeFileSync(
      path.join(labs, 'steps', 'slow-step.yaml'),
      'id: slow-step\ntitle: Slow\narea: bench\nrisk: none\napply: |\n  touch /etc/hlab-half-done\n  echo half-done\n  sleep 300\nverify:\n  - name: ok\n    run: "true"\n',
    );
    writeFileSync(
      path.join(labs, 'recipes', 'slow.yaml'),
      'id: slow\ntitle: Slow\nbase: debian-12\nsteps:\n  - step: slow-step\n',
    );
    const child = spawn(
      process.execPath,
      ['electron/host/hlab.mjs', 'run', 'slow', '--machine', M, '--labs', labs],
      {
        env: { ...process.env, HLAB_HOME: service.context.home, HLAB_IMAGE_DIR: IMAGE_DIR },
        stdio: 'ignore',
      },
    );
    const until = Date.now() + 120_000;
    while ((await sh(client, M, 'test -e /etc/hlab-half-done && echo yes || echo no')) !== 'yes') {
      if (Date.now() > until) throw new Error('the slow step never started');
      await new Promise((r) => setTimeout(r, 500));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    const runsDir = path.join(service.context.home, 'runs');
    const interrupted = listRuns(runsDir).find((r) => r.recipe === 'slow');
    expect(interrupted?.status).toBe('interrupted');
    const before = readEvents(runsDir, interrupted!.id);
    expect(before.map((e) => e.type)).toEqual(
      expect.arrayContaining(['run-started', 'step-started', 'snapshot-taken', 'apply-output']),
    );
    expect(before.some((e) => e.type === 'run-finished')).toBe(false);

    const recovered = await must(client, 'runs.recover', { id: interrupted!.id });
    expect(recovered.status).toBe('failed');
    expect(await sh(client, M, 'test -e /etc/hlab-half-done && echo present || echo gone')).toBe('gone');
    const after = readEvents(runsDir, interrupted!.id);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.map((e) => e.seq)).toEqual(after.map((_, i) => i + 1));
    expect(after.at(-1)).toMatchObject({ type: 'run-finished', status: 'failed' });
  });
});
