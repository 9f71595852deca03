/**
 * A trainee's progress, one JSON file per machine under $HLAB_HOME/workshops/progress/, written
 * atomically after every change so an app restart resumes where the trainee was. The transitions
 * are pure functions of the progress: easy to test without a VM.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../shared/errors.js';
import type { ChallengeProgress, WorkshopDef, WorkshopProgress } from '../../shared/workshops.js';

export const PROGRESS_FORMAT = 'hlab-workshop-progress/1';

export function newProgress(w: WorkshopDef, trainee: string, machine: string, now: Date): WorkshopProgress {
  const at = now.toISOString();
  return {
    format: PROGRESS_FORMAT,
    workshop: w.id,
    workshopTitle: w.title,
    trainee,
    machine,
    startedAt: at,
    updatedAt: at,
    current: 0,
    challenges: w.challenges.map((c, i) => ({
      id: c.id,
      status: i === 0 ? 'current' : 'locked',
      attempts: 0,
      hintsShown: 0,
      resets: 0,
      solveUsed: false,
      ...(i === 0 ? { startedAt: at } : {}),
    })),
  };
}

/** The challenge being worked on, or a conflict once every challenge has passed. */
export function currentChallenge(p: WorkshopProgress): ChallengeProgress {
  const c = p.challenges[p.current];
  if (!c)
    throw new HlabError(
      'conflict',
      `Every challenge of workshop "${p.workshop}" on "${p.machine}" has passed.`,
      {
        machine: p.machine,
      },
    );
  return c;
}

function touch(p: WorkshopProgress, now: Date, patch: Partial<ChallengeProgress>): WorkshopProgress {
  const challenges = p.challenges.map((c, i) => (i === p.current ? { ...c, ...patch } : c));
  return { ...p, challenges, updatedAt: now.toISOString() };
}

/** Records a check: a pass completes the challenge and opens the next one. */
export function recordCheck(
  p: WorkshopProgress,
  pass: boolean,
  failures: string[],
  now: Date,
): WorkshopProgress {
  const c = currentChallenge(p);
  const at = now.toISOString();
  if (!pass) return touch(p, now, { attempts: c.attempts + 1, lastFail: failures });
  const done = touch(p, now, {
    attempts: c.attempts + 1,
    status: 'passed',
    passedAt: at,
    lastFail: undefined,
  });
  const next = p.current + 1;
  const challenges = done.challenges.map((x, i) =>
    i === next ? { ...x, status: 'current' as const, startedAt: at } : x,
  );
  return {
    ...done,
    challenges,
    current: next,
    ...(next >= p.challenges.length ? { finishedAt: at } : {}),
  };
}

export const recordHint = (p: WorkshopProgress, now: Date): WorkshopProgress =>
  touch(p, now, { hintsShown: currentChallenge(p).hintsShown + 1 });

export const recordReset = (p: WorkshopProgress, now: Date): WorkshopProgress =>
  touch(p, now, { resets: currentChallenge(p).resets + 1, lastFail: undefined });

export const recordSolve = (p: WorkshopProgress, now: Date): WorkshopProgress =>
  touch(p, now, { solveUsed: true });

/** The snapshot taken when challenge `index` started (reset restores it). */
export const challengeSnapshot = (index: number) => `ws-start-${index + 1}`;

/** Checks that a file (perhaps a trainee's export) really is a progress record before using it. */
export function parseProgress(text: string, where: string): WorkshopProgress {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new HlabError('bad-request', `${where}: not JSON (${(err as Error).message}).`);
  }
  const p = v as Partial<WorkshopProgress>;
  const bad = (field: string) =>
    new HlabError('bad-request', `${where}: ${field}: not a workshop progress record (${PROGRESS_FORMAT}).`);
  if (!p || typeof p !== 'object' || p.format !== PROGRESS_FORMAT) throw bad('format');
  for (const f of ['workshop', 'workshopTitle', 'trainee', 'machine', 'startedAt', 'updatedAt'] as const)
    if (typeof p[f] !== 'string' || (p[f] as string).length > 200) throw bad(f);
  if (!Array.isArray(p.challenges) || p.challenges.length > 100) throw bad('challenges');
  if (
    typeof p.current !== 'number' ||
    !Number.isInteger(p.current) ||
    p.current < 0 ||
    p.current > p.challenges.length
  )
    throw bad('current');
  p.challenges.forEach((c, i) => {
    if (
      !c ||
      typeof c !== 'object' ||
      typeof c.id !== 'string' ||
      !['locked', 'current', 'passed'].includes(c.status)
    )
      throw bad(`challenges[${i}]`);
    for (const n of ['attempts', 'hintsShown', 'resets'] as const)
      if (typeof c[n] !== 'number' || !Number.isInteger(c[n]) || c[n] < 0) throw bad(`challenges[${i}].${n}`);
    if (typeof c.solveUsed !== 'boolean') throw bad(`challenges[${i}].solveUsed`);
  });
  return p as WorkshopProgress;
}

export class ProgressStore {
  constructor(private readonly dir: string) {}

  private file(machine: string): string {
    return path.join(this.dir, `${machine}.json`);
  }

  get(machine: string): WorkshopProgress | undefined {
    const f = this.file(machine);
    if (!existsSync(f)) return undefined;
    return parseProgress(readFileSync(f, 'utf8'), f);
  }

  require(machine: string): WorkshopProgress {
    const p = this.get(machine);
    if (!p)
      throw new HlabError(
        'not-found',
        `Machine "${machine}" runs no workshop (start one: hlab workshop start ID).`,
        {
          machine,
        },
      );
    return p;
  }

  save(p: WorkshopProgress): WorkshopProgress {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const f = this.file(p.machine);
    writeFileSync(`${f}.tmp`, JSON.stringify(p, null, 2), { mode: 0o600 });
    renameSync(`${f}.tmp`, f);
    return p;
  }

  remove(machine: string): void {
    rmSync(this.file(machine), { force: true });
  }

  /** Every session; a damaged file is skipped here (status on that machine names the problem). */
  list(): WorkshopProgress[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.json'))
      .flatMap((f) => {
        try {
          return [parseProgress(readFileSync(path.join(this.dir, f), 'utf8'), f)];
        } catch {
          return [];
        }
      });
  }
}
