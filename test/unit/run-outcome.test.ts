import { describe, expect, it } from 'vitest';
import { runOutcome } from '../../shared/run-outcome.js';

describe('a run outcome as a person reads it', () => {
  const v = { outcome: 'validated' as const };
  const rb = { outcome: 'rolled-back' as const };
  it('tells a rollback that worked from a broken run', () => {
    expect(runOutcome({ status: 'failed', steps: [v, rb, v] })).toEqual({
      label: 'completed, 1 rolled back',
      tone: 'warn',
    });
    // onFailure: stop leaves later steps unrun: the machine is healthy, the recipe did not finish.
    expect(runOutcome({ status: 'failed', steps: [rb, {}] })).toEqual({
      label: 'stopped, 1 rolled back',
      tone: 'warn',
    });
    // A change that did not survive the final reboot is a failure, rollbacks or not.
    expect(runOutcome({ status: 'failed', steps: [v, rb], persistent: false }).tone).toBe('bad');
    expect(runOutcome({ status: 'failed', steps: [v, v], persistent: false }).label).toBe('failed');
    expect(runOutcome({ status: 'error', steps: [rb] })).toEqual({ label: 'error', tone: 'bad' });
    expect(runOutcome({ status: 'interrupted', steps: [] }).tone).toBe('bad');
    expect(runOutcome({ status: 'validated', steps: [v] }).tone).toBe('ok');
    expect(runOutcome({ status: 'cancelled', steps: [v, {}] }).tone).toBe('neutral');
  });
});
