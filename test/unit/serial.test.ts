/** Reading a crashed guest's serial console: the panic line is named even when its trace scrolled it away. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { haltedOnPanic, kernelPanic, serialTail } from '../../electron/providers/qemu/process.js';
import { guestRebooted } from '../../electron/providers/qemu/provider.js';

// Shape recorded from our guest with `init=/bin/false panic=1` (trace shortened).
const PANIC = [
  '[   11.2] Run /bin/false as init process',
  '[   11.3] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100',
  '[   11.3] CPU: 0 PID: 1 Comm: false Not tainted 6.1.0-47-cloud-amd64 #1  Debian 6.1.192-2',
  ...Array.from({ length: 30 }, (_, i) => `[   11.3]  frame_${i}+0x55/0x80`),
  '[   11.3] Kernel Offset: 0x16c00000 from 0xffffffff81000000',
  '[   11.3] Rebooting in 1 seconds..',
].join('\n');

describe('serial console', () => {
  it('finds the panic line that the last 15 lines no longer show', () => {
    const f = path.join(mkdtempSync(path.join(os.tmpdir(), 'hlab-serial-')), 'serial.log');
    writeFileSync(f, PANIC);
    expect(serialTail(f)).not.toContain('Kernel panic');
    expect(kernelPanic(serialTail(f, 400))).toBe(
      'Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100',
    );
    expect(guestRebooted(serialTail(f))).toBe(false);
  });
  it('tells a clean guest reboot from a crash', () => {
    expect(
      kernelPanic('[ 5.0] systemd-shutdown[1]: Rebooting.\n[ 5.1] reboot: Restarting system'),
    ).toBeUndefined();
    expect(guestRebooted('[ 5.0] systemd-shutdown[1]: Rebooting.\n[ 5.1] reboot: Restarting system')).toBe(
      true,
    );
  });
  it('tells a guest halted on a panic (panic=0) from one that printed on after it', () => {
    // Recorded: Debian's 6.12 backports kernel under QEMU 7.2 TCG (trace shortened).
    const halted = [
      '[    1.838991] Oops: double fault: 0000 [#1] PREEMPT SMP NOPTI',
      '[    1.838991] RIP: 0010:kmem_cache_alloc_noprof+0xc3/0x2f0',
      '[    1.838991] Kernel panic - not syncing: Fatal exception in interrupt',
      '[    1.838991] Kernel Offset: 0x3c00000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)',
      '[    1.838991] ---[ end Kernel panic - not syncing: Fatal exception in interrupt ]---',
      '',
    ].join('\r\n');
    const f = path.join(mkdtempSync(path.join(os.tmpdir(), 'hlab-serial-')), 'serial.log');
    writeFileSync(f, halted);
    expect(haltedOnPanic(serialTail(f, 3))).toBe('Kernel panic - not syncing: Fatal exception in interrupt');
    // panic=1 reboots (QEMU exits); printing after the marker means the guest is not halted.
    expect(haltedOnPanic(serialTail(f, 3) + '\n[   12.0] systemd[1]: Started')).toBeUndefined();
    expect(haltedOnPanic(PANIC)).toBeUndefined();
  });
});
