/**
 * Reboot steps and the full baseline recipe against the REAL VM: a boot-breaking change is caught
 * and rolled back to the pre-step state, and the container-host baseline (kernel upgrade with its
 * reboot, AppArmor, Docker, auditd, sshd, ...) validates every step and still holds after a final
 * reboot. Packages come from a local repository the host serves (see apt-repo.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../shared/rpc.js';
import type { StampedEvent } from '../../shared/runs.js';
import type { Service } from '../../electron/core/service.js';
import { runRecipe } from '../../electron/engine/run.js';
import { shQuote } from '../../electron/ssh/executor.js';
import { defaultParams, loadLibrary } from '../../electron/steps/load.js';
import { ensureImageRepo, serveRepo, useRepoScript, type RepoServer } from '../integration/apt-repo.js';
import { IMAGE_DIR, must, newHome, newService, sh } from '../integration/vm-env.js';
import { runValidated } from '../integration/recipe-run.js';
import { serveSsgMirror, type SsgMirror } from '../integration/ssg-mirror.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const M = 'baseline1';
let service: Service;
let client: ApiClient;
let repo: RepoServer;
let ssg: SsgMirror;
const library = loadLibrary().steps;

// The library's kernel-cmdline step with one parameter too many: init exits, the kernel panics,
// panic=1 reboots, and -no-reboot ends QEMU. The step itself is what gets rolled back.
const CMDLINE = library.find((s) => s.id === 'kernel-cmdline')!;
const BREAKS_BOOT = { ...defaultParams(CMDLINE), extraParams: 'init=/bin/false panic=1' };

beforeAll(async () => {
  const dir = await ensureImageRepo();
  repo = await serveRepo(dir);
  ssg = await serveSsgMirror();
  ({ service, client } = newService(newHome('baseline'), IMAGE_DIR, ssg.env));
  await must(client, 'machines.create', { name: M, memoryMiB: 1024, cpus: 2 });
  await must(client, 'machines.up', { name: M });
  await must(client, 'machines.egress', { name: M, allow: [repo.egress] });
  await sh(client, M, `sudo -n sh -c ${shQuote(useRepoScript(repo))}`);
}, 300_000);
afterAll(async () => {
  if (client) await client.call('machines.destroy', { name: M });
  await repo?.close();
  await ssg?.close();
});

describe('reboot steps and the baseline recipe', { timeout: 3_000_000 }, () => {
  it('rolls back a change that stops the machine from booting, to the exact pre-step state', async () => {
    const before = await sh(client, M, 'sudo -n sha256sum /etc/default/grub /boot/grub/grub.cfg');
    const seen: StampedEvent[] = [];
    const s = await runRecipe({
      ctx: service.context,
      recipe: {
        id: 'boot-breaker',
        title: 'boot breaker',
        base: 'debian-12',
        onFailure: 'stop',
        finalReboot: false,
        bench: [],
        steps: [{ step: 'kernel-cmdline', params: BREAKS_BOOT }],
        exceptions: [],
        file: 'test/boot-breaker.yaml',
      },
      library: [CMDLINE],
      machine: M,
      onEvent: (e) => seen.push(e),
    });
    expect(s.status).toBe('failed');
    expect(s.steps[0]?.outcome).toBe('rolled-back');
    expect(s.steps[0]?.reason).toMatch(/did not come back after the reboot/);
    // The serial console shows why: the panic, not a timeout.
    expect(s.steps[0]?.reason).toMatch(/Kernel panic|Attempted to kill init/);
    expect(seen.map((e) => e.type)).toEqual(
      expect.arrayContaining(['reboot-started', 'rollback-started', 'rollback-finished']),
    );
    expect(seen.find((e) => e.type === 'rollback-finished')).toMatchObject({ healthy: true });
    expect((await must(client, 'machines.list', {})).find((m) => m.name === M)?.state).toBe('running');
    expect(await sh(client, M, 'sudo -n sha256sum /etc/default/grub /boot/grub/grub.cfg')).toBe(before);
    expect(await sh(client, M, 'test -e /etc/default/grub.hlab-orig && echo left || echo clean')).toBe(
      'clean',
    );
    expect(await sh(client, M, 'cat /proc/cmdline')).not.toMatch(/init=\/bin\/false/);
  });

  it('validates every step of container-host-baseline and every check holds after a final reboot', async () => {
    const kernelBefore = await sh(client, M, 'uname -r');
    const { s, seen, recipe } = await runValidated(service, 'container-host-baseline', M, library);
    expect(s.steps.length).toBeGreaterThanOrEqual(10);
    expect(s.persistent).toBe(true);
    const persist = seen.filter((e) => e.type === 'persist-check');
    expect(persist.length).toBeGreaterThan(20);
    const reboots = seen.filter((e) => e.type === 'reboot-finished');
    expect(reboots).toHaveLength(3); // the kernel upgrade's, the boot parameters' and the final one
    const kernelAfter = await sh(client, M, 'uname -r');
    expect(kernelAfter).not.toBe(kernelBefore);
    expect(kernelAfter).toBe(
      await sh(client, M, "ls /boot/vmlinuz-* | sed 's|^/boot/vmlinuz-||' | sort -V | tail -n 1"),
    );
    // Lynis (on the test ids the steps declare) and our checks: the index rises, claimed tests flip.
    const b = await must(client, 'runs.bench', { id: s.id });
    const lynis = b.comparisons.find((c) => c.tool === 'lynis');
    const checks = b.comparisons.find((c) => c.tool === 'checks');
    expect(lynis, JSON.stringify(seen.filter((e) => e.type.startsWith('bench')))).toBeDefined();
    expect(lynis!.after.score).toBeGreaterThan(lynis!.before.score);
    expect(lynis!.fixed.map((f) => f.id)).toEqual(
      expect.arrayContaining([
        'KRNL-6000:kernel.kptr_restrict',
        'KRNL-6000:kernel.yama.ptrace_scope',
        'KRNL-6000:net.ipv4.conf.all.rp_filter',
        // Only run because the planner adds SSH-7402/7406, which SSH-7408 depends on.
        'SSH-7408:MaxAuthTries',
        'SSH-7408:X11Forwarding',
      ]),
    );
    expect(lynis!.regressions).toEqual([]);
    // Docker's forwarding is the one flip to fail, and the recipe's exception accepts it.
    expect(lynis!.accepted.map((f) => `${f.id} ${f.exception}`)).toEqual([
      'KRNL-6000:net.ipv4.conf.all.forwarding keep-ip-forward',
    ]);
    // Per step: the sshd step's share of the flips is its own SSH-7408 options.
    const sshdClaim = b.claims.find((c) => c.step === 'sshd-hardening' && c.tool === 'lynis');
    expect(sshdClaim?.fixed.map((f) => f.id)).toEqual(expect.arrayContaining(['SSH-7408:MaxAuthTries']));
    expect(sshdClaim?.fixed.every((f) => f.id.startsWith('SSH-7408'))).toBe(true);
    // KRNL-6000 is claimed by two steps; kptr_restrict is named by kernel-sysctl's script only.
    const claimOf = (step: string) => b.claims.find((c) => c.step === step && c.tool === 'lynis');
    expect(claimOf('kernel-sysctl')?.fixed.map((f) => f.id)).toContain('KRNL-6000:kernel.kptr_restrict');
    expect(claimOf('network-sysctl')?.fixed.map((f) => f.id)).not.toContain('KRNL-6000:kernel.kptr_restrict');
    // Lynis could only test AppArmor's profiles once the step installed it.
    expect(claimOf('apparmor-enforce')?.newlyMeasured).toEqual(['MACF-6208']);
    expect(checks!.after.score).toBe(checks!.after.max);
    expect(checks!.regressions).toEqual([]);
    // The auditor's scanner: every SSG rule the baseline's steps claim passes after the final
    // reboot, except the ones its exceptions name (which fail, as declared); none flips pass -> fail.
    const claimed = [
      ...new Set(recipe!.steps.flatMap((rs) => library.find((x) => x.id === rs.step)!.benchmarks.ssg)),
    ];
    expect(claimed.length).toBeGreaterThanOrEqual(40);
    const scan = b.after.find((r) => r.tool === 'openscap');
    expect(scan, JSON.stringify(seen.filter((e) => e.type.startsWith('bench')))).toBeDefined();
    const excepted = recipe!.exceptions.flatMap((x) => x.tests ?? []).filter((t) => claimed.includes(t));
    expect(excepted.sort()).toEqual(['sysctl_kernel_kptr_restrict', 'sysctl_net_ipv4_ip_forward']);
    const resultOf = (id: string) => scan!.tests.find((t) => t.id === id)?.result;
    expect(claimed.filter((id) => !excepted.includes(id)).map((id) => `${id} ${resultOf(id)}`)).toEqual(
      claimed.filter((id) => !excepted.includes(id)).map((id) => `${id} pass`),
    );
    expect(excepted.map(resultOf)).toEqual(['fail', 'fail']);
    const oscap = b.comparisons.find((c) => c.tool === 'openscap')!;
    expect(oscap.regressions).toEqual([]);
    expect(oscap.after.score).toBeGreaterThan(oscap.before.score);
    // Host vulnerabilities: the older kernel's fixable CVEs before; none once the upgraded kernel runs.
    const vb = b.before.find((r) => r.tool === 'vulns')?.vulns;
    const va = b.after.find((r) => r.tool === 'vulns')?.vulns;
    expect(vb, JSON.stringify(seen.filter((e) => e.type.startsWith('bench')))).toBeDefined();
    expect(vb!.kernel.release).toBe(kernelBefore);
    expect(vb!.kernel.cves.length).toBeGreaterThan(100);
    expect(va!.kernel.release).toBe(kernelAfter);
    expect(va!.kernel.running).toBe(va!.kernel.newest?.version);
    expect(va!.kernel.cves).toEqual([]);
    const vulns = b.comparisons.find((c) => c.tool === 'vulns')!;
    expect(vulns.fixed.map((f) => `${f.id} ${f.from}->${f.to}`)).toContain('kernel fail->pass');
    expect(vulns.after.score).toBeLessThan(vulns.before.score);
    // The evidence names which standard each disputed value satisfies.
    const ev = await must(client, 'recipes.export', { runId: s.id, format: 'html' });
    expect(ev.content).toMatch(/kptrRestrict = 2<\/code><\/td><td>Lynis[^<]*<\/td><td><b>SSG/);
    expect(ev.content).toContain(`kernel ${kernelAfter}: running ${va!.kernel.running}`);
    expect(ev.content).toMatch(/fixable CVEs \(-\d+, fewer is better\)/);
    expect(ev.content).toMatch(/[1-9]\d* events: [1-9]\d* of this app's own \(logins with its key/);
    const out = path.join(__dirname, '..', '..', '.test-out', 'slow');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'baseline-report.html'), ev.content);
    // Still a working container host after everything, as a fresh login sees it.
    expect(await sh(client, M, 'sudo -n docker run --rm hlab-probe /usr/bin/true && echo ok')).toBe('ok');
    expect(await sh(client, M, 'sudo -n /usr/sbin/sysctl -n net.ipv4.ip_forward')).toBe('1');
  });
});
