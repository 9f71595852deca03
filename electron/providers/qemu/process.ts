/** Liveness of a daemonized QEMU through its pidfile, and the serial tail for crash messages. */
import { existsSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { processRuns } from '../../platform/pids.js';

export { processRuns, readPid } from '../../platform/pids.js';

export const isQemuAlive = (pid: number | undefined): boolean => processRuns(pid, 'qemu-system');

/**
 * systemd colours its console output; strip the escapes before showing serial lines to users.
 * A literal: the guest's serial text is only ever the input, never part of the pattern.
 */
// eslint-disable-next-line no-control-regex -- ESC is exactly what this pattern matches
const ANSI_ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** The kernel's own verdict in the serial log ("Kernel panic - not syncing: …"), if it panicked. */
export function kernelPanic(serial: string): string | undefined {
  const all = [...serial.matchAll(/Kernel panic - not syncing: [^\n]*/g)];
  return all.at(-1)?.[0].trim();
}

/**
 * A guest halted on a panic: with panic=0 (Debian's default) the kernel stops after printing its
 * end marker and QEMU runs on around a dead guest, so liveness alone would wait out the boot
 * timeout. Only when the marker is the LAST line: a guest that printed on afterwards is not halted.
 */
export function haltedOnPanic(tail: string): string | undefined {
  const last = tail.trimEnd().split('\n').at(-1) ?? '';
  const m = /---\[ end (Kernel panic - not syncing: .*?) \]---$/.exec(last);
  return m?.[1];
}

export function serialTail(file: string, lines = 15): string {
  if (!existsSync(file)) return '';
  const size = statSync(file).size;
  const len = Math.min(size, 16 * 1024);
  const buf = Buffer.alloc(len);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, len, size - len);
  } finally {
    closeSync(fd);
  }
  const text = buf.toString('utf8').replace(ANSI_ESCAPES, '').replace(/\r/g, '');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .slice(-lines)
    .join('\n');
}
