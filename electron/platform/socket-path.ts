/**
 * Unix socket paths are limited to 107 bytes (sun_path). A deep data folder (a long home, a 63-
 * character machine name) would overflow it, so such sockets move to a short private folder.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HlabError } from '../../shared/errors.js';

export const SUN_PATH_MAX = 107;

export function socketPath(preferred: string, tmp = os.tmpdir()): string {
  if (Buffer.byteLength(preferred) <= SUN_PATH_MAX - 1) return preferred;
  const uid = process.getuid?.() ?? 0;
  const dir = path.join(tmp, `hlab-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  // A shared /tmp: the folder must be ours and closed to others, or someone could plant a socket.
  if (st.uid !== uid || (st.mode & 0o077) !== 0)
    throw new HlabError(
      'permission',
      `${dir} is not a private folder of this user; remove it and try again.`,
    );
  return path.join(dir, `${createHash('sha256').update(preferred).digest('hex').slice(0, 16)}.sock`);
}

/** A path inside a QEMU option list (`file=...,if=virtio`): a comma is written twice. */
export const qemuOptValue = (p: string): string => p.replace(/,/g, ',,');
