/**
 * The first run of an ordinary desktop user, for real: a user made by this test (no root, no loop
 * devices) pulls a cloud image — a cloud-init stand-in built from Debian packages, served with its
 * SHA512SUMS from 127.0.0.1 because cloud.debian.org is out of reach here — through the same
 * `image pull` code path, gets a machine seeded through cloud-init's NoCloud datasource, logs in
 * with the seeded key against the pinned host key, and runs a recipe whose broken step is rolled back.
 */
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GUEST_APT_PROXY_FILE } from '../../shared/egress.js';
import { APT_PROXY_CONF } from '../../electron/providers/egress/egress.js';
import { NO_DNS_RESOLV_CONF } from '../../electron/providers/nocloud.js';
import { parse } from 'yaml';
import { buildImage } from '../../electron/images/builder.js';
import { ImageStore } from '../../electron/images/store.js';
import { IMAGE_DIR } from './vm-env.js';
import { serveCloudImage, type CloudImageServer } from './cloud-image-server.js';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'electron', 'host', 'hlab.mjs');
const USER = 'hlab-desktop';
const MACHINE = 'cloudy';

let images: CloudImageServer | undefined;
let baseUrl = '';
let userHome = '';
let uid = 0;
let gid = 0;
let labs = '';
let firstBootSeconds = 0;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** `hlab ARGS` as the test user, with nothing of root's environment but PATH. */
function asUser(args: string[], timeoutMs = 600_000): Promise<Ran> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      'setpriv',
      [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', process.execPath, CLI, ...args],
      {
        cwd: userHome,
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        env: {
          PATH: process.env.PATH,
          HOME: userHome,
          USER,
          LANG: 'C.UTF-8',
          HLAB_PULL_BASE_URL: baseUrl,
          ...(process.env.HLAB_ACCEL ? { HLAB_ACCEL: process.env.HLAB_ACCEL } : {}),
        },
      },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
          stdout,
          stderr,
          seconds: (Date.now() - started) / 1000,
        }),
    );
  });
}

const sh = (cmd: string, args: string[]) =>
  new Promise<string>((resolve, reject) =>
    execFile(cmd, args, (err, out, errOut) => (err ? reject(new Error(`${cmd}: ${errOut}`)) : resolve(out))),
  );

beforeAll(async () => {
  if (process.getuid?.() !== 0)
    throw new Error('This test creates its own non-root user: run it as root (CI does).');
  // The stand-in is built once per recipe (cached beside the other images).
  const image = await buildImage(new ImageStore(IMAGE_DIR), 'cloud-standin', {
    recipesDir: path.join(ROOT, 'test', 'fixtures', 'images'),
  });
  images = await serveCloudImage(image.path);
  baseUrl = images.url;

  // A run that died midway leaves the user and its QEMU behind.
  await sh('pkill', ['-KILL', '-u', USER]).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 500));
  await sh('userdel', ['-r', USER]).catch(() => undefined);
  userHome = mkdtempSync(path.join(os.tmpdir(), 'hlab-desktop-home-'));
  await sh('useradd', ['--home-dir', userHome, '--shell', '/bin/bash', '--user-group', USER]);
  uid = Number(await sh('id', ['-u', USER]));
  gid = Number(await sh('id', ['-g', USER]));
  chmodSync(userHome, 0o700);
  await sh('chown', ['-R', `${USER}:${USER}`, userHome]);

  // The library's steps plus a short recipe: one step that holds, one that locks the user out.
  labs = mkdtempSync(path.join(os.tmpdir(), 'hlab-cloud-labs-'));
  cpSync(path.join(ROOT, 'labs', 'steps'), path.join(labs, 'steps'), { recursive: true });
  mkdirSync(path.join(labs, 'recipes'));
  writeFileSync(
    path.join(labs, 'recipes', 'cloud-short.yaml'),
    [
      'id: cloud-short',
      'title: Short recipe on a cloud image',
      'description: One step that holds on a cloud image, one that locks the lab user out and is rolled back.',
      'base: debian-12',
      'onFailure: continue',
      'steps:',
      '  - step: kernel-sysctl',
      '  - step: demo-sshd-lockout',
      '',
    ].join('\n'),
  );
  await sh('chmod', ['-R', 'a+rX', labs]);
}, 900_000);

afterAll(async () => {
  if (uid) {
    await asUser(['machine', 'rm', MACHINE], 120_000);
    // Templates are QEMU processes of that user too; none may outlive the test.
    await sh('pkill', ['-KILL', '-u', USER]).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
    await sh('userdel', ['-r', USER]).catch(() => undefined);
  }
  images?.close();
  if (labs) rmSync(labs, { recursive: true, force: true });
});

describe('a machine from a pulled cloud image, as an ordinary user', () => {
  it('doctor says the image will be pulled and that this is enough', async () => {
    const r = await asUser(['doctor', '--json'], 60_000);
    const report = JSON.parse(r.stdout) as { imagePath: string; ready: boolean; imagePathWhy: string };
    expect(report).toMatchObject({ imagePath: 'pull', ready: true });
    expect(report.imagePathWhy).toContain(baseUrl);
    expect(r.code).toBe(0);
  });

  it('creates the machine: pull, cloud-init first boot once in the template, then a copy with its own identity', async () => {
    const r = await asUser(['machine', 'create', MACHINE, '--ready'], 900_000);
    expect(r.stderr + r.stdout).not.toMatch(/at .*\.(ts|js):\d+/);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/pulling the cloud image/);
    expect(out).toMatch(/verified debian-12-genericcloud-amd64\.qcow2 against SHA512SUMS/);
    firstBootSeconds = Number(/booted and settled in ([\d.]+) s/.exec(out)?.[1]);
    expect(firstBootSeconds).toBeGreaterThan(0);
    console.log(
      `cloud image, as ${USER}: create --ready ${r.seconds.toFixed(1)} s, template first boot (cloud-init) ${firstBootSeconds} s`,
    );

    const manifest = JSON.parse(
      readFileSync(
        path.join(userHome, '.config', 'hardening-lab', 'images', 'debian-12', 'manifest.json'),
        'utf8',
      ),
    ) as { source: string; seeding: string };
    expect(manifest).toMatchObject({ source: 'pulled', seeding: 'cloud-init' });
    // Everything it made belongs to the user, and QEMU runs as the user.
    const owner = await sh('stat', [
      '-c',
      '%U',
      path.join(userHome, '.config', 'hardening-lab', 'machines', MACHINE, 'disk.qcow2'),
    ]);
    expect(owner.trim()).toBe(USER);
    const procs = await sh('ps', ['-o', 'user=', '-C', 'qemu-system-x86_64']);
    expect(procs.split('\n').map((l) => l.trim())).toContain(USER);
  }, 900_000);

  it('logs in with the seeded key as the seeded user, behind the host key the app made and pinned', async () => {
    const r = await asUser(
      [
        'exec',
        MACHINE,
        '--',
        'sh',
        '-c',
        'id -un; hostname; cloud-init status; sudo -n cat /etc/ssh/ssh_host_ed25519_key.pub; ls /etc/ssh/ssh_host_*_key | wc -l',
      ],
      120_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const [user, host, status, hostKey, keyCount] = r.stdout.trim().split('\n');
    expect(r.stdout.trim().split('\n'), r.stdout).toHaveLength(5);
    expect(user).toBe('lab');
    expect(host).toBe(MACHINE);
    expect(status).toBe('status: done');
    expect(keyCount).toBe('1');
    const seed = parse(
      readFileSync(
        path.join(userHome, '.config', 'hardening-lab', 'machines', MACHINE, 'cidata', 'user-data'),
        'utf8',
      ),
    ) as { ssh_keys: { ed25519_public: string } };
    expect(hostKey?.split(' ')[1]).toBe(seed.ssh_keys.ed25519_public.split(' ')[1]);
    const pins = readFileSync(path.join(userHome, '.config', 'hardening-lab', 'known_hosts.json'), 'utf8');
    expect(pins).toContain(MACHINE);
  }, 180_000);

  it("is filtered like every QEMU machine: cloud-init pointed apt at the proxy, and the host's loopback is closed", async () => {
    const r = await asUser(
      [
        'exec',
        MACHINE,
        '--',
        `cat ${GUEST_APT_PROXY_FILE} /etc/resolv.conf; timeout 5 bash -c '</dev/tcp/10.0.2.2/22' 2>/dev/null && echo host-open || echo host-closed`,
      ],
      120_000,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${APT_PROXY_CONF}${NO_DNS_RESOLV_CONF}host-closed\n`);
  }, 180_000);

  it('runs a short recipe: the step that holds is validated, the lock-out is rolled back', async () => {
    const r = await asUser(['run', 'cloud-short', '--machine', MACHINE, '--labs', labs], 900_000);
    expect(r.stdout + r.stderr).not.toMatch(/at .*\.(ts|js):\d+/);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/kernel-sysctl\s+validated/);
    expect(r.stdout).toMatch(/demo-sshd-lockout\s+rolled-back/);
    const after = await asUser(
      ['exec', MACHINE, '--', 'sudo', '-n', 'sysctl', '-n', 'kernel.kptr_restrict'],
      120_000,
    );
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout.trim()).toBe('2');
  }, 900_000);
});
