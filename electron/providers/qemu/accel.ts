/**
 * Accelerator choice. `auto` PROBES that KVM really boots our image (a /dev/kvm that exists but
 * hangs, as under some nested setups, must fall back to TCG rather than hang the app); the
 * verdict is cached per QEMU version + host kernel.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { HlabError } from '../../../shared/errors.js';

export type Accel = 'kvm' | 'hvf' | 'tcg';
export type AccelSetting = Accel | 'auto';

export function accelArgs(accel: Accel): string[] {
  if (accel === 'kvm') return ['-accel', 'kvm', '-cpu', 'host'];
  if (accel === 'hvf') return ['-accel', 'hvf', '-cpu', 'host'];
  return ['-accel', 'tcg,thread=multi,tb-size=256', '-cpu', 'max'];
}

export function parseAccelSetting(v: string | undefined): AccelSetting {
  if (v === undefined || v === '') return 'auto';
  if (v === 'auto' || v === 'kvm' || v === 'hvf' || v === 'tcg') return v;
  throw new HlabError('bad-request', `HLAB_ACCEL must be auto, kvm, hvf or tcg (got "${v}").`);
}

function kvmUsable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Boots the image read-only (-snapshot) under KVM and waits for a login prompt on the serial port. */
async function probeKvm(qemu: string, image: string, workDir: string, timeoutMs: number): Promise<boolean> {
  mkdirSync(workDir, { recursive: true });
  const serial = path.join(workDir, 'kvm-probe.serial.log');
  rmSync(serial, { force: true });
  const child = spawn(
    qemu,
    [
      '-accel',
      'kvm',
      '-cpu',
      'host',
      '-machine',
      'pc',
      '-m',
      '512',
      '-smp',
      '1',
      '-snapshot',
      '-drive',
      `file=${image},if=virtio,format=qcow2,readonly=off`,
      '-serial',
      `file:${serial}`,
      '-display',
      'none',
      '-nodefaults',
      '-no-reboot',
    ],
    { stdio: 'ignore' },
  );
  const started = Date.now();
  try {
    while (Date.now() - started < timeoutMs) {
      await new Promise((r) => setTimeout(r, 500));
      if (child.exitCode !== null) return false;
      if (existsSync(serial) && /login:|Reached target.*Multi-User/i.test(readFileSync(serial, 'utf8')))
        return true;
    }
    return false;
  } finally {
    child.kill('SIGKILL');
  }
}

/** What the last KVM probe decided for this QEMU and host kernel, if it ran. */
export function cachedAccelVerdict(cacheDir: string, qemuVersion: string): Accel | undefined {
  try {
    const cached = JSON.parse(readFileSync(path.join(cacheDir, 'accel-probe.json'), 'utf8')) as Record<
      string,
      Accel
    >;
    const v = cached[`${qemuVersion}|${os.release()}`];
    return v === 'kvm' || v === 'tcg' ? v : undefined;
  } catch {
    return undefined;
  }
}

export async function resolveAccel(opts: {
  setting: AccelSetting;
  qemu: string;
  qemuVersion: string;
  image: string;
  cacheDir: string;
}): Promise<Accel> {
  if (opts.setting !== 'auto') return opts.setting;
  if (process.platform === 'darwin') return 'hvf';
  if (process.platform !== 'linux' || !kvmUsable()) return 'tcg';
  const cached = cachedAccelVerdict(opts.cacheDir, opts.qemuVersion);
  if (cached) return cached;
  const cacheFile = path.join(opts.cacheDir, 'accel-probe.json');
  const key = `${opts.qemuVersion}|${os.release()}`;
  const ok = await probeKvm(opts.qemu, opts.image, opts.cacheDir, 45_000);
  const verdict: Accel = ok ? 'kvm' : 'tcg';
  mkdirSync(opts.cacheDir, { recursive: true });
  writeFileSync(cacheFile, JSON.stringify({ [key]: verdict }, null, 2));
  return verdict;
}
