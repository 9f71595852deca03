/** The prebuilt CLI: bundled like the Electron main, used by `hlab` only while newer than the sources. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleCli } from '../../build/bundle-cli.js';
import { newerThanInputs } from '../../electron/host/bundle-fresh.mjs';

const root = path.resolve(import.meta.dirname, '..', '..');
const hlab = path.join(root, 'electron/host/hlab.mjs');
const bundle = path.join(root, 'dist/cli/hlab.mjs');
const home = mkdtempSync(path.join(os.tmpdir(), 'hlab-clibundle-'));
const run = (...args: string[]) =>
  spawnSync(process.execPath, [hlab, ...args], {
    encoding: 'utf8',
    env: { ...process.env, HLAB_HOME: home },
  });

describe('prebuilt CLI', () => {
  beforeAll(async () => {
    await bundleCli();
  }, 60_000);

  it('runs from the bundle: help, the step library (labs/ found from dist/), a usage error exits 2', () => {
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('machine add');
    const steps = run('steps', 'list', '--json');
    expect(steps.status, steps.stderr).toBe(0);
    expect((JSON.parse(steps.stdout) as unknown[]).length).toBeGreaterThan(5);
    expect(run('machine', 'frobnicate').status).toBe(2);
  });

  it("bundles exec's fast path small, without an SSH library; with no keeper, exec goes to the full CLI", () => {
    const fast = path.join(root, 'dist/cli/exec-fast.mjs');
    expect(statSync(fast).size).toBeLessThan(32 * 1024);
    expect(readFileSync(fast, 'utf8')).not.toMatch(/from ['"]ssh2['"]/);
    // No machine, no keeper: the full CLI answers, with its error.
    const r = run('exec', 'ghost', '--', 'true');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('No machine named "ghost"');
  });

  it("checks the fast path's freshness against its own inputs only, listed at build time", () => {
    const fast = path.join(root, 'dist/cli/exec-fast.mjs');
    const inputs = JSON.parse(readFileSync(`${fast}.inputs.json`, 'utf8')) as string[];
    expect(inputs).toEqual(
      expect.arrayContaining(['electron/host/exec-fast.ts', 'electron/ssh/keeper-client.ts']),
    );
    expect(inputs.length).toBeLessThan(20);
    expect(newerThanInputs(fast, root)).toBe(true);
    // One of its inputs edited after the build: stale, whatever the rest of the tree says.
    const input = path.join(root, 'electron/ssh/keeper-client.ts');
    const was = statSync(input).mtime;
    const later = new Date(statSync(fast).mtimeMs + 60_000);
    utimesSync(input, later, later);
    try {
      expect(newerThanInputs(fast, root)).toBe(false);
    } finally {
      utimesSync(input, was, was);
    }
    // No list beside the bundle (one built before lists existed): never trusted.
    expect(newerThanInputs(path.join(root, 'dist/cli/hlab.mjs'), root)).toBe(false);
  });

  it('falls back to the TypeScript sources when one is newer than the bundle', () => {
    const built = statSync(bundle).mtime;
    const older = new Date(built.getTime() - 60_000);
    utimesSync(bundle, older, older);
    try {
      // A source newer than the bundle: the tsx path (no stale code) must still answer.
      const r = run('--help');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('machine add');
    } finally {
      utimesSync(bundle, built, built);
    }
  });
});
