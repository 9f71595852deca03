/**
 * One changing job per machine across processes (ux review I-2): a second job is refused at once
 * with who holds the machine and since when, and a holder that died does not keep it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HlabError } from '../../shared/errors.js';
import { MachineJobs } from '../../electron/machines/machine-jobs.js';

const newDir = () => mkdtempSync(path.join(os.tmpdir(), 'hlab-jobs-'));
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err as HlabError;
  }
  throw new Error('not refused');
};

describe('machine jobs', () => {
  it('refuses a second job naming the first, and frees the machine when the first ends', () => {
    const jobs = new MachineJobs(newDir());
    const release = jobs.acquire('ux1', 'lynis bench', 'the app');
    const err = refusal(() => jobs.acquire('ux1', 'run of demo', 'the CLI'));
    expect(err.code).toBe('busy');
    expect(err.message).toMatch(
      /^ux1 is busy: lynis bench started \d\d:\d\d from the app — cancel it or wait\.$/,
    );
    jobs.acquire('ux2', 'run of demo', 'the CLI')();
    release();
    release();
    jobs.acquire('ux1', 'run of demo', 'the CLI')();
  });

  it('a holder whose process died does not keep the machine', () => {
    const dir = newDir();
    const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const pid = Number(gone.stdout.trim());
    writeFileSync(
      path.join(dir, 'ux1.json'),
      JSON.stringify({
        machine: 'ux1',
        job: 'lynis bench',
        from: 'the app',
        pid,
        startedAt: new Date().toISOString(),
        token: 't',
      }),
    );
    const release = new MachineJobs(dir).acquire('ux1', 'run of demo', 'the CLI');
    expect(new MachineJobs(dir).holder('ux1')).toMatchObject({ job: 'run of demo', pid: process.pid });
    release();
  });

  it('holds across processes: another process is refused until the holder is killed', async () => {
    const dir = newDir();
    // Node itself with tsx's loader (not the tsx CLI, whose child would outlive a kill of it).
    const holder = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { MachineJobs } from ${JSON.stringify(path.resolve('electron/machines/machine-jobs.ts'))};
         new MachineJobs(${JSON.stringify(dir)}).acquire('ux1', 'lynis bench', 'the app');
         console.log('held'); setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) =>
      holder.stdout.on('data', (d: Buffer) => d.includes('held') && resolve()),
    );
    const jobs = new MachineJobs(dir);
    expect(refusal(() => jobs.acquire('ux1', 'restore of snapshot clean', 'the CLI')).message).toContain(
      'ux1 is busy: lynis bench started',
    );
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    jobs.acquire('ux1', 'restore of snapshot clean', 'the CLI')();
  });
});
