/** The attack-surface bench on a recorded real guest, and on what a hostile guest could print. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Journal } from '../../electron/engine/journal.js';
import { buildEvidence, sealEvidence } from '../../electron/recipes/evidence.js';
import { toHtml } from '../../electron/recipes/html-report.js';
import type { RunEvent } from '../../shared/runs.js';
import { describe, expect, it } from 'vitest';
import {
  listeningItem,
  parseSurface,
  SURFACE_ITEMS_KEPT,
  surfaceResult,
  writableFolderItem,
  writableMountItem,
} from '../../electron/bench/surface.js';
import { compareBench } from '../../shared/bench.js';
import { diffSurface, surfaceLines, type SurfaceCategoryId } from '../../shared/surface.js';

const recorded = readFileSync('test/fixtures/surface/debian-12.txt', 'utf8');
const count = (text: string, id: SurfaceCategoryId) => parseSurface(text).categories.find((c) => c.id === id);

describe('surface bench on a recorded debian-12 guest', () => {
  const r = parseSurface(recorded);
  const cat = (id: SurfaceCategoryId) => r.categories.find((c) => c.id === id)!;

  it('counts every category from the plain commands', () => {
    expect(Object.fromEntries(r.categories.map((c) => [c.id, c.count]))).toEqual({
      packages: 172,
      'suid-sgid': 15,
      listening: 3,
      'services-enabled': 6,
      'services-running': 8,
      modules: 45,
      'login-accounts': 1,
      'world-writable': 0,
      'writable-mounts': 1,
      'writable-folders': 9,
    });
    expect(r.total).toBe(260);
    expect(r.categories.every((c) => !c.missing)).toBe(true);
  });

  it('names what it counted the way a person reads it', () => {
    expect(cat('listening').items).toEqual([
      'udp 10.0.2.15%eth0:68 systemd-network',
      'tcp 0.0.0.0:22 sshd',
      'tcp [::]:22 sshd',
    ]);
    expect(cat('suid-sgid').items).toContain('/usr/bin/sudo (-rwsr-xr-x root)');
    expect(cat('services-enabled').items).toContain('ssh.service');
    expect(cat('modules').items).toContain('virtio_net');
    // root's password is locked and it has no key: it has no way in. lab has the app's key.
    expect(cat('login-accounts').items).toEqual(['lab (/bin/bash, SSH key)']);
    // Only the ext4 root persists writes; tmpfs, sysfs, cgroup2 and the ro ramfs mounts do not count.
    expect(cat('writable-mounts').items).toEqual(['/ (ext4 on /dev/vda1)']);
  });

  it('is a lower-is-better bench whose score is the total', () => {
    const b = surfaceResult(r, 'm1', '6.1.0-47-cloud-amd64');
    expect(b).toMatchObject({ tool: 'surface', score: 260, lowerIsBetter: true, unit: 'surface items' });
    expect(b.tests.find((t) => t.id === 'surface/listening')).toMatchObject({ result: 'info', details: '3' });
    expect(surfaceLines(r)).toContain('  listening sockets: 3');
  });

  it('compares before and after per category, with what went', () => {
    const thinner = recorded.replace(/^tcp LISTEN.*\[::\]:22.*\n/m, '').replace(/^\/usr\/bin\/chfn.*\n/m, '');
    const after = parseSurface(thinner);
    const d = diffSurface(r, after);
    expect(d.find((x) => x.id === 'listening')).toMatchObject({
      before: 3,
      after: 2,
      removed: ['tcp [::]:22 sshd'],
      added: [],
    });
    expect(d.find((x) => x.id === 'suid-sgid')?.removed).toEqual(['/usr/bin/chfn (-rwsr-xr-x root)']);
    expect(surfaceLines(after, r)).toContain('  listening sockets: 3 → 2 (−1)');
    const c = compareBench(surfaceResult(r, 'm1'), surfaceResult(after, 'm1'));
    expect(c).toMatchObject({ delta: -2, lowerIsBetter: true, regressions: [], fixed: [] });
  });
});

describe('surface bench after the thin-host steps (recorded)', () => {
  const before = parseSurface(readFileSync('test/fixtures/surface/debian-12-docker.txt', 'utf8'));
  const after = parseSurface(readFileSync('test/fixtures/surface/after-thin-steps.txt', 'utf8'));
  const d = (id: SurfaceCategoryId) => diffSurface(before, after).find((x) => x.id === id)!;

  it('a read-only root leaves only the state binds writable', () => {
    expect(d('writable-folders')).toMatchObject({ before: 9, after: 2 });
    expect(after.categories.find((c) => c.id === 'writable-folders')?.items).toEqual([
      '/var (ext4 on /dev/vda1[/var])',
      '/home (ext4 on /dev/vda1[/home])',
    ]);
    // Two binds of one filesystem replace the one writable root: counted as they are.
    expect(d('writable-mounts')).toMatchObject({ before: 1, after: 2 });
  });

  it("masked gettys no longer run; the one account with a way in is the app's", () => {
    expect(d('services-running').removed).toEqual(
      expect.arrayContaining(['getty@tty1.service', 'serial-getty@ttyS0.service']),
    );
    expect(after.categories.find((c) => c.id === 'login-accounts')?.items).toEqual([
      'lab (/bin/bash, SSH key)',
    ]);
  });
});

describe('surface in the run report', () => {
  it('shows each category before and after, with what went and came, escaped', () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'hlab-surface-ev-'));
    const id = '20261205T000000-demo-surface';
    const dir = path.join(home, 'runs', id);
    mkdirSync(dir, { recursive: true });
    const before = parseSurface(readFileSync('test/fixtures/surface/debian-12-docker.txt', 'utf8'));
    const hostile = readFileSync('test/fixtures/surface/after-thin-steps.txt', 'utf8').replace(
      '@@hlab-surface modules\n',
      '@@hlab-surface modules\nevil<script>\n',
    );
    writeFileSync(path.join(dir, 'sb.json'), JSON.stringify(surfaceResult(before, 'm1')));
    writeFileSync(path.join(dir, 'sa.json'), JSON.stringify(surfaceResult(parseSurface(hostile), 'm1')));
    const events: RunEvent[] = [
      { type: 'run-started', runId: id, recipe: 'demo', machine: 'm1', steps: ['readonly-root'], pid: 1 },
      { type: 'step-started', index: 0, step: 'readonly-root', params: {} },
      { type: 'step-finished', index: 0, outcome: 'validated', durationMs: 1 },
      { type: 'bench-finished', phase: 'before', tool: 'surface', score: 297, max: 297, file: 'sb.json' },
      { type: 'bench-finished', phase: 'after', tool: 'surface', score: 292, max: 292, file: 'sa.json' },
      { type: 'run-finished', status: 'validated' },
    ];
    const journal = Journal.create(path.join(home, 'runs'), id);
    for (const e of events) journal.append(e);
    journal.close();
    const html = toHtml(sealEvidence(buildEvidence(path.join(home, 'runs'), id, '0.0.0'), home));
    const table = html.slice(html.indexOf('Attack surface'), html.indexOf('<h2>Steps'));
    expect(table).toContain('<tr><td>system folders on a writable mount</td><td>9</td><td>2</td>');
    expect(table).toContain('<summary>4 removed</summary><code>docker.service');
    expect(table).toContain('getty@tty1.service');
    // A module name is only ever taken when it is one; nothing reaches the markup unescaped.
    expect(html).not.toContain('evil<script>');
  });
});

describe('surface bench on what a hostile guest prints', () => {
  it('a missing command is "not measured", never zero', () => {
    const text = recorded.replace(
      /@@hlab-surface listening\n(?:(?!@@).*\n)*/,
      '@@hlab-surface listening\n@@hlab-missing no ss (iproute2)\n',
    );
    const c = count(text, 'listening')!;
    expect(c).toMatchObject({ count: 0, missing: 'no ss (iproute2)' });
    expect(parseSurface(text).total).toBe(257);
    expect(
      surfaceResult(parseSurface(text), 'm').tests.find((t) => t.id === 'surface/listening')?.result,
    ).toBe('skip');
  });

  it('a category the guest never printed is not measured', () => {
    expect(count('@@hlab-surface packages\nbash:amd64\n', 'modules')).toMatchObject({
      count: 0,
      missing: expect.any(String),
    });
  });

  it('control characters and long lines are cleaned, unknown sections and junk ignored', () => {
    const text = [
      '@@hlab-surface packages',
      `evil\u001b]0;pwned\u0007:amd64`,
      'x'.repeat(10_000),
      '@@hlab-surface ../../etc/passwd',
      'ignored',
      '@@hlab-surface modules',
      'ok_mod',
      'bad module; rm -rf /',
      '@@hlab-surface listening',
      'garbage',
      'tcp LISTEN 0 1 0.0.0.0:1 0.0.0.0:* users:(("' + 'p'.repeat(500) + '",pid=1,fd=1))',
    ].join('\n');
    const r = parseSurface(text);
    const pk = r.categories.find((c) => c.id === 'packages')!;
    expect(pk.items[0]).toBe('evil?]0;pwned?:amd64');
    expect(pk.items[1]).toHaveLength(200);
    expect(r.categories.find((c) => c.id === 'modules')?.items).toEqual(['ok_mod']);
    // A process name past 64 characters is not taken as one.
    expect(r.categories.find((c) => c.id === 'listening')?.items).toEqual(['tcp 0.0.0.0:1']);
  });

  it('a flood is counted in full but listed only up to the cap', () => {
    const lines = Array.from(
      { length: SURFACE_ITEMS_KEPT + 500 },
      (_, i) => `/usr/bin/s${i}|-rwsr-xr-x|root`,
    );
    const c = count(`@@hlab-surface suid-sgid\n${lines.join('\n')}\n`, 'suid-sgid')!;
    expect(c.count).toBe(SURFACE_ITEMS_KEPT + 500);
    expect(c.items).toHaveLength(SURFACE_ITEMS_KEPT);
    expect(c.truncated).toBe(true);
  });

  it('reads only what it understands from ss and findmnt lines', () => {
    expect(listeningItem('Netid State')).toBeUndefined();
    expect(listeningItem('tcp LISTEN 0 128 127.0.0.1:631 0.0.0.0:*')).toBe('tcp 127.0.0.1:631');
    expect(
      listeningItem('tcp LISTEN 0 4096 127.0.0.1:41749 0.0.0.0:* users:(("containerd",pid=1,fd=9))'),
    ).toBe('tcp 127.0.0.1:ephemeral containerd');
    expect(listeningItem('tcp LISTEN 0 4096 0.0.0.0:41749 0.0.0.0:*')).toBe('tcp 0.0.0.0:41749');
    expect(writableMountItem('/var/lib/docker /dev/vdb ext4 rw,relatime')).toBe(
      '/var/lib/docker (ext4 on /dev/vdb)',
    );
    expect(writableMountItem('/ /dev/vda1 ext4 ro,relatime')).toBeUndefined();
    expect(writableMountItem('/tmp tmpfs tmpfs rw,nosuid')).toBeUndefined();
    expect(writableMountItem('/x /dev/vdc ext4 rwx,relatime')).toBeUndefined();
    expect(writableFolderItem('/usr|/ /dev/vda1 ext4 ro,relatime')).toBeUndefined();
    expect(writableFolderItem('/var|/var /dev/vda1[/var] ext4 rw')).toBe('/var (ext4 on /dev/vda1[/var])');
    expect(writableFolderItem('no bar here')).toBeUndefined();
  });
});
