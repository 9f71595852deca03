import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';

/** A tool's path on PATH, or in /usr/sbin (not on an ordinary user's PATH on Debian), else undefined. */
export function which(tool: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const p = path.join(dir, tool);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not in this folder
    }
  }
  return existsSync(`/usr/sbin/${tool}`) ? `/usr/sbin/${tool}` : undefined;
}

/** What building a base image needs on the host besides root and loop devices. */
export const IMAGE_BUILD_TOOLS = ['mmdebstrap', 'sfdisk', 'mkfs.ext4'] as const;
