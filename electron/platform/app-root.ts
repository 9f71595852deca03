/**
 * The folder holding our package.json: the repo in development, the app folder when packaged.
 * Found by walking up, because source modules (electron/**) and the Electron bundle
 * (dist/electron/main.cjs) sit at different depths below it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function appRoot(): string {
  if (cached) return cached;
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (
      existsSync(pkg) &&
      (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'hardening-lab'
    ) {
      cached = dir;
      return dir;
    }
    if (path.dirname(dir) === dir)
      throw new Error(`The hardening-lab package.json was not found above ${start}.`);
  }
}

export const appPath = (...parts: string[]): string => path.join(appRoot(), ...parts);
