/**
 * The Electron main process is bundled to CJS, where import.meta does not exist. Load the real
 * bundle with a stand-in `electron` module (the binary is not installable here) so its
 * module-level code — app paths, package.json, labs/ — runs as it would in the app.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleElectron } from '../../build/bundle-electron.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const require = createRequire(import.meta.url);

describe('Electron main bundle', () => {
  beforeAll(async () => {
    await bundleElectron();
  }, 60_000);

  it('keeps a real import.meta.url', () => {
    const text = readFileSync(path.join(root, 'dist/electron/main.cjs'), 'utf8');
    expect(text).not.toContain('import_meta = {}');
  });

  it('loads with a stand-in electron and asks for the single-instance lock', () => {
    const Module = require('node:module') as { _load: (req: string, ...rest: unknown[]) => unknown };
    const original = Module._load;
    const calls: string[] = [];
    const app = {
      requestSingleInstanceLock: () => {
        calls.push('lock');
        return true;
      },
      on: () => app,
      whenReady: () => new Promise(() => undefined),
      quit: () => calls.push('quit'),
      name: 'hardening-lab',
    };
    Module._load = (req: string, ...rest: unknown[]) =>
      req === 'electron' ? { app } : original(req, ...rest);
    try {
      require(path.join(root, 'dist/electron/main.cjs'));
    } finally {
      Module._load = original;
    }
    expect(calls).toEqual(['lock']);
  });
});
