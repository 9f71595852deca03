/**
 * Every step of the library against the REAL VM, from a clean snapshot: its verify checks fail
 * before apply (so they can fail at all), pass after, apply is idempotent, and the lab user can
 * still log in with a fresh SSH connection and use sudo. (Probes and rollback belong to the run
 * engine and are tested with it.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../shared/rpc.js';
import type { Service } from '../../electron/core/service.js';
import { SshExecutor } from '../../electron/ssh/executor.js';
import { defaultParams, loadLibrary } from '../../electron/steps/load.js';
import { renderScript } from '../../electron/steps/render.js';
import type { BenchResult } from '../../shared/bench.js';
import type { StepDef } from '../../shared/steps.js';
import { must, newHome, newService } from './vm-env.js';

const M = 'steps1';
let service: Service;
let client: ApiClient;
let ex: SshExecutor;
const { steps, issues } = loadLibrary();

beforeAll(async () => {
  ({ service, client } = newService(newHome('steps')));
  // From the ready template (seconds), not a cold boot (~22 s): what a user's new machine is.
  await must(client, 'machines.create', { name: M, memoryMiB: 1024, cpus: 2, ready: true });
  await must(client, 'snapshots.take', { machine: M, snapshot: 'clean' });
  ex = new SshExecutor(() => service.context.machines.targetOf(M), service.context.knownHosts);
});

afterAll(async () => {
  ex?.reset();
  if (client) await client.call('machines.destroy', { name: M });
});

async function runChecks(s: StepDef): Promise<Array<{ name: string; pass: boolean; out: string }>> {
  const out = [];
  for (const v of s.verify.filter((c) => c.run)) {
    const r = await ex.runScript(renderScript(v.run as string, defaultParams(s)), { timeoutMs: 120_000 });
    out.push({ name: v.name, pass: r.exitCode === 0, out: (r.stdout + r.stderr).trim() });
  }
  return out;
}

describe('step library on the real VM', () => {
  it('loads without issues', () => expect(issues).toEqual([]));

  it('the surface bench counts what the machine exposes, and sees a new listener and SUID file', async () => {
    const count = (r: BenchResult, id: string) => r.surface?.categories.find((c) => c.id === id);
    const before = await must(client, 'bench.run', { machine: M, tool: 'surface' });
    expect(before).toMatchObject({ tool: 'surface', lowerIsBetter: true });
    expect(before.warnings).toEqual([]);
    expect(count(before, 'packages')!.count).toBeGreaterThan(100);
    expect(count(before, 'listening')!.items).toContain('tcp 0.0.0.0:22 sshd');
    expect(count(before, 'login-accounts')!.items).toEqual(['lab (/bin/bash, SSH key)']);
    await ex.runScript(
      // A second sshd is a real listener that every Debian image has the binary for.
      'install -m 4755 /usr/bin/true /usr/local/bin/suid-true && systemd-run --unit=hlab-listen /usr/sbin/sshd -D -p 7071 -o PidFile=none',
    );
    try {
      let after = await must(client, 'bench.run', { machine: M, tool: 'surface' });
      for (let i = 0; i < 10 && !count(after, 'listening')!.items.some((x) => x.includes(':7071')); i += 1)
        after = await must(client, 'bench.run', { machine: M, tool: 'surface' });
      expect(count(after, 'suid-sgid')!.items).toContain('/usr/local/bin/suid-true (-rwsr-xr-x root)');
      expect(count(after, 'listening')!.items.some((x) => x.includes(':7071'))).toBe(true);
      expect(after.score).toBeGreaterThan(before.score);
    } finally {
      await ex.runScript('systemctl stop hlab-listen; rm -f /usr/local/bin/suid-true');
    }
  }, 300_000);

  it('kube-node: without a kubelet its checks are not applicable; with one (a stand-in) they are judged', async () => {
    const bare = await must(client, 'bench.run', { machine: M, tool: 'kube-node' });
    const t = (r: BenchResult, id: string) => r.tests.find((x) => x.id === id)!;
    expect(t(bare, '4.1.1')).toMatchObject({ result: 'skip', details: 'not applicable (no kubelet)' });
    expect(t(bare, '4.2.1').result).toBe('skip');
    expect(
      bare.tests
        .filter((x) => x.id.startsWith('4.1') || (x.id.startsWith('4.2.') && !x.id.startsWith('4.2.6')))
        .every((x) => x.result === 'skip'),
    ).toBe(true);
    // Debian's defaults: overcommit 0, panic 0 — kubelet's protectKernelDefaults would refuse them.
    expect(t(bare, '4.2.6:vm.overcommit_memory').result).toBe('fail');
    expect(t(bare, '3.15').details).toBe('not applicable (no docker)');
    // A kubeadm-like node: real files, real stat/ps/cat, and a process named kubelet with flags.
    await ex.runScript(
      [
        'set -e',
        'mkdir -p /etc/systemd/system/kubelet.service.d /var/lib/kubelet /etc/kubernetes/pki',
        'printf "[Service]\\n" > /etc/systemd/system/kubelet.service.d/10-kubeadm.conf; chmod 600 /etc/systemd/system/kubelet.service.d/10-kubeadm.conf',
        'printf "apiVersion: v1\\nkind: Config\\n" > /etc/kubernetes/kubelet.conf; chmod 600 /etc/kubernetes/kubelet.conf',
        'printf "ca\\n" > /etc/kubernetes/pki/ca.crt; chmod 644 /etc/kubernetes/pki/ca.crt',
        "printf 'apiVersion: kubelet.config.k8s.io/v1beta1\\nkind: KubeletConfiguration\\nauthentication:\\n  anonymous:\\n    enabled: false\\n  x509:\\n    clientCAFile: /etc/kubernetes/pki/ca.crt\\nauthorization:\\n  mode: Webhook\\nrotateCertificates: true\\n' > /var/lib/kubelet/config.yaml; chmod 644 /var/lib/kubelet/config.yaml",
        "printf '#!/bin/sh\\nsleep 600\\n' > /usr/local/bin/kubelet; chmod 755 /usr/local/bin/kubelet",
        'systemd-run --unit=hlab-kubelet /usr/local/bin/kubelet --config=/var/lib/kubelet/config.yaml --read-only-port=10255',
        'for i in $(seq 1 50); do pgrep -x kubelet >/dev/null && break; sleep 0.2; done',
      ].join('\n'),
    );
    try {
      const node = await must(client, 'bench.run', { machine: M, tool: 'kube-node' });
      const results = Object.fromEntries(
        [
          '4.1.1',
          '4.1.3',
          '4.1.5',
          '4.1.7',
          '4.1.9',
          '4.1.10',
          '4.2.1',
          '4.2.2',
          '4.2.3',
          '4.2.4',
          '4.2.10',
        ].map((id) => [id, t(node, id).result]),
      );
      expect(
        results,
        JSON.stringify(
          node.tests.filter((x) => x.id.startsWith('4.')),
          null,
          1,
        ),
      ).toEqual({
        '4.1.1': 'pass',
        '4.1.3': 'skip', // no kube-proxy kubeconfig
        '4.1.5': 'pass',
        '4.1.7': 'warn', // the CA is 644: unscored, so a warning
        '4.1.9': 'fail', // config.yaml is 644
        '4.1.10': 'pass',
        '4.2.1': 'pass', // from the config file
        '4.2.2': 'pass',
        '4.2.3': 'pass',
        '4.2.4': 'warn', // the command line's --read-only-port=10255 wins over the file
        '4.2.10': 'pass',
      });
    } finally {
      await ex.runScript(
        'systemctl stop hlab-kubelet; rm -rf /etc/kubernetes /var/lib/kubelet /etc/systemd/system/kubelet.service.d /usr/local/bin/kubelet',
      );
    }
  }, 300_000);

  // Reboot steps and steps that install packages (aptUpdate) run in baseline-vm.test.ts through
  // the engine; demo steps are broken on purpose and tested as rollbacks.
  for (const step of steps.filter((s) => !s.reboot && !('aptUpdate' in s.params) && !s.demo)) {
    it(`${step.id}: verify fails before, passes after an idempotent apply; login and sudo survive`, async () => {
      ex.reset();
      await must(client, 'snapshots.restore', { machine: M, snapshot: 'clean' });
      const before = await runChecks(step);
      expect(
        before.some((c) => !c.pass),
        `some check must fail before apply: ${JSON.stringify(before)}`,
      ).toBe(true);
      for (let i = 0; i < 2; i += 1) {
        const r = await ex.runScript(renderScript(step.apply, defaultParams(step)), { timeoutMs: 300_000 });
        expect(r.exitCode, r.stderr).toBe(0);
      }
      const after = await runChecks(step);
      expect(after.filter((c) => !c.pass)).toEqual([]);
      const fresh = new SshExecutor(() => service.context.machines.targetOf(M), service.context.knownHosts);
      try {
        expect((await fresh.exec('id -un')).stdout.trim()).toBe('lab');
        expect((await fresh.sudo('id -u')).stdout.trim()).toBe('0');
      } finally {
        fresh.reset();
      }
      // A restore, two applies and a fresh login: 13-30 s each under TCG, more on a loaded host.
    }, 300_000);
  }
});
