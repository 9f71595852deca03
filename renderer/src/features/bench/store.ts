/** Bench results: a run's before/after comparison, or a bench run on a machine now. */
import { create } from 'zustand';
import type { BenchComparison, BenchResult, BenchTool } from '../../../../shared/bench';
import type { StepClaim } from '../../../../shared/claims';
import type { Progress } from '../../../../shared/types';
import type { ApiClient } from '../../../../shared/rpc';
import { useToasts } from '../toasts/store';

interface BenchStore {
  runId?: string;
  comparisons: BenchComparison[];
  claims: StepClaim[];
  latest?: BenchResult;
  busy?: { label: string; progress?: Progress; cancel: () => void };
  loadRun(api: ApiClient, runId: string): Promise<void>;
  benchNow(api: ApiClient, machine: string, tool: BenchTool, opts?: { profile?: string }): Promise<void>;
}

export const useBench = create<BenchStore>((set, get) => ({
  comparisons: [],
  claims: [],
  async loadRun(api, runId) {
    set({ runId });
    const r = await api.call('runs.bench', { id: runId });
    if (!r.ok) return useToasts.getState().error(r.error);
    set({ comparisons: r.value.comparisons, claims: r.value.claims });
  },
  async benchNow(api, machine, tool, opts = {}) {
    const controller = new AbortController();
    set({ busy: { label: `${tool} on ${machine}`, cancel: () => controller.abort() } });
    const r = await api.call(
      'bench.run',
      { machine, tool, ...(tool === 'openscap' && opts.profile ? { profile: opts.profile } : {}) },
      {
        signal: controller.signal,
        onProgress: (progress) => {
          const b = get().busy;
          if (b) set({ busy: { ...b, progress } });
        },
      },
    );
    set({ busy: undefined });
    if (!r.ok) return useToasts.getState().error(r.error);
    set({ latest: r.value });
  },
}));
