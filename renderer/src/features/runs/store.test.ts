import { describe, expect, it } from 'vitest';
import type { ApiClient } from '../../../../shared/rpc';
import type { StampedEvent } from '../../../../shared/runs';
import { useBench } from '../bench/store';
import { useRuns } from './store';

type Listener = (p: { runId: string; event: StampedEvent }) => void;

function fakeApi(responses: Record<string, unknown>) {
  const listeners: Listener[] = [];
  const calls: string[] = [];
  const api = {
    on: (_name: string, l: Listener) => {
      listeners.push(l);
      return () => listeners.splice(listeners.indexOf(l), 1);
    },
    call: async (method: string) => {
      calls.push(method);
      return { ok: true, value: responses[method] };
    },
  } as unknown as ApiClient;
  return { api, calls, emit: (p: { runId: string; event: StampedEvent }) => listeners.forEach((l) => l(p)) };
}

const ev = (seq: number, e: Record<string, unknown>) => ({ ...e, seq, at: '' }) as unknown as StampedEvent;

describe('runs store', () => {
  it('follows a live run started elsewhere, files events under its id and ignores duplicates', () => {
    const { api, emit } = fakeApi({ 'runs.list': [] });
    const off = useRuns.getState().subscribe(api);
    emit({
      runId: '',
      event: ev(1, { type: 'run-started', runId: 'r9', recipe: 'x', machine: 'm', steps: ['a'], pid: 1 }),
    });
    emit({ runId: '', event: ev(2, { type: 'step-started', index: 0, step: 'a', params: {} }) });
    emit({ runId: '', event: ev(2, { type: 'step-started', index: 0, step: 'a', params: {} }) });
    expect(useRuns.getState().selected).toBe('r9');
    expect(useRuns.getState().events.r9?.map((e) => e.seq)).toEqual([1, 2]);
    off();
  });
  it('refreshes the history when a run finishes', async () => {
    const history = [{ id: 'r9', recipe: 'x', machine: 'm', startedAt: '', status: 'failed', steps: [] }];
    const { api, emit, calls } = fakeApi({ 'runs.list': history });
    const off = useRuns.getState().subscribe(api);
    emit({ runId: 'r9', event: ev(3, { type: 'run-finished', status: 'failed' }) });
    await new Promise((r) => setTimeout(r, 0));
    expect(calls).toContain('runs.list');
    expect(useRuns.getState().history).toEqual(history);
    off();
  });
});

describe('bench store', () => {
  it('loads a run’s comparisons', async () => {
    const comparisons = [
      {
        tool: 'checks',
        before: { score: 1, max: 2 },
        after: { score: 2, max: 2 },
        delta: 1,
        fixed: [],
        regressions: [],
      },
    ];
    const { api } = fakeApi({ 'runs.bench': { before: [], after: [], comparisons } });
    await useBench.getState().loadRun(api, 'r9');
    expect(useBench.getState()).toMatchObject({ runId: 'r9', comparisons });
  });
});
