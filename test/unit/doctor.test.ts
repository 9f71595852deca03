/** The first-run check: pure verdicts on given facts, and the real CLI on this host as root and as nobody. */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../shared/doctor.js';
import type { ProviderStatus } from '../../shared/types.js';
import { doctor, doctorText, labServerCheck } from '../../electron/machines/doctor.js';

const caps = {} as ProviderStatus['capabilities'];
const qemu: ProviderStatus = { kind: 'qemu', available: true, version: '7.2.22', capabilities: caps };
const debian = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n';
const byId = (r: DoctorReport) => Object.fromEntries(r.checks.map((c) => [c.id, c]));

describe('doctor verdicts', () => {
  it('a desktop user without QEMU or root is told the exact apt commands, and is not ready', () => {
    const r = doctor({
      providers: [{ kind: 'qemu', available: false, reason: 'QEMU is not installed', capabilities: caps }],
      images: [],
      imageDir: mkdtempSync(path.join(os.tmpdir(), 'hlab-doc-')),
      env: { PATH: '/nonexistent' },
      platform: 'linux',
      uid: 1000,
      osRelease: debian,
    });
    expect(r.os).toBe('Debian GNU/Linux 12 (bookworm)');
    expect(r.ready).toBe(false);
    expect(byId(r).qemu).toMatchObject({ ok: false, fix: 'sudo apt-get install -y qemu-system-x86' });
    expect(byId(r)['tool:mmdebstrap']).toMatchObject({
      ok: false,
      fix: 'sudo apt-get install -y mmdebstrap',
    });
    expect(byId(r).root?.ok).toBe(false);
    expect(r.imagePath).toBe('pull');
    expect(r.imagePathWhy).toMatch(
      /pulls Debian's cloud image .* seeds it through cloud-init: no root needed/,
    );
    expect(doctorText(r)).toMatch(/MISS {2}QEMU[\s\S]*fix: sudo apt-get install -y qemu-system-x86/);
  });

  it('an image already here is enough; optional providers never block', () => {
    const r = doctor({
      providers: [qemu, { kind: 'vagrant', available: false, capabilities: caps }],
      images: [{ name: 'debian-12' } as never],
      imageDir: os.tmpdir(),
      env: { PATH: '' },
      platform: 'linux',
      uid: 1000,
      osRelease: debian,
    });
    expect(r.imagePath).toBe('have');
    expect(r.ready).toBe(true);
    expect(byId(r).vagrant).toMatchObject({
      ok: false,
      need: 'optional',
      fix: 'sudo apt-get install -y vagrant vagrant-libvirt',
    });
  });

  it('other systems get the tool to look for, macOS gets brew', () => {
    const input = { providers: [qemu], images: [], imageDir: os.tmpdir(), env: {}, uid: 501 };
    expect(byId(doctor({ ...input, platform: 'darwin' })).vagrant?.fix).toBe('brew install vagrant');
    const fedora = doctor({ ...input, platform: 'linux', osRelease: 'ID=fedora\n' });
    expect(byId(fedora)['tool:mmdebstrap']?.fix).toBe(
      "install mmdebstrap with your system's package manager",
    );
  });
});

describe('hlab doctor on this host', () => {
  const cli = path.join(__dirname, '..', '..', 'electron', 'host', 'hlab.mjs');
  const run = (env: NodeJS.ProcessEnv, asNobody: boolean) => {
    const args = [cli, 'doctor', '--json'];
    const r = asNobody
      ? spawnSync(
          'setpriv',
          ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...args],
          { env, encoding: 'utf8' },
        )
      : spawnSync(process.execPath, args, { env, encoding: 'utf8' });
    return { code: r.status, report: JSON.parse(r.stdout) as DoctorReport, stderr: r.stderr };
  };

  it('finds the QEMU that is installed, with its version', () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'hlab-doc-'));
    const { report } = run({ ...process.env, HLAB_HOME: home }, false);
    const version = /version ([\d.]+)/.exec(
      execFileSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' }),
    )?.[1];
    expect(byId(report).qemu).toMatchObject({ ok: true, detail: `qemu ${version}` });
  });

  it('as an ordinary user with an empty image cache: not root, the image will be pulled, and that is ready', () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'hlab-doc-'));
    chmodSync(home, 0o777);
    const { code, report, stderr } = run(
      {
        PATH: process.env.PATH,
        HLAB_HOME: path.join(home, 'home'),
        HLAB_IMAGE_DIR: path.join(home, 'images'),
      },
      true,
    );
    expect(stderr).not.toMatch(/at .*\.(ts|js):\d+/);
    expect(byId(report).root).toMatchObject({ ok: false, detail: expect.stringContaining('not root') });
    expect(report.imagePath).toBe('pull');
    expect(report.ready).toBe(true);
    expect(code).toBe(0);
  });
});

describe('doctor: lab servers', () => {
  const server = {
    name: 's1',
    uri: 'qemu+ssh://lab@s1/system',
    accel: 'kvm' as const,
    packageProxy: false,
    reachable: true,
    libvirtVersion: '9.0.0',
    qemuVersion: '7.2.22',
    cpus: 8,
    freeMiB: 30000,
    memoryMiB: 32000,
    machines: ['t01'],
  };

  it('one line per server: ready with KVM, a fix for TCG and for an unreachable one', () => {
    expect(labServerCheck(server)).toMatchObject({ id: 'host:s1', ok: true, need: 'optional' });
    expect(labServerCheck(server).detail).toBe(
      'libvirt 9.0.0, QEMU 7.2.22, KVM, 8 CPU, 30000 MiB free, 1 machine(s)',
    );
    const tcg = labServerCheck({ ...server, accel: 'tcg' });
    expect(tcg).toMatchObject({ ok: false });
    expect(tcg.fix).toContain('KVM');
    const down = labServerCheck({ ...server, reachable: false, error: 'Lab server "s1" is unreachable: x' });
    expect(down).toMatchObject({ ok: false, detail: 'Lab server "s1" is unreachable: x' });
    expect(down.fix).toContain('hlab hosts key');
  });
});
