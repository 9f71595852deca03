/**
 * At most one job that changes a machine at a time (a run, a bench, a restore, a workshop check or
 * Reset, a shutdown), across every process sharing $HLAB_HOME: the CLI, the web host and the app.
 * A second job is refused at once, naming who holds the machine and since when; a holder whose
 * process died does not keep it. A job is a file created with O_EXCL in `$HLAB_HOME/jobs/`.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../shared/errors.js';
import { processStartTime } from '../platform/pids.js';

export interface MachineJob {
  machine: string;
  /** What it does, for the refusal: "lynis bench", "run of container-host-baseline". */
  job: string;
  /** Who started it: "the CLI", "the app", "seat 3". */
  from: string;
  pid: number;
  /** The holder's start time: a recycled pid is not the holder. */
  pidStart?: string;
  startedAt: string;
  token: string;
}

const clock = (iso: string) => new Date(iso).toTimeString().slice(0, 5);

/** This process's own start time: read once, it never changes. */
const OWN_START = processStartTime(process.pid);

export function busyError(holder: MachineJob): HlabError {
  return new HlabError(
    'busy',
    `${holder.machine} is busy: ${holder.job} started ${clock(holder.startedAt)} from ${holder.from} — cancel it or wait.`,
    { machine: holder.machine, job: holder.job, from: holder.from, startedAt: holder.startedAt },
  );
}

function readJob(file: string): MachineJob | undefined {
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as MachineJob;
    return typeof j.pid === 'number' && typeof j.token === 'string' ? j : undefined;
  } catch {
    return undefined;
  }
}

function holderAlive(j: MachineJob): boolean {
  try {
    process.kill(j.pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const start = processStartTime(j.pid);
  return j.pidStart === undefined || start === undefined || start === j.pidStart;
}

export class MachineJobs {
  constructor(private readonly dir: string) {}

  private file(machine: string): string {
    // Machine names are checked before they get here (letters, digits, ".", "_", "-").
    return path.join(this.dir, `${machine}.json`);
  }

  /** Who holds `machine` now, if anyone alive does. */
  holder(machine: string): MachineJob | undefined {
    const j = readJob(this.file(machine));
    return j && holderAlive(j) ? j : undefined;
  }

  /** Takes the machine or throws `busy`; the returned function gives it back (idempotent). */
  acquire(machine: string, job: string, from: string): () => void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = this.file(machine);
    const mine: MachineJob = {
      machine,
      job,
      from,
      pid: process.pid,
      ...(OWN_START ? { pidStart: OWN_START } : {}),
      startedAt: new Date().toISOString(),
      token: randomUUID(),
    };
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        writeFileSync(file, JSON.stringify(mine), { flag: 'wx', mode: 0o600 });
        return () => {
          if (readJob(file)?.token === mine.token) rmSync(file, { force: true });
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const held = readJob(file);
      if (held && holderAlive(held)) throw busyError(held);
      // Its process died (or the file is torn): the machine is free.
      rmSync(file, { force: true });
    }
    const held = readJob(file);
    throw held ? busyError(held) : new HlabError('busy', `${machine} is busy: another job just took it.`);
  }

  async hold<T>(machine: string, job: string, from: string, fn: () => Promise<T>): Promise<T> {
    const release = this.acquire(machine, job, from);
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
