#!/usr/bin/env node
// `hlab`: runs the prebuilt bundle (dist/cli/hlab.mjs, made by `npm ci` / `npm test`) while it is
// newer than every source file; otherwise the TypeScript directly through tsx, so a fresh or
// edited checkout never runs stale code.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { newerThanInputs, newerThanSources } from './bundle-fresh.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bundle = path.join(root, 'dist', 'cli', 'hlab.mjs');
const fastExec = path.join(root, 'dist', 'cli', 'exec-fast.mjs');

// `hlab exec M -- CMD` through a running keeper: answered without loading the whole CLI.
const fastCode =
  process.argv[2] === 'exec' && newerThanInputs(fastExec, root)
    ? await (await import(fastExec)).execFast(process.argv.slice(2))
    : undefined;

if (fastCode !== undefined) {
  process.exitCode = fastCode;
} else if (newerThanSources(bundle, root)) {
  await import(bundle);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('./cli.ts');
  const { exitWhenDone } = await import('./cli-exit.ts');
  exitWhenDone(await main(process.argv.slice(2), undefined, fileURLToPath(import.meta.url)));
}
