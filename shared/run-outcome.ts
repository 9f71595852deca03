/**
 * A run's outcome as a person reads it. The journal's status says "failed" for any rolled-back
 * step, but a rollback that worked is the lab doing its job: the machine is healthy and the other
 * steps validated. Only a broken run (an error, a change that did not survive the final reboot)
 * reads as failed.
 */
import type { StepOutcome } from './runs.js';

export type RunStatus = 'running' | 'validated' | 'failed' | 'cancelled' | 'error' | 'interrupted';
export type Tone = 'ok' | 'warn' | 'bad' | 'busy' | 'neutral';

export interface RunOutcome {
  label: string;
  tone: Tone;
}

export function runOutcome(run: {
  status: RunStatus;
  steps: ReadonlyArray<{ outcome?: StepOutcome }>;
  persistent?: boolean;
}): RunOutcome {
  const rolledBack = run.steps.filter((s) => s.outcome === 'rolled-back').length;
  const unfinished = run.steps.filter((s) => s.outcome === undefined).length;
  switch (run.status) {
    case 'running':
      return { label: 'running', tone: 'busy' };
    case 'validated':
      return { label: 'validated', tone: 'ok' };
    case 'cancelled':
      return { label: 'cancelled', tone: 'neutral' };
    case 'failed':
      if (rolledBack > 0 && run.persistent !== false)
        return {
          label: `${unfinished > 0 ? 'stopped' : 'completed'}, ${rolledBack} rolled back`,
          tone: 'warn',
        };
      return { label: 'failed', tone: 'bad' };
    default:
      return { label: run.status, tone: 'bad' };
  }
}
