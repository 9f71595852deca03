/**
 * Bundles the `hlab` CLI into dist/cli/hlab.mjs (and its `exec` fast path into exec-fast.mjs), so that scripts calling it hundreds of times do
 * not pay for transpiling TypeScript at every start (tsx). electron/host/hlab.mjs uses the bundle
 * while it is newer than every source file, and falls back to tsx otherwise. Runs on `npm ci`
 * (prepare) and in `npm test`.
 */
import { build } from 'esbuild';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** One ESM bundle for Node 20 from an entry of electron/host/ into dist/cli/. */
const bundle = (entry: string, out: string, more: Parameters<typeof build>[0] = {}) =>
  build({
    entryPoints: [path.join(root, 'electron/host', entry)],
    outfile: path.join(root, 'dist/cli', out),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    absWorkingDir: root,
    ...more,
  });

export async function bundleCli(): Promise<void> {
  // The fast path for `hlab exec` through a keeper: a few kilobytes, no SSH library. Its inputs are
  // listed beside it, so `hlab` checks its freshness with a few stats (bundle-fresh.mjs).
  const fast = await bundle('exec-fast.ts', 'exec-fast.mjs', { metafile: true });
  writeFileSync(
    path.join(root, 'dist/cli/exec-fast.mjs.inputs.json'),
    `${JSON.stringify(Object.keys(fast.metafile?.inputs ?? {}), null, 1)}\n`,
  );
  await bundle('cli-entry.ts', 'hlab.mjs', {
    // ssh2's optional native binding is resolved at run time; ws and yaml bundle fine.
    external: ['ssh2', 'cpu-features', 'electron'],
    // Bundled CommonJS dependencies call require(): give the ESM bundle one.
    banner: {
      js: "import { createRequire as __hlabRequire } from 'node:module'; const require = __hlabRequire(import.meta.url);",
    },
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await bundleCli();
}
