#!/usr/bin/env node
// `hlab`: runs the prebuilt bundle (dist/cli/hlab.mjs, made by `npm ci` / `npm test`) while it is
// newer than every source file; otherwise the TypeScript directly through tsx, so a fresh or
// edited checkout never runs stale code.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bundle = path.join(root, 'dist', 'cli', 'hlab.mjs');
const fastExec = path.join(root, 'dist', 'cli', 'exec-fast.mjs');

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (/\.(ts|mjs|json)$/.test(e.name)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function bundleIsFresh(file = bundle) {
  try {
    const built = statSync(file).mtimeMs;
    return ['electron', 'shared'].every((d) => newestSource(path.join(root, d)) <= built);
  } catch {
    return false;
  }
}

// `hlab exec M -- CMD` through a running keeper: answered without loading the whole CLI.
const fastCode =
  process.argv[2] === 'exec' && bundleIsFresh(fastExec)
    ? await (await import(fastExec)).execFast(process.argv.slice(2))
    : undefined;

if (fastCode !== undefined) {
  process.exitCode = fastCode;
} else if (bundleIsFresh()) {
  await import(bundle);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('./cli.ts');
  const { exitWhenDone } = await import('./cli-exit.ts');
  exitWhenDone(await main(process.argv.slice(2), undefined, fileURLToPath(import.meta.url)));
}
