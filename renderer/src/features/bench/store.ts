/** Bench results: a run's before/after comparison, or a bench run on a machine now. */
import { create } from 'zustand';
import type { BenchComparison, BenchResult, BenchTool, VulnReport } from '../../../../shared/bench';
import type { SurfaceReport } from '../../../../shared/surface';
import type { StepClaim } from '../../../../shared/claims';
import type { Progress } from '../../../../shared/types';
import type { ApiClient } from '../../../../shared/rpc';
import { useToasts } from '../toasts/store';
import { newestLine } from '../../../../shared/guest-text';

interface BenchStore {
  runId?: string;
  comparisons: BenchComparison[];
  claims: StepClaim[];
  latest?: BenchResult;
  /** The benches run now on the machine picked in "Bench a machine now", as kept under bench/. */
  history: BenchResult[];
  historyMachine?: string;
  /** The run's vulnerability bench before and after, when it ran one. */
  vulns: Array<{ name: string; report: VulnReport }>;
  /** The run's attack-surface bench before and after, when it ran one. */
  surface?: { before?: SurfaceReport; after: SurfaceReport };
  busy?: {
    label: string;
    machine: string;
    tool: BenchTool;
    startedAt: number;
    progress?: Progress;
    /** The newest line the tool printed (Lynis: the test group it is in). */
    lastLine?: string;
    cancel: () => void;
  };
  loadRun(api: ApiClient, runId: string): Promise<void>;
  loadHistory(api: ApiClient, machine: string): Promise<void>;
  /** Shows an earlier result as if it had just run (its tests, and what changed before it). */
  showResult(result: BenchResult): void;
  benchNow(api: ApiClient, machine: string, tool: BenchTool, opts?: { profile?: string }): Promise<void>;
}

function surfacePair(before: BenchResult[], after: BenchResult[]): BenchStore['surface'] {
  const b = before.find((x) => x.surface)?.surface;
  const a = after.find((x) => x.surface)?.surface;
  return a ? { ...(b ? { before: b } : {}), after: a } : undefined;
}

export const useBench = create<BenchStore>((set, get) => ({
  comparisons: [],
  claims: [],
  vulns: [],
  history: [],
  async loadHistory(api, machine) {
    if (!machine) return set({ history: [], historyMachine: undefined });
    const r = await api.call('bench.list', { machine });
    if (!r.ok) return useToasts.getState().error(r.error, `bench:${machine}`);
    set({ history: r.value, historyMachine: machine });
  },
  showResult: (result) => set({ latest: result }),
  async loadRun(api, runId) {
    set({ runId });
    const r = await api.call('runs.bench', { id: runId });
    if (!r.ok) return useToasts.getState().error(r.error);
    const phase = (name: string, rs: BenchResult[]) =>
      rs.flatMap((x) => (x.vulns ? [{ name, report: x.vulns }] : []));
    set({
      comparisons: r.value.comparisons,
      claims: r.value.claims,
      vulns: [...phase('before', r.value.before), ...phase('after', r.value.after)],
      surface: surfacePair(r.value.before, r.value.after),
    });
  },
  async benchNow(api, machine, tool, opts = {}) {
    const controller = new AbortController();
    set({
      busy: {
        label: `${tool} on ${machine}`,
        machine,
        tool,
        startedAt: Date.now(),
        cancel: () => controller.abort(),
      },
    });
    let carry = '';
    const r = await api.call(
      'bench.run',
      { machine, tool, ...(tool === 'openscap' && opts.profile ? { profile: opts.profile } : {}) },
      {
        signal: controller.signal,
        onProgress: (progress) => {
          const b = get().busy;
          if (b) set({ busy: { ...b, progress } });
        },
        onLog: (_stream, text) => {
          const next = newestLine(carry, text);
          carry = next.carry;
          const b = get().busy;
          if (b && next.line) set({ busy: { ...b, lastLine: next.line } });
        },
      },
    );
    set({ busy: undefined });
    if (!r.ok) return useToasts.getState().error(r.error, `bench:${machine}`);
    useToasts.getState().clearScope(`bench:${machine}`);
    set({ latest: r.value });
    await get().loadHistory(api, machine);
  },
}));
