/**
 * Container isolation on the REAL VM (slow: Docker and runsc are installed): the docker-daemon
 * step's claimed settings flip in the daemon's own effective configuration; a local
 * docker-bench-security copy (the stand-in, with the real layout and formats) is uploaded, run
 * and recorded with its hashes; a --privileged container writes on the host while the same
 * attempt without it fails, each reason checked; userns-remap makes the daemon refuse it; a
 * container runs under gVisor with gVisor's kernel; and a runsc setup that cannot work here
 * (the kvm platform without /dev/kvm) is rolled back. Packages come from the local repository.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../shared/rpc.js';
import type { RecipeDef } from '../../shared/steps.js';
import type { Service } from '../../electron/core/service.js';
import { runRecipe } from '../../electron/engine/run.js';
import { buildEvidence } from '../../electron/recipes/evidence.js';
import { shQuote } from '../../electron/ssh/executor.js';
import { loadLibrary, loadRecipe } from '../../electron/steps/load.js';
import { ensureImageRepo, serveRepo, useRepoScript, type RepoServer } from '../integration/apt-repo.js';
import { writeDockerBenchStandin } from '../integration/docker-bench-standin.js';
import { must, newHome, newService, sh } from '../integration/vm-env.js';

const M = 'isolation1';
let service: Service;
let client: ApiClient;
let repo: RepoServer;
const library = loadLibrary().steps;
const standin = writeDockerBenchStandin(mkdtempSync(path.join(os.tmpdir(), 'hlab-dbench-')));

/** A recipe through the same loader as a file (so step defaults are filled in). */
function recipe(
  id: string,
  steps: Array<{ step: string; params?: object }>,
  bench: string[] = [],
): RecipeDef {
  const yaml = [
    `id: ${id}`,
    `title: ${id}`,
    'base: debian-12',
    `bench: ${JSON.stringify(bench)}`,
    'steps:',
    ...steps.map((st) => `  - { step: ${st.step}, params: ${JSON.stringify(st.params ?? {})} }`),
    '',
  ].join('\n');
  const { recipe: r, issues } = loadRecipe(`test/${id}.yaml`, library, yaml);
  if (!r) throw new Error(issues.map((i) => i.message).join('; '));
  return r;
}

/** A local image with a shell, mount, nsenter, cat and sleep: no registry is needed. */
const TOOLS_IMAGE = [
  'files="/usr/bin/dash /usr/bin/mount /usr/bin/mkdir /usr/bin/cat /usr/bin/nsenter /usr/bin/sleep /usr/bin/true"',
  "libs=$(ldd $files | awk '/=> \\// {print $3} /^\\t\\/lib/ {print $1}' | sort -u)",
  'tar -chf - -C / $(for f in $files $libs; do echo "${f#/}"; done) 2>/dev/null | docker import - hlab-escape >/dev/null',
].join('\n');
const root = (cmd: string, timeoutMs = 120_000) => sh(client, M, `sudo -n sh -c ${shQuote(cmd)}`, timeoutMs);
const status = (out: string, key: string) => new RegExp(`^${key}:\\s*(\\S+)`, 'm').exec(out)?.[1];
const CAP_SYS_ADMIN = 21n;

beforeAll(async () => {
  repo = await serveRepo(await ensureImageRepo());
  ({ service, client } = newService(newHome('isolation')));
  await must(client, 'machines.create', { name: M, memoryMiB: 1024, cpus: 2, ready: true });
  await must(client, 'machines.egress', { name: M, allow: [repo.egress] });
  await root(useRepoScript(repo));
  // Docker as Debian installs it: the "before" every claim is measured against.
  await root(
    'export DEBIAN_FRONTEND=noninteractive; apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends docker.io apparmor >/dev/null && systemctl is-active docker',
    600_000,
  );
}, 900_000);
afterAll(async () => {
  if (client) await client.call('machines.destroy', { name: M });
  await repo?.close();
});

describe('container isolation on the real VM', { timeout: 3_000_000 }, () => {
  it("docker-daemon's claims flip in the daemon's effective configuration, and in a local docker-bench copy's run", async () => {
    // The setting path (the flag and the environment are unit-tested): what a user sets once.
    await must(client, 'settings.set', { key: 'docker-bench-dir', value: standin });
    expect((await must(client, 'settings.get', {})).dockerBench).toMatchObject({
      kind: 'local',
      from: 'setting',
      version: '1.6.0-standin',
      files: 7,
    });
    const s = await runRecipe({
      ctx: service.context,
      recipe: recipe('docker-claims', [{ step: 'docker-daemon' }], ['docker-config', 'docker-bench']),
      library,
      machine: M,
    });
    expect(s.status, JSON.stringify(s.steps)).toBe('validated');
    const b = await must(client, 'runs.bench', { id: s.id });
    const live = b.comparisons.find((c) => c.tool === 'docker-config');
    expect(live?.fixed.map((f) => f.id)).toEqual(expect.arrayContaining(['2.2', '2.14', '2.15', '2.16']));
    expect(live?.regressions).toEqual([]);
    const claim = b.claims.find((c) => c.step === 'docker-daemon' && c.tool === 'docker-config');
    expect(claim?.fixed.map((f) => f.id).sort()).toEqual(['2.14', '2.15', '2.16', '2.2']);
    expect(claim?.unmeasured).toEqual([]);
    // The stand-in ran in the guest against the same daemon, from the uploaded copy.
    const dbench = b.comparisons.find((c) => c.tool === 'docker-bench');
    expect(dbench?.fixed.map((f) => f.id).sort()).toEqual(['2.14', '2.15', '2.2']);
    const after = b.after.find((r) => r.tool === 'docker-bench');
    expect(after?.meta).toMatchObject({
      source: 'local copy',
      folder: standin,
      scriptVersion: '1.6.0-standin',
    });
    expect(after?.inputs?.map((f) => f.path)).toContain('tests/5_container_runtime.sh');
    // ... and the evidence bundle carries every file's hash.
    const bundle = buildEvidence(service.context.paths.runs, s.id, 'test');
    const inputs = bundle.bench.after.find((r) => r.tool === 'docker-bench')?.inputs ?? [];
    expect(inputs).toHaveLength(7);
    expect(inputs.every((f) => /^[0-9a-f]{64}$/.test(f.sha256))).toBe(true);
    await must(client, 'settings.set', { key: 'docker-bench-dir' });
  });

  it('--privileged reaches the host (disk and PID 1); without it each barrier holds', async () => {
    await root(TOOLS_IMAGE);
    const dev = await root('findmnt -no SOURCE /');
    await root('rm -f /root/ESCAPED /root/ESCAPED-NSENTER');
    // no-new-privileges is on (docker-daemon): it does not stop a privileged container.
    await root(
      `docker run --rm --privileged hlab-escape /usr/bin/dash -c 'mkdir /h && mount ${dev} /h && echo disk > /h/root/ESCAPED'`,
    );
    expect(await root('cat /root/ESCAPED')).toBe('disk');
    await root(
      `docker run --rm --privileged --pid=host hlab-escape /usr/bin/nsenter -t 1 -m -- /bin/sh -c 'echo pid1 > /root/ESCAPED-NSENTER'`,
    );
    expect(await root('cat /root/ESCAPED-NSENTER')).toBe('pid1');
    const inside = (flags: string, cmd: string) =>
      root(`docker run --rm ${flags} hlab-escape /usr/bin/dash -c ${shQuote(cmd)} 2>&1 || true`);
    const probe =
      'cat /proc/self/status; echo "apparmor: $(cat /proc/self/attr/current)"; test -b ' +
      dev +
      ' && echo DEVICE';
    const priv = await inside('--privileged', probe);
    const plain = await inside('', probe);
    // Privileged: every barrier is off.
    expect(status(priv, 'Seccomp')).toBe('0');
    expect(status(priv, 'apparmor')).toBe('unconfined');
    expect((BigInt(`0x${status(priv, 'CapEff')}`) >> CAP_SYS_ADMIN) & 1n).toBe(1n);
    expect(priv).toContain('DEVICE');
    // Unprivileged: no host block device, no CAP_SYS_ADMIN, seccomp filter, AppArmor docker-default, no new privileges.
    expect(plain).not.toContain('DEVICE');
    expect((BigInt(`0x${status(plain, 'CapEff')}`) >> CAP_SYS_ADMIN) & 1n).toBe(0n);
    expect(status(plain, 'Seccomp')).toBe('2');
    expect(status(plain, 'apparmor')).toBe('docker-default');
    expect(status(plain, 'NoNewPrivs')).toBe('1');
    await root('rm -f /root/ESCAPED /root/ESCAPED-NSENTER');
    expect(await inside('', `mkdir /h && mount ${dev} /h && echo disk > /h/root/ESCAPED`)).toMatch(
      /denied|not permitted|No such file/i,
    );
    expect(
      await inside(
        '--pid=host',
        `/usr/bin/nsenter -t 1 -m -- /bin/sh -c 'echo pid1 > /root/ESCAPED-NSENTER'`,
      ),
    ).toMatch(/not permitted|denied/i);
    expect(await root('ls /root/ESCAPED /root/ESCAPED-NSENTER 2>/dev/null | wc -l')).toBe('0');
    // docker-config sees a running privileged container (docker-bench 5.5).
    await root('docker run -d --name escape-demo --privileged hlab-escape /usr/bin/sleep 600 >/dev/null');
    const r = await must(client, 'bench.run', { machine: M, tool: 'docker-config' });
    expect(r.tests.find((t) => t.id === '5.5')).toMatchObject({
      result: 'fail',
      details: expect.stringContaining('escape-demo'),
    });
    expect(r.tests.find((t) => t.id === 'privileged-refused')?.result).toBe('warn');
    // The flag path: the local copy's own 5.5 check sees it too.
    const db = await must(client, 'bench.run', { machine: M, tool: 'docker-bench', dockerBenchDir: standin });
    expect(db.tests.find((t) => t.id === '5.5')).toMatchObject({
      result: 'fail',
      details: expect.stringContaining('escape-demo'),
    });
    expect(db.meta.folder).toBe(standin);
    await root('docker rm -f escape-demo >/dev/null');
  });

  it('userns-remap refuses --privileged; runsc runs containers on gVisor’s kernel; kvm without /dev/kvm is rolled back', async () => {
    const s = await runRecipe({
      ctx: service.context,
      recipe: recipe('refuse-and-sandbox', [
        { step: 'docker-daemon', params: { usernsRemap: 'default', aptUpdate: false } },
        { step: 'gvisor-runsc', params: { aptUpdate: false } },
      ]),
      library,
      machine: M,
    });
    expect(s.status, JSON.stringify(s.steps)).toBe('validated');
    const refused = await root(`docker run --rm --privileged hlab-probe /usr/bin/true 2>&1 || echo REFUSED`);
    expect(refused).toMatch(/privileged mode is incompatible with user namespaces[\s\S]*REFUSED/);
    // What the step's check saw, seen again from here: gVisor's kernel, not the host's.
    const out = await root(
      'docker run --rm --runtime=runsc hlab-gvisor-probe /usr/bin/dash -c "uname -r; dmesg"',
    );
    expect(out.split('\n')[0]).not.toBe(await sh(client, M, 'uname -r'));
    expect(out).toContain('Starting gVisor');
    const live = await must(client, 'bench.run', { machine: M, tool: 'docker-config' });
    expect(live.meta.runtimes).toContain('runsc');
    expect(live.tests.find((t) => t.id === 'privileged-refused')?.result).toBe('pass');
    expect(live.tests.find((t) => t.id === '2.9')?.result).toBe('pass');

    const daemonJson = await root('sha256sum /etc/docker/daemon.json');
    const broken = await runRecipe({
      ctx: service.context,
      recipe: recipe('runsc-kvm', [{ step: 'gvisor-runsc', params: { platform: 'kvm', aptUpdate: false } }]),
      library,
      machine: M,
    });
    expect(broken.steps[0]?.outcome).toBe('rolled-back');
    expect(broken.steps[0]?.reason).toMatch(/gVisor's kernel/);
    expect(await root('sha256sum /etc/docker/daemon.json')).toBe(daemonJson);
    expect(await root('docker run --rm --runtime=runsc hlab-gvisor-probe /usr/bin/uname -r')).not.toBe(
      await sh(client, M, 'uname -r'),
    );
  });
});
