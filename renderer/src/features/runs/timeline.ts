/** Folds a run's journal events into one row per step, as the timeline shows them. */
import type { StampedEvent, StepOutcome } from '../../../../shared/runs';

export type Phase = 'pending' | 'snapshot' | 'apply' | 'reboot' | 'verify' | 'rollback' | 'done';

export interface StepRow {
  index: number;
  step: string;
  title?: string;
  phase: Phase;
  outcome?: StepOutcome;
  reason?: string;
  snapshot?: string;
  log: string;
  checks: Array<{ name: string; pass: boolean; output: string }>;
  rebootKernel?: string;
  rollback?: { healthy?: boolean; durationMs?: number };
  durationMs?: number;
}

export interface RunView {
  runId?: string;
  recipe?: string;
  machine?: string;
  status: 'running' | 'validated' | 'failed' | 'cancelled' | 'error';
  message?: string;
  steps: StepRow[];
  benches: Array<{
    phase: 'before' | 'after';
    tool: string;
    score?: number;
    max?: number;
    /** Set for counts where fewer is better (fixable CVEs). */
    unit?: string;
    error?: string;
  }>;
  persistent?: boolean;
  finalReboot?: 'running' | 'done';
}

const LOG_LIMIT = 20_000;

export function buildRunView(events: StampedEvent[]): RunView {
  const v: RunView = { status: 'running', steps: [], benches: [] };
  for (const e of events) {
    const row = 'index' in e && typeof e.index === 'number' ? v.steps[e.index] : undefined;
    switch (e.type) {
      case 'run-started':
        Object.assign(v, { runId: e.runId, recipe: e.recipe, machine: e.machine });
        v.steps = e.steps.map((step, index) => {
          const title = e.titles?.[index];
          return { index, step, phase: 'pending', log: '', checks: [], ...(title ? { title } : {}) };
        });
        break;
      case 'step-started':
        if (row) Object.assign(row, { phase: 'snapshot', ...(e.title ? { title: e.title } : {}) });
        break;
      case 'snapshot-taken':
        if (row) Object.assign(row, { phase: 'apply', snapshot: e.snapshot });
        break;
      case 'apply-output':
        if (row) row.log = (row.log + e.text).slice(-LOG_LIMIT);
        break;
      case 'apply-finished':
        if (row) row.phase = 'verify';
        break;
      case 'reboot-started':
        if (row) row.phase = 'reboot';
        else v.finalReboot = 'running';
        break;
      case 'reboot-finished':
        if (row) Object.assign(row, { phase: 'verify', rebootKernel: e.kernel });
        else v.finalReboot = 'done';
        break;
      case 'check':
        row?.checks.push({ name: e.name, pass: e.pass, output: e.output });
        break;
      case 'persist-check':
        v.persistent = (v.persistent ?? true) && e.pass;
        break;
      case 'rollback-started':
        if (row) Object.assign(row, { phase: 'rollback', reason: e.reason, rollback: {} });
        break;
      case 'rollback-finished':
        if (row) row.rollback = { healthy: e.healthy, durationMs: e.durationMs };
        break;
      case 'step-finished':
        if (row)
          Object.assign(row, {
            phase: 'done',
            outcome: e.outcome,
            durationMs: e.durationMs,
            ...(e.reason ? { reason: e.reason } : {}),
          });
        break;
      case 'bench-finished':
        v.benches.push({
          phase: e.phase,
          tool: e.tool,
          score: e.score,
          max: e.max,
          ...(e.unit ? { unit: e.unit } : {}),
        });
        break;
      case 'bench-failed':
        v.benches.push({ phase: e.phase, tool: e.tool, error: e.message });
        break;
      case 'run-finished':
        v.status = e.status;
        if (e.message) v.message = e.message;
        break;
      default:
        break;
    }
  }
  return v;
}
