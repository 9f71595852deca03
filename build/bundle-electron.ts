/**
 * Bundles the Electron main process and the sandboxed preload (which may only require
 * 'electron') into dist/electron/*.cjs. Runs without the Electron binary.
 */
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function bundleElectron(): Promise<void> {
  const common = {
    bundle: true,
    platform: 'node' as const,
    format: 'cjs' as const,
    target: 'node20',
    external: ['electron', 'ssh2', 'cpu-features'],
    logLevel: 'warning' as const,
  };
  // CJS has no import.meta: give the bundle a real import.meta.url (app-root.ts walks up from it).
  await build({
    ...common,
    entryPoints: [path.join(root, 'electron/app/main.ts')],
    outfile: path.join(root, 'dist/electron/main.cjs'),
    define: { 'import.meta.url': 'importMetaUrl' },
    banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
  await build({
    ...common,
    entryPoints: [path.join(root, 'electron/app/preload.ts')],
    outfile: path.join(root, 'dist/electron/preload.cjs'),
    external: ['electron'],
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await bundleElectron();
}
