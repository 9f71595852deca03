/**
 * The run journal: one JSON object per line, appended and fsync'ed BEFORE anyone is told, so a
 * crash or kill -9 loses nothing that was shown. A run without `run-finished` whose process is
 * gone is reported as interrupted.
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../shared/errors.js';
import type { RunEvent, RunSummary, StampedEvent } from '../../shared/runs.js';

export class Journal {
  private fd: number;
  private seq = 0;

  private constructor(
    readonly runId: string,
    readonly file: string,
  ) {
    this.fd = openSync(file, 'a', 0o600);
  }

  /** Appends to an existing run (recovery), continuing its sequence numbers. */
  static reopen(runsDir: string, runId: string): Journal {
    const events = readEvents(runsDir, runId);
    const file = path.join(runsDir, runId, 'journal.jsonl');
    // A kill -9 mid-write leaves a torn last line: end it first, or the next event merges into it.
    const size = statSync(file).size;
    if (size > 0) {
      const fd = openSync(file, 'r');
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      closeSync(fd);
      if (last[0] !== 0x0a) appendFileSync(file, '\n');
    }
    const j = new Journal(runId, file);
    j.seq = events.at(-1)?.seq ?? 0;
    return j;
  }

  static create(runsDir: string, runId: string): Journal {
    const dir = path.join(runsDir, runId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return new Journal(runId, path.join(dir, 'journal.jsonl'));
  }

  append(event: RunEvent): StampedEvent {
    this.seq += 1;
    const stamped = { ...event, at: new Date().toISOString(), seq: this.seq } as StampedEvent;
    writeSync(this.fd, JSON.stringify(stamped) + '\n');
    fsyncSync(this.fd);
    return stamped;
  }

  close(): void {
    closeSync(this.fd);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function readEvents(runsDir: string, runId: string): StampedEvent[] {
  const file = path.join(runsDir, runId, 'journal.jsonl');
  if (!existsSync(file)) throw new HlabError('not-found', `No run "${runId}".`);
  const events: StampedEvent[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as StampedEvent);
    } catch {
      // A torn last line from a crash mid-write: everything before it is intact.
    }
  }
  return events;
}

export function summarize(runId: string, events: StampedEvent[]): RunSummary {
  const start = events.find((e) => e.type === 'run-started');
  if (!start || start.type !== 'run-started')
    throw new HlabError('internal', `Run "${runId}" has no start event.`);
  const steps: RunSummary['steps'] = start.steps.map((step) => ({ step }));
  let status: RunSummary['status'] = 'running';
  let lastGood: string | undefined;
  let persistent: boolean | undefined;
  for (const e of events) {
    if (e.type === 'persist-check') persistent = (persistent ?? true) && e.pass;
    if (e.type === 'snapshot-taken') {
      steps[e.index] = { ...steps[e.index]!, snapshot: e.snapshot };
      lastGood = e.snapshot;
    }
    if (e.type === 'step-finished')
      steps[e.index] = { ...steps[e.index]!, outcome: e.outcome, ...(e.reason ? { reason: e.reason } : {}) };
    if (e.type === 'run-finished') status = e.status;
  }
  if (status === 'running' && !alive(start.pid)) status = 'interrupted';
  return {
    id: runId,
    recipe: start.recipe,
    machine: start.machine,
    startedAt: events[0]!.at,
    status,
    steps,
    ...(persistent !== undefined ? { persistent } : {}),
    ...(lastGood ? { lastGoodSnapshot: lastGood } : {}),
  };
}

export function listRuns(runsDir: string): RunSummary[] {
  if (!existsSync(runsDir)) return [];
  return readdirSync(runsDir)
    .sort()
    .reverse()
    .flatMap((id) => {
      try {
        return [summarize(id, readEvents(runsDir, id))];
      } catch {
        return [];
      }
    });
}
