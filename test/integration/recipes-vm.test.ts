/**
 * Validated recipes against the REAL VM: a run benches with our own checks before and after, its evidence bundle detects tampering, and every export is proven on a fresh machine
 * state (the snapshot taken right after first boot): the shell script and the Ansible playbook
 * make every check pass, cloud-init passes its schema, and the HTML report renders in Chromium.
 * The replay of this recipe's evidence runs in the slow tier (test/slow/replay-vm.test.ts); replay
 * is also run live on Vagrant here (test/vagrant/).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { chromium } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../shared/rpc.js';
import type { RunSummary } from '../../shared/runs.js';
import type { EvidenceBundle } from '../../shared/evidence.js';
import type { Service } from '../../electron/core/service.js';
import { runChecks } from '../../electron/bench/checks.js';
import { cvesBetween, parseChangelog } from '../../electron/bench/changelog.js';
import { runRecipe } from '../../electron/engine/run.js';
import { keyPaths } from '../../electron/ssh/keys.js';
import { SshExecutor } from '../../electron/ssh/executor.js';
import { loadLibrary } from '../../electron/steps/load.js';
import { IMAGE_DIR, must, newHome, newService } from './vm-env.js';
import { serveSsgMirror, type SsgMirror } from './ssg-mirror.js';
import { ensureRepo, serveRepo, useRepoScript, type RepoServer } from './apt-repo.js';
import { QUICK_STEPS, quickHarden } from './quick-harden.js';

const M = 'recipes1';
const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(ROOT, '.test-out', 'recipes');
let service: Service;
let client: ApiClient;
let home: string;
let run: RunSummary;
let repo: RepoServer;
let ssg: SsgMirror;
const library = loadLibrary().steps;
const STEPS = QUICK_STEPS;
const recipe = quickHarden(library);
const stepDefs = () => STEPS.map((id) => library.find((s) => s.id === id)!);
const ex = () => new SshExecutor(() => service.context.machines.targetOf(M), service.context.knownHosts);

async function backToFresh(): Promise<void> {
  await must(client, 'snapshots.restore', { machine: M, snapshot: 'fresh' });
}

/** Every check of the recipe's steps, on the machine as it is now. */
async function checksNow() {
  const e = ex();
  try {
    const r = await runChecks(e, M, stepDefs());
    return r.tests.filter((t) => !t.id.startsWith('kconfig/') && !t.id.startsWith('cmdline/'));
  } finally {
    e.reset();
  }
}

async function exportRun(format: 'sh' | 'ansible' | 'cloud-init' | 'html' | 'evidence'): Promise<string> {
  const r = await must(client, 'recipes.export', { runId: run.id, format });
  const file = path.join(OUT, r.filename);
  writeFileSync(file, r.content);
  return file;
}

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  home = newHome('recipes');
  ssg = await serveSsgMirror();
  ({ service, client } = newService(home, IMAGE_DIR, ssg.env));
  // From the ready template (seconds), not a cold boot (~22 s): what a user's new machine is.
  await must(client, 'machines.create', { name: M, memoryMiB: 1024, cpus: 2, ready: true });
  // openscap-scanner comes from the local repository (a full apt update takes ~40 s under TCG).
  repo = await serveRepo(ensureRepo());
  await must(client, 'machines.egress', { name: M, allow: [repo.egress] });
  const e = ex();
  try {
    expect((await e.runScript(useRepoScript(repo))).exitCode).toBe(0);
  } finally {
    e.reset();
  }
  await must(client, 'snapshots.take', { machine: M, snapshot: 'fresh' });
}, 600_000);
afterAll(async () => {
  if (client) await client.call('machines.destroy', { name: M });
  await repo?.close();
  await ssg?.close();
});

describe('validated recipes: bench, evidence, exports, replay', { timeout: 1_800_000 }, () => {
  it('benches before and after with the checks the steps declare: all pass after, nothing regresses', async () => {
    run = await runRecipe({ ctx: service.context, recipe, library, machine: M });
    expect(run.status).toBe('validated');
    const b = await must(client, 'runs.bench', { id: run.id });
    expect(b.before.map((r) => r.tool)).toEqual(['checks', 'openscap']);
    expect(b.after.map((r) => r.tool)).toEqual(['checks', 'openscap']);
    const checks = b.comparisons.find((c) => c.tool === 'checks')!;
    writeFileSync(path.join(OUT, 'bench-comparisons.json'), JSON.stringify(b.comparisons, null, 1));
    expect(checks.after.score).toBe(checks.after.max);
    expect(checks.after.score).toBeGreaterThan(checks.before.score);
    expect(checks.fixed.map((f) => f.id)).toEqual(
      expect.arrayContaining(['kernel-sysctl/1', 'sshd-hardening/1']),
    );
    expect(checks.regressions).toEqual([]);
    // The auditor's scanner agrees: every SSG rule the steps claim passes after, except the two
    // values the recipe's exceptions name; none flips pass -> fail.
    const claimed = [...new Set(stepDefs().flatMap((s) => s.benchmarks.ssg))];
    const scan = b.after.find((r) => r.tool === 'openscap')!;
    const excepted = recipe.exceptions.flatMap((x) => x.tests ?? []);
    const resultOf = (id: string) => scan.tests.find((t) => t.id === id)?.result;
    expect(claimed.filter((id) => !excepted.includes(id) && resultOf(id) !== 'pass')).toEqual([]);
    expect(excepted.map(resultOf)).toEqual(['fail', 'fail', 'fail']);
    const oscap = b.comparisons.find((c) => c.tool === 'openscap')!;
    expect(oscap.regressions).toEqual([]);
    expect(oscap.fixed.map((f) => f.id)).toEqual(
      expect.arrayContaining(['sshd_disable_root_login', 'sshd_enable_strictmodes', 'no_direct_root_logins']),
    );
    expect(scan.meta.content).toMatch(/^ssg-debian \d/);
    const sshd = b.claims.find((c) => c.step === 'sshd-hardening' && c.tool === 'openscap');
    expect(sshd?.fixed.map((f) => f.id).sort()).toEqual(
      stepDefs()
        .find((s) => s.id === 'sshd-hardening')!
        .benchmarks.ssg.slice()
        .sort(),
    );
  });

  it('seals the evidence: intact as exported, one edited byte is detected', async () => {
    const file = await exportRun('evidence');
    expect(await must(client, 'recipes.verify', { file })).toMatchObject({ intact: true, signedHere: true });
    const text = readFileSync(file, 'utf8');
    // The logins the steps' verification made are kept: the fresh-login probes, by the app's own key,
    // and sudo as they ran the checks.
    const logins = (JSON.parse(text) as EvidenceBundle).body.logins!;
    expect(logins.total).toBeGreaterThanOrEqual(STEPS.length);
    expect(logins.events.filter((e) => e.action === 'ssh_login' && e.operator).length).toBeGreaterThanOrEqual(
      STEPS.length,
    );
    expect(logins.events.every((e) => e.machine === M)).toBe(true);
    expect(logins.sshdLogLevel).toBe('VERBOSE'); // sshd-hardening's default
    const at = text.indexOf('"validated"');
    const tampered = path.join(OUT, 'tampered.evidence.json');
    writeFileSync(tampered, `${text.slice(0, at + 1)}V${text.slice(at + 2)}`);
    const v = await must(client, 'recipes.verify', { file: tampered });
    expect(v.intact).toBe(false);
    expect(v.problems.length).toBeGreaterThan(0);
  });

  it('renders the HTML report in Chromium (screenshot kept)', async () => {
    const file = await exportRun('html');
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      await page.goto(`file://${file}`);
      expect(await page.locator('h1').textContent()).toContain('quick-harden');
      expect(await page.locator('svg rect.after').count()).toBeGreaterThanOrEqual(1);
      expect(await page.locator('tr.fixed').count()).toBeGreaterThan(0);
      expect(await page.locator('tr.regression').count()).toBe(0);
      const shot = path.join(ROOT, 'build', 'screenshots', 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      await page.screenshot({ path: path.join(OUT, 'report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it('the exported shell script makes every check pass on a fresh machine', async () => {
    const file = await exportRun('sh');
    await backToFresh();
    expect((await checksNow()).filter((t) => t.result === 'pass').length).toBeLessThan(STEPS.length);
    const e = ex();
    try {
      const r = await e.runScript(readFileSync(file, 'utf8'), { timeoutMs: 600_000 });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain('all steps applied and verified');
    } finally {
      e.reset();
    }
    const after = await checksNow();
    expect(after.filter((t) => t.result !== 'pass')).toEqual([]);
  });

  it('the exported playbook passes ansible --syntax-check and, applied to a fresh machine, makes every check pass', async () => {
    const file = await exportRun('ansible');
    const syntax = spawnSync('ansible-playbook', ['--syntax-check', '-i', 'localhost,', file], {
      encoding: 'utf8',
    });
    expect(syntax.status, syntax.stderr).toBe(0);
    await backToFresh();
    const info = await must(client, 'machines.list', {}).then((l) => l.find((m) => m.name === M)!);
    const inv = path.join(OUT, 'inventory.ini');
    writeFileSync(
      inv,
      `${M} ansible_host=127.0.0.1 ansible_port=${info.ssh!.port} ansible_user=lab ansible_ssh_private_key_file=${keyPaths(service.context.paths.keys, M).privatePath}\n`,
    );
    const r = spawnSync('ansible-playbook', ['-i', inv, file], {
      encoding: 'utf8',
      env: { ...process.env, ANSIBLE_HOST_KEY_CHECKING: 'False', ANSIBLE_NOCOLOR: '1' },
      timeout: 900_000,
    });
    writeFileSync(path.join(OUT, 'ansible.log'), r.stdout + r.stderr);
    expect(r.status, r.stdout.slice(-2000)).toBe(0);
    expect(r.stdout).toMatch(/failed=0/);
    const after = await checksNow();
    expect(after.filter((t) => t.result !== 'pass')).toEqual([]);
  });

  it('the exported cloud-init user-data passes cloud-init schema', async () => {
    const file = await exportRun('cloud-init');
    const r = spawnSync('cloud-init', ['schema', '--config-file', file], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/Valid (cloud-config|schema)/i);
  });

  it('vulns: the older kernel against the newest image, an outdated library with the ids its update names, changelogs read once', async () => {
    await backToFresh();
    const e = ex();
    try {
      // One library set back to its bookworm release in dpkg's database: apt then offers the update.
      await e.run(
        `sed -i '/^Package: libexpat1$/,/^$/ s/^Version: .*/Version: 2.5.0-1/' /var/lib/dpkg/status`,
        {
          asRoot: true,
        },
      );
    } finally {
      e.reset();
    }
    const r = await must(client, 'bench.run', { machine: M, tool: 'vulns' });
    const v = r.vulns!;
    const served = (name: string) => {
      const f = readdirSync(repo.dir).find((x) => new RegExp(`^${name}_[^_]+_amd64\\.deb$`).test(x))!;
      return { file: path.join(repo.dir, f), version: decodeURIComponent(f.split('_')[1]!) };
    };
    // The repository's newest image is what this machine's apt offers; the image runs the older ABI.
    const image = readdirSync(repo.dir).find((x) => /^linux-image-[0-9.]+-\d+-cloud-amd64_/.test(x))!;
    expect(v.kernel.release).toBe('6.1.0-47-cloud-amd64');
    expect(v.kernel.newest?.package).toBe(image.split('_')[0]);
    expect(v.kernel.running).toMatch(/^6\.1\.\d+-\d+$/);
    const cpu = served('linux-cpupower');
    const kernelLog = parseChangelog(changelogText(cpu.file));
    expect(v.kernel.cves).toEqual(
      cvesBetween(kernelLog, v.kernel.running!, cpu.version, { source: 'linux', arch: 'amd64' }).ids,
    );
    expect(v.kernel.cves.length).toBeGreaterThan(100);
    expect(v.kernel.changelog?.package).toBe('linux-cpupower');
    const expat = served('libexpat1');
    const row = v.packages.find((p) => p.source === 'expat')!;
    expect(row).toMatchObject({ binaries: ['libexpat1'], installed: '2.5.0-1', candidate: expat.version });
    expect(row.cves).toEqual(
      cvesBetween(parseChangelog(changelogText(expat.file)), '2.5.0-1', expat.version).ids,
    );
    expect(row.cves.length).toBeGreaterThan(0);
    expect(row.changelog?.sha256).toBe(createHash('sha256').update(readFileSync(expat.file)).digest('hex'));
    expect(r.score).toBe(new Set([...v.kernel.cves, ...row.cves]).size);
    expect(r.tests.find((t) => t.id === 'kernel')?.result).toBe('fail');
    // A second run reads every changelog from the host's cache: nothing in it is written again.
    const cache = service.context.changelogCache;
    const stamp = () =>
      readdirSync(cache)
        .map((f) => `${f} ${statSync(path.join(cache, f)).mtimeMs}`)
        .sort();
    const before = stamp();
    const again = await must(client, 'bench.run', { machine: M, tool: 'vulns' });
    expect(stamp()).toEqual(before);
    expect(again.score).toBe(r.score);
  });
});

/** changelog.Debian.gz of a .deb, as text. */
function changelogText(deb: string): string {
  const list = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' });
  const member = /\.\/usr\/share\/doc\/[^/\s]+\/changelog\.Debian\.gz/.exec(list)![0];
  const tar = execFileSync('dpkg-deb', ['--fsys-tarfile', deb], { maxBuffer: 256 << 20 });
  return gunzipSync(execFileSync('tar', ['-xO', member], { input: tar, maxBuffer: 256 << 20 })).toString(
    'utf8',
  );
}
