/** Long data folders and odd characters must not break QEMU's command line (security review L11). */
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MachineStore } from '../../electron/providers/qemu/machine-store.js';
import { qemuOptValue, socketPath, SUN_PATH_MAX } from '../../electron/platform/socket-path.js';

describe('QMP socket paths and QEMU option values', () => {
  it('a 63-character machine name under a deep home still gets a socket path within sun_path', () => {
    const deep = path.join(
      mkdtempSync(path.join(os.tmpdir(), 'hlab-')),
      '.config',
      'hardening-lab',
      'machines',
    );
    const name = 'm'.repeat(63);
    const qmp = new MachineStore(deep).files(name).qmp;
    expect(Buffer.byteLength(qmp)).toBeLessThanOrEqual(SUN_PATH_MAX - 1);
    expect(new MachineStore(deep).files(name).qmp).toBe(qmp); // stable: a restarted app re-attaches
    expect(new MachineStore(deep).files('short').qmp).toBe(path.join(deep, 'short', 'qmp.sock'));
  });

  it('refuses a shared folder that is not private', () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'hlab-tmp-'));
    socketPath('/x'.repeat(80), tmp);
    chmodSync(path.join(tmp, `hlab-${process.getuid?.() ?? 0}`), 0o777);
    expect(() => socketPath('/x'.repeat(80), tmp)).toThrow(/not a private folder/);
  });

  it('doubles commas inside QEMU option values (a comma in HLAB_HOME)', () => {
    expect(qemuOptValue('/home/a,b/disk.qcow2')).toBe('/home/a,,b/disk.qcow2');
    expect(`file=${qemuOptValue('/x,if=floppy')},if=virtio`).toBe('file=/x,,if=floppy,if=virtio');
  });
});
