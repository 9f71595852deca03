/**
 * One changing job per machine, two `hlab` processes on one REAL VM (ux review I-2): while one
 * process runs a recipe, another's restore and bench are refused at once, naming the run and
 * where it came from; once the running process is killed outright, the machine is free again.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABS_DIR } from '../../electron/steps/load.js';
import { IMAGE_DIR, newHome } from './vm-env.js';

const M = 'jobs1';
const home = newHome('jobs-vm');
const env = { ...process.env, HLAB_HOME: home, HLAB_IMAGE_DIR: IMAGE_DIR, HLAB_KEEP_CONNECTIONS: '0' };
const hlab = (...args: string[]) =>
  spawnSync(process.execPath, ['electron/host/hlab.mjs', ...args], {
    env,
    encoding: 'utf8',
    timeout: 600_000,
  });

/** The library plus one step that takes its time, so a second process meets a machine in use. */
function labsWithSlowStep(): string {
  const labs = path.join(home, 'labs');
  cpSync(LABS_DIR, labs, { recursive: true });
  writeFileSync(
    path.join(labs, 'steps', 'slow-step.yaml'),
    `id: slow-step\ntitle: Takes a minute\narea: bench\nrisk: none\napply: sleep 60\nverify:\n  - name: ok\n    run: 'true'\n`,
  );
  mkdirSync(path.join(labs, 'recipes'), { recursive: true });
  writeFileSync(
    path.join(labs, 'recipes', 'slow.yaml'),
    `id: slow\ntitle: Slow\nbase: debian-12\nsteps:\n  - step: slow-step\n`,
  );
  return labs;
}

beforeAll(() => {
  const r = hlab('machine', 'create', M, '--ready');
  if (r.status !== 0) throw new Error(r.stderr);
  expect(hlab('snapshot', 'take', M, 'clean').status).toBe(0);
}, 600_000);
afterAll(() => {
  hlab('machine', 'rm', M);
});

describe('one job per machine across processes', { timeout: 300_000 }, () => {
  it('refuses a restore and a bench while another process runs a recipe, until that process dies', async () => {
    const run = spawn(
      process.execPath,
      ['electron/host/hlab.mjs', 'run', 'slow', '--machine', M, '--labs', labsWithSlowStep()],
      {
        env,
        stdio: 'ignore',
      },
    );
    // Its output is buffered when not on a terminal: ask the journal, as a user would.
    await expect
      .poll(() => hlab('runs', 'list').stdout, { timeout: 120_000, interval: 1000 })
      .toMatch(/slow\s+jobs1\s+running/);

    const restore = hlab('snapshot', 'restore', M, 'clean');
    expect(restore.status).toBe(2);
    expect(restore.stderr).toMatch(
      /jobs1 is busy: run of slow started \d\d:\d\d from the CLI — cancel it or wait\./,
    );
    const bench = hlab('bench', M, '--tool', 'checks');
    expect(bench.status).toBe(2);
    expect(bench.stderr).toContain('jobs1 is busy: run of slow');

    // Killed outright: no cleanup runs, and still the machine is not kept.
    run.kill('SIGKILL');
    await new Promise((resolve) => run.once('exit', resolve));
    const after = hlab('snapshot', 'restore', M, 'clean');
    expect(after.stderr).not.toContain('busy');
    expect(after.status).toBe(0);
    expect(after.stdout).toContain('restored clean on jobs1');
  });
});
