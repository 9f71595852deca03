/** Run journal events and summaries: what the engine records, the CLI prints and the UI shows. */

export type StepOutcome = 'validated' | 'rolled-back' | 'skipped';

export type RunEvent =
  | { type: 'run-started'; runId: string; recipe: string; machine: string; steps: string[]; pid: number }
  | { type: 'step-started'; index: number; step: string; params: Record<string, unknown> }
  | { type: 'snapshot-taken'; index: number; snapshot: string }
  | { type: 'apply-output'; index: number; stream: 'stdout' | 'stderr'; text: string }
  | { type: 'apply-finished'; index: number; exitCode: number; scriptSha256: string; durationMs: number }
  | { type: 'check'; index: number; name: string; kind: 'run' | 'probe'; pass: boolean; output: string }
  | { type: 'rollback-started'; index: number; reason: string; snapshot: string }
  | { type: 'rollback-finished'; index: number; healthy: boolean; durationMs: number }
  | { type: 'step-finished'; index: number; outcome: StepOutcome; reason?: string; durationMs: number }
  | { type: 'run-finished'; status: 'validated' | 'failed' | 'cancelled' | 'error'; message?: string };

export type StampedEvent = RunEvent & { at: string; seq: number };

export interface RunSummary {
  id: string;
  recipe: string;
  machine: string;
  startedAt: string;
  status: 'running' | 'validated' | 'failed' | 'cancelled' | 'error' | 'interrupted';
  steps: Array<{ step: string; outcome?: StepOutcome; reason?: string; snapshot?: string }>;
  /** The newest snapshot known to hold a good state (for recovery). */
  lastGoodSnapshot?: string;
}
