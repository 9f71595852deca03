/**
 * The first-run check: which tools this host has, which it lacks, with the install command for
 * this OS, and which way a base image will come (built here or pulled). Cheap on purpose (PATH
 * lookups, no VM boots), so the app and `npm start` can show it before anything is tried.
 */
import { accessSync, constants, existsSync, readFileSync, statfsSync } from 'node:fs';
import path from 'node:path';
import type { DoctorCheck, DoctorReport } from '../../shared/doctor.js';
import type { ImageInfo, LabHostInfo, ProviderStatus } from '../../shared/types.js';
import { cachedAccelVerdict } from '../providers/qemu/accel.js';
import { IMAGE_BUILD_TOOLS, which } from '../platform/which.js';

export interface DoctorInput {
  providers: ProviderStatus[];
  images: ImageInfo[];
  /** Registered lab servers, as just probed (each one answers or says why not, bounded). */
  hosts?: LabHostInfo[];
  imageDir: string;
  env: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  uid?: number;
  osRelease?: string;
}

/** Debian package per tool; other systems get the tool's name to look up. */
const DEBIAN_PACKAGE: Record<string, string> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-img': 'qemu-utils',
  mmdebstrap: 'mmdebstrap',
  sfdisk: 'fdisk',
  'mkfs.ext4': 'e2fsprogs',
  vagrant: 'vagrant vagrant-libvirt',
  VBoxManage: 'virtualbox',
};
const MIN_FREE = 4 * 1024 ** 3;

function osFamily(
  platform: NodeJS.Platform,
  osRelease: string,
): { name: string; install?: (pkg: string) => string } {
  if (platform === 'darwin') return { name: 'macOS', install: (pkg) => `brew install ${pkg}` };
  const field = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?$`, 'm').exec(osRelease)?.[1] ?? '';
  const ids = `${field('ID')} ${field('ID_LIKE')}`;
  const name = field('PRETTY_NAME') || platform;
  if (/\b(debian|ubuntu)\b/.test(ids)) return { name, install: (pkg) => `sudo apt-get install -y ${pkg}` };
  return { name };
}

export function doctor(i: DoctorInput): DoctorReport {
  const platform = i.platform ?? process.platform;
  const uid = i.uid ?? process.getuid?.() ?? -1;
  const osRelease =
    i.osRelease ?? (existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '');
  const os = osFamily(platform, osRelease);
  const fix = (tool: string) => {
    const pkg =
      platform === 'darwin' ? (tool.startsWith('qemu') ? 'qemu' : tool) : (DEBIAN_PACKAGE[tool] ?? tool);
    return os.install ? os.install(pkg) : `install ${tool} with your system's package manager`;
  };
  const checks: DoctorCheck[] = [];
  const provider = (kind: string) => i.providers.find((p) => p.kind === kind);
  const qemu = provider('qemu');
  checks.push({
    id: 'qemu',
    title: 'QEMU (the embedded sandbox)',
    ok: !!qemu?.available,
    need: 'required',
    detail: qemu?.available ? `qemu ${qemu.version ?? ''}`.trim() : (qemu?.reason ?? 'not found'),
    ...(qemu?.available ? {} : { fix: fix('qemu-system-x86_64') }),
  });
  // /dev/kvm can exist and still hang a guest (some nested setups): the boot probe's verdict wins.
  const verdict = qemu?.version ? cachedAccelVerdict(i.imageDir, qemu.version) : undefined;
  const kvmDevice = platform === 'linux' && canOpen('/dev/kvm');
  const kvm = kvmDevice && verdict !== 'tcg';
  checks.push({
    id: 'accel',
    title: 'Hardware acceleration',
    ok: kvm || platform === 'darwin',
    need: 'optional',
    detail: kvm
      ? `KVM (/dev/kvm is usable${verdict === 'kvm' ? ' and booted our image' : '; a boot probe runs at the first start'})`
      : kvmDevice
        ? '/dev/kvm is there but did not boot our image (probe): guests run under TCG, several times slower'
        : platform === 'darwin'
          ? 'HVF (macOS Hypervisor.framework)'
          : 'none: guests run under TCG, several times slower (boots take ~20 s, restores ~2 s)',
    ...(kvm || platform === 'darwin'
      ? {}
      : {
          fix: kvmDevice
            ? 'KVM that hangs a guest (as some nested setups do) cannot be fixed from here; HLAB_ACCEL=kvm forces it'
            : existsSync('/dev/kvm')
              ? 'add yourself to the kvm group: sudo usermod -aG kvm $USER'
              : 'enable virtualization (VT-x/AMD-V) in the firmware, or nested virtualization for a VM',
        }),
  });
  for (const tool of IMAGE_BUILD_TOOLS) {
    const found = which(tool, i.env);
    checks.push({
      id: `tool:${tool}`,
      title: `${tool} (builds the base image)`,
      ok: !!found,
      need: 'for building images',
      detail: found ?? 'not found',
      ...(found ? {} : { fix: fix(tool) }),
    });
  }
  const root = uid === 0;
  const loop = existsSync('/dev/loop-control');
  checks.push({
    id: 'root',
    title: 'Root and loop devices (builds the base image)',
    ok: platform === 'linux' && root && loop,
    need: 'for building images',
    detail:
      platform !== 'linux'
        ? `not Linux (${platform})`
        : `${root ? 'root' : 'not root'}, ${loop ? 'loop devices present' : 'no /dev/loop-control'}`,
    ...(root && loop
      ? {}
      : { fix: 'build as root (sudo hlab image build), or pull the image: hlab image pull debian-12' }),
  });
  for (const [kind, tool, title] of [
    ['vagrant', 'vagrant', 'Vagrant (manage your Vagrant boxes)'],
    ['virtualbox', 'VBoxManage', 'VirtualBox (manage your VirtualBox VMs)'],
  ] as const) {
    const p = provider(kind);
    checks.push({
      id: kind,
      title,
      ok: !!p?.available,
      need: 'optional',
      detail: p?.available ? `${kind} ${p.version ?? ''}`.trim() : (p?.reason ?? 'not found'),
      ...(p?.available ? {} : { fix: fix(tool) }),
    });
  }
  for (const h of i.hosts ?? []) checks.push(labServerCheck(h));
  const free = freeBytes(i.imageDir);
  checks.push({
    id: 'disk',
    title: `Free space for images (${i.imageDir})`,
    ok: free === undefined || free >= MIN_FREE,
    need: 'required',
    detail: free === undefined ? 'unknown' : `${(free / 1024 ** 3).toFixed(1)} GiB free`,
    ...(free !== undefined && free < MIN_FREE
      ? { fix: `free at least 4 GiB there, or point HLAB_IMAGE_DIR at a bigger disk` }
      : {}),
  });
  const canBuild =
    checks.filter((c) => c.need === 'for building images').every((c) => c.ok) && !!qemu?.available;
  const imagePath = i.images.length ? 'have' : canBuild ? 'build' : 'pull';
  const imagePathWhy =
    imagePath === 'have'
      ? `base image ${i.images.map((x) => x.name).join(', ')} is already here`
      : imagePath === 'build'
        ? 'the base image will be built here from Debian packages (root, loop devices and the tools are present)'
        : `building needs root, loop devices and the tools above, so the first machine pulls Debian's cloud image instead (hlab image pull debian-12, verified against SHA512SUMS${i.env.HLAB_PULL_BASE_URL ? `, from ${i.env.HLAB_PULL_BASE_URL}` : ''}) and seeds it through cloud-init: no root needed`;
  return {
    os: os.name,
    checks,
    imagePath,
    imagePathWhy,
    ready: checks.filter((c) => c.need === 'required').every((c) => c.ok),
  };
}

/** One registered lab server: does it answer over its URI, and with KVM? */
export function labServerCheck(h: LabHostInfo): DoctorCheck {
  const base = { id: `host:${h.name}`, title: `Lab server ${h.name} (${h.uri})`, need: 'optional' as const };
  if (!h.reachable)
    return {
      ...base,
      ok: false,
      detail: h.error ?? 'does not answer',
      fix: `check from this computer: ssh USER@HOST virsh -c qemu:///system version (the key: hlab hosts key); see docs/lab-servers.md`,
    };
  const detail = `libvirt ${h.libvirtVersion ?? '?'}, QEMU ${h.qemuVersion ?? '?'}, ${h.accel.toUpperCase()}, ${h.cpus ?? '?'} CPU, ${h.freeMiB ?? '?'} MiB free, ${h.machines.length} machine(s)`;
  return h.accel === 'kvm'
    ? { ...base, ok: true, detail }
    : {
        ...base,
        ok: false,
        detail: `${detail}: guests run under TCG, several times slower`,
        fix: 'a lab server for a class needs KVM (VT-x/AMD-V enabled, /dev/kvm usable by libvirt)',
      };
}

function canOpen(file: string): boolean {
  try {
    accessSync(file, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function freeBytes(dir: string): number | undefined {
  // The cache may not exist yet: measure the nearest folder that does.
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(d)) {
      try {
        const s = statfsSync(d);
        return s.bavail * s.bsize;
      } catch {
        return undefined;
      }
    }
    if (path.dirname(d) === d) return undefined;
  }
}

export function doctorText(r: DoctorReport): string {
  const lines = [`Hardening Lab on ${r.os}:`];
  for (const c of r.checks) {
    lines.push(`  ${c.ok ? 'ok  ' : c.need === 'optional' ? 'info' : 'MISS'}  ${c.title}: ${c.detail}`);
    if (!c.ok && c.fix) lines.push(`        fix: ${c.fix}`);
  }
  lines.push(`  image: ${r.imagePathWhy}`);
  lines.push(r.ready ? 'Ready.' : 'Not ready: fix the MISS lines above first.');
  return lines.join('\n');
}
