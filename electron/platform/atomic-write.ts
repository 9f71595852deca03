/**
 * One way to replace a file: a reader (another hlab process, the app after a crash) sees the old
 * content or the new, never half of it. The temporary name carries this process's pid, so two
 * processes writing the same file never write into one temporary file.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  o: { mode?: number; dirMode?: number } = {},
): void {
  mkdirSync(path.dirname(file), { recursive: true, ...(o.dirMode !== undefined ? { mode: o.dirMode } : {}) });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, o.mode !== undefined ? { mode: o.mode } : {});
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
