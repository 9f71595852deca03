/**
 * `npm test` (`--slow`: `npm run test:slow`, the tier with kernel upgrades, Docker installs and
 * several reboots, test/slow/): provisions the system tools the tests need, then runs lint, type checks, the unit
 * and real-VM suites (vitest) and the browser suite (Playwright), and ends with ONE plain line
 * "N passed, N failed" summing them all.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IMAGE_DIR } from './integration/vm-env.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, '.test-out');
const args = new Set(process.argv.slice(2));

/** tool on PATH (or absolute path) -> Debian package that provides it. */
const TOOLS: Record<string, string> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-img': 'qemu-utils',
  mmdebstrap: 'mmdebstrap',
  sfdisk: 'fdisk',
  'mkfs.ext4': 'e2fsprogs',
  '/usr/sbin/sshd': 'openssh-server',
  ssh: 'openssh-client',
  '/usr/bin/chromium': 'chromium',
  'fc-list': 'fonts-dejavu-core',
  sudo: 'sudo',
  // Export checks: the playbook is syntax-checked and applied, the user-data schema-checked.
  'ansible-playbook': 'ansible-core',
  'cloud-init': 'cloud-init',
  // The local apt repository for VM tests is indexed with dpkg-deb (dpkg) on the host.
  'dpkg-deb': 'dpkg',
  // The Lynis run planner is unit-tested against Lynis's own test files.
  '/usr/sbin/lynis': 'lynis',
  // The vulns bench's changelog slicing is held to apt-listchanges (run from its .deb), which imports apt_pkg.
  '/usr/lib/python3/dist-packages/apt_pkg.cpython-311-x86_64-linux-gnu.so': 'python3-apt',
  // Login events are forwarded to Debian's rsyslogd as a real syslog receiver on 127.0.0.1.
  '/usr/sbin/rsyslogd': 'rsyslog',
  // The Vagrant provider runs live: Vagrant + vagrant-libvirt, libvirtd in a test network namespace.
  vagrant: 'vagrant',
  '/usr/share/doc/vagrant-libvirt/copyright': 'vagrant-libvirt',
  '/usr/sbin/libvirtd': 'libvirt-daemon-system',
  '/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so': 'libvirt-daemon-driver-qemu',
  virsh: 'libvirt-clients',
  '/usr/sbin/dnsmasq': 'dnsmasq-base',
  '/usr/sbin/iptables': 'iptables',
  '/usr/sbin/ip': 'iproute2',
  // The SSG content's InRelease is checked with gpgv; the tests sign one with a throwaway key.
  gpgv: 'gpgv',
  gpg: 'gpg',
  '/usr/bin/gpg-agent': 'gpg-agent',
  '/usr/share/keyrings/debian-archive-keyring.gpg': 'debian-archive-keyring',
  // QEMU starts the egress connector (Perl, Essential on Debian) for each guest connection.
  '/usr/bin/perl': 'perl-base',
  // The egress tests resolve names from their own /etc/hosts in a private mount namespace.
  unshare: 'util-linux',
  // Lab servers: libvirtd + sshd per namespace, virt-ssh-helper on the server side of qemu+ssh.
  nsenter: 'util-linux',
  'virt-ssh-helper': 'libvirt-daemon',
  'ssh-keygen': 'openssh-client',
};

function has(tool: string): boolean {
  if (tool.startsWith('/')) return existsSync(tool);
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

function provision(): void {
  const missing = [
    ...new Set(
      Object.entries(TOOLS)
        .filter(([t]) => !has(t))
        .map(([, pkg]) => pkg),
    ),
  ];
  if (missing.length === 0) return;
  const cmd = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  const canApt = process.getuid?.() === 0 && has('apt-get');
  if (!canApt) {
    console.error(
      `The tests need system packages that are missing: ${missing.join(', ')}.\nInstall them with:\n  sudo sh -c '${cmd}'`,
    );
    process.exit(2);
  }
  console.log(`Installing missing system packages: ${missing.join(' ')}`);
  const r = spawnSync('sh', ['-c', cmd], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) {
    console.error(`Installing ${missing.join(' ')} failed (exit ${r.status}).`);
    process.exit(2);
  }
  // Installed only for `cloud-init schema`: it must never configure this machine at boot.
  if (missing.includes('cloud-init') && existsSync('/etc/cloud'))
    writeFileSync('/etc/cloud/cloud-init.disabled', '');
}

interface Tally {
  name: string;
  passed: number;
  failed: number;
  skipped: number;
  seconds: number;
}
const tallies: Tally[] = [];

let lastSeconds = 0;
function step(name: string, cmd: string, argv: string[], env: NodeJS.ProcessEnv = {}): number {
  console.log(`\n=== ${name}: ${cmd} ${argv.join(' ')}`);
  const started = Date.now();
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  lastSeconds = (Date.now() - started) / 1000;
  console.log(`=== ${name}: exit ${r.status} in ${lastSeconds.toFixed(1)} s`);
  return r.status ?? 1;
}

function check(name: string, cmd: string, argv: string[]): void {
  const code = step(name, cmd, argv);
  tallies.push({
    name,
    passed: code === 0 ? 1 : 0,
    failed: code === 0 ? 0 : 1,
    skipped: 0,
    seconds: lastSeconds,
  });
}

function minutes(seconds: number): string {
  return seconds < 60
    ? `${seconds.toFixed(1)} s`
    : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

if (!args.has('--skip-provision')) provision();

/**
 * ssh2's optional native crypto binding may not build on users' machines: run the suites on its
 * pure-JS path (HLAB_SSH2_NATIVE=1 keeps the binding). The binding is put back when we finish.
 */
const binding = path.join(root, 'node_modules', 'ssh2', 'lib', 'protocol', 'crypto', 'build');
const parked = `${binding}.hlab-parked`;
if (existsSync(parked) && !existsSync(binding)) renameSync(parked, binding);
const usePureJs = process.env.HLAB_SSH2_NATIVE !== '1' && existsSync(binding);
if (usePureJs) {
  renameSync(binding, parked);
  process.on('exit', () => {
    if (existsSync(parked)) renameSync(parked, binding);
  });
  console.log('ssh2: running the suites on its pure-JS path (native binding parked)');
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const npx = 'npx';
const testEnv = { HLAB_IMAGE_DIR: IMAGE_DIR };

const slow = args.has('--slow');
const started = Date.now();
const buildRenderer = () =>
  check('build renderer', npx, [
    'vite',
    'build',
    '--config',
    'renderer/vite.config.ts',
    '--logLevel',
    'warn',
  ]);
// The class server serves the built page: the slow tier's class tests need it too.
if (slow) buildRenderer();
if (!slow) {
  check('lint', npx, ['eslint', '.']);
  check('format', npx, ['prettier', '--check', '.']);
  check('typecheck (node)', npx, ['tsc', '-p', 'tsconfig.node.json', '--noEmit']);
  check('typecheck (renderer)', npx, ['tsc', '-p', 'renderer/tsconfig.json', '--noEmit']);
  buildRenderer();
  check('bundle electron main + preload', npx, ['tsx', 'build/bundle-electron.ts']);
  check('bundle the hlab CLI', npx, ['tsx', 'build/bundle-cli.ts']);
  check('npx hlab --help from the repo root', npx, ['hlab', '--help']);
}

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
}

/** Runs one vitest configuration (optionally under a wrapper command) and tallies it. */
function vitest(
  name: string,
  config: string | undefined,
  wrap: string[] = [],
  env: NodeJS.ProcessEnv = {},
): void {
  const json = path.join(out, `${name.replace(/\W+/g, '-')}.json`);
  const argv = [
    'vitest',
    'run',
    ...(config ? ['--config', config] : []),
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${json}`,
  ];
  const [cmd, ...pre] = wrap.length ? [...wrap, npx] : [npx];
  const code = step(name, cmd as string, [...pre, ...argv], { ...testEnv, ...env });
  const seconds = lastSeconds;
  const v = readJson<VitestJson>(json);
  tallies.push(
    v
      ? {
          name,
          passed: v.numPassedTests,
          failed: v.numFailedTests + (code !== 0 && v.numFailedTests === 0 ? 1 : 0),
          skipped: v.numPendingTests + v.numTodoTests,
          seconds,
        }
      : { name, passed: 0, failed: 1, skipped: 0, seconds },
  );
}

if (slow) vitest('vitest (slow tier: test/slow)', 'vitest.slow.config.ts');
else vitest('vitest (unit + real VM)', undefined);

/**
 * The live Vagrant suite (its quick part in `npm test`, the part that reboots and benches in the
 * slow tier) runs inside a network namespace of its own (vagrant-libvirt's management
 * network is a private-range bridge): libvirtd there, and vitest itself, whose SSH must reach it.
 */
if (!args.has('--no-vagrant')) {
  const netns = ['bash', 'test/vagrant/netns.sh'];
  if (step('vagrant: network namespace + libvirtd', netns[0] as string, [...netns.slice(1), 'up']) === 0) {
    // No usable KVM on these machines: libvirt runs the guest under TCG unless told otherwise.
    vitest(
      slow ? 'vitest (Vagrant, live, slow part)' : 'vitest (Vagrant, live)',
      'vitest.vagrant.config.ts',
      [...netns, 'exec'],
      {
        HLAB_LIBVIRT_DRIVER: process.env.HLAB_LIBVIRT_DRIVER ?? 'qemu',
        HLAB_VAGRANT_SUITE: slow ? 'slow' : 'quick',
      },
    );
    step('vagrant: tear down', netns[0] as string, [...netns.slice(1), 'down']);
  } else
    tallies.push({
      name: 'vagrant: network namespace',
      passed: 0,
      failed: 1,
      skipped: 0,
      seconds: lastSeconds,
    });
}

/**
 * Lab servers (libvirt over qemu+ssh): three libvirtd "hosts" in namespaces of their own on a
 * private bridge (test/libvirt/lab-hosts.sh); vitest runs in that lab network namespace. `npm
 * test` runs the pool suite (no guest booted), the slow tier the booted one.
 */
if (!args.has('--no-libvirt')) {
  const hosts = ['bash', 'test/libvirt/lab-hosts.sh'];
  if (
    step('lab servers: namespaces + libvirtd x3', hosts[0] as string, [...hosts.slice(1), 'up', '3']) === 0
  ) {
    vitest(
      slow ? 'vitest (lab servers, booted)' : 'vitest (lab servers, libvirt)',
      'vitest.libvirt.config.ts',
      [...hosts, 'exec'],
      { HLAB_LV_SUITE: slow ? 'slow' : 'pool' },
    );
    step('lab servers: tear down', hosts[0] as string, [...hosts.slice(1), 'down']);
  } else tallies.push({ name: 'lab servers', passed: 0, failed: 1, skipped: 0, seconds: lastSeconds });
}

if (!slow) {
  const pwJson = path.join(out, 'playwright.json');
  const pCode = step('playwright (Chromium, web mode)', npx, ['playwright', 'test', '--reporter=list,json'], {
    ...testEnv,
    PLAYWRIGHT_JSON_OUTPUT_NAME: pwJson,
  });
  const p = readJson<{ stats: { expected: number; unexpected: number; flaky: number; skipped: number } }>(
    pwJson,
  );
  tallies.push(
    p
      ? {
          name: 'playwright',
          passed: p.stats.expected + p.stats.flaky,
          failed: p.stats.unexpected + (pCode !== 0 && p.stats.unexpected === 0 ? 1 : 0),
          skipped: p.stats.skipped,
          seconds: lastSeconds,
        }
      : { name: 'playwright', passed: 0, failed: 1, skipped: 0, seconds: lastSeconds },
  );
}

console.log(`\nSummary (${slow ? 'slow tier' : 'npm test'}, ${minutes((Date.now() - started) / 1000)}):`);
for (const t of tallies)
  console.log(
    `  ${t.name.padEnd(32)} ${t.passed} passed, ${t.failed} failed${t.skipped ? `, ${t.skipped} skipped` : ''}  (${minutes(t.seconds)})`,
  );
const passed = tallies.reduce((a, t) => a + t.passed, 0);
const failed = tallies.reduce((a, t) => a + t.failed, 0);
const skipped = tallies.reduce((a, t) => a + t.skipped, 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
