/** Recovery of a run whose process died: restore its last good snapshot and close its journal. */
import { HlabError } from '../../shared/errors.js';
import type { RunSummary, StampedEvent } from '../../shared/runs.js';
import type { EngineContext } from './context.js';
import { Journal, readEvents, summarize } from './journal.js';

export async function recoverRun(
  ctx: EngineContext,
  runId: string,
  onEvent?: (e: StampedEvent) => void,
): Promise<RunSummary> {
  const summary = summarize(runId, readEvents(ctx.paths.runs, runId));
  if (summary.status !== 'interrupted') {
    throw new HlabError(
      'vm-state',
      `Run "${runId}" is ${summary.status}, not interrupted: nothing to recover.`,
    );
  }
  if (!summary.lastGoodSnapshot) {
    throw new HlabError(
      'snapshot-not-found',
      `Run "${runId}" died before its first snapshot: the machine was not changed by it.`,
    );
  }
  const index = summary.steps.findIndex((s) => s.snapshot === summary.lastGoodSnapshot);
  const journal = Journal.reopen(ctx.paths.runs, runId);
  const emit = (e: Parameters<Journal['append']>[0]) => {
    const stamped = journal.append(e);
    onEvent?.(stamped);
  };
  const started = Date.now();
  emit({
    type: 'rollback-started',
    index,
    reason: 'recovering an interrupted run',
    snapshot: summary.lastGoodSnapshot,
  });
  ctx.terminals.closeMachine(
    summary.machine,
    `machine "${summary.machine}" is being restored after an interrupted run`,
  );
  await ctx.machines.restore(summary.machine, summary.lastGoodSnapshot, { start: true, timeoutMs: 180_000 });
  emit({ type: 'rollback-finished', index, healthy: true, durationMs: Date.now() - started });
  emit({
    type: 'step-finished',
    index,
    outcome: 'rolled-back',
    reason: 'the run was interrupted; restored on recovery',
    durationMs: Date.now() - started,
  });
  emit({
    type: 'run-finished',
    status: 'failed',
    message: `interrupted; recovered to snapshot ${summary.lastGoodSnapshot}`,
  });
  journal.close();
  await ctx.machines
    .owner(summary.machine)
    .snapshots.remove(summary.machine, summary.lastGoodSnapshot)
    .catch(() => undefined);
  return summarize(runId, readEvents(ctx.paths.runs, runId));
}
