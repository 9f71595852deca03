/** Run journal events and summaries: what the engine records, the CLI prints and the UI shows. */
import type { BenchTool } from './bench.js';
import type { DeclaredBenchmarks } from './claims.js';
import type { RecipeException, StandardVerdict } from './steps.js';
import type { ProviderKind } from './types.js';

export type StepOutcome = 'validated' | 'rolled-back' | 'skipped';

export type RunEvent =
  | {
      type: 'run-started';
      runId: string;
      recipe: string;
      machine: string;
      steps: string[];
      /** Each step's title, in the same order: the timeline names a step before it starts. */
      titles?: string[];
      pid: number;
      /** The recipe's declared exceptions: accepted bench flips are read against them. */
      exceptions?: RecipeException[];
    }
  | {
      type: 'step-started';
      index: number;
      step: string;
      params: Record<string, unknown>;
      /** Exactly what runs on the guest, kept for evidence, exports and replay. */
      title?: string;
      script?: string;
      checks?: Array<{ name: string; run?: string; probe?: string }>;
      reboot?: boolean;
      /** Benchmark ids the step claims to improve (absent in journals older than this field). */
      benchmarks?: DeclaredBenchmarks;
      /** Parameters where standards disagree: which standards the value used satisfies. */
      standards?: StandardVerdict[];
    }
  /** What the machine was: before the first step and after the last. */
  | {
      type: 'facts';
      phase: 'before' | 'after';
      kernel: string;
      /** Absent in journals written before providers other than QEMU existed. */
      provider?: ProviderKind;
      image: string;
      /** Absent when the provider cannot know it (a user's own Vagrant box or VM). */
      imageSha256?: string;
      /** The lab server it ran on, `NAME (URI)` (providers with a pool of hosts). */
      host?: string;
    }
  /** Login events read from the guest's journal so far (kept in events.jsonl beside the journal). */
  | { type: 'events-collected'; count: number; total: number; sshdLogLevel?: string; error?: string }
  | { type: 'snapshot-taken'; index: number; snapshot: string }
  | { type: 'apply-output'; index: number; stream: 'stdout' | 'stderr'; text: string }
  | { type: 'apply-finished'; index: number; exitCode: number; scriptSha256: string; durationMs: number }
  /** index is absent for the run's final reboot. */
  | { type: 'reboot-started'; index?: number }
  | { type: 'reboot-finished'; index?: number; kernel: string; durationMs: number }
  /** A validated step's check run again after the final reboot: does the change persist? */
  | { type: 'persist-check'; index: number; name: string; pass: boolean; output: string }
  /** A bench before the first step or after the last; the full result is stored in the run dir. */
  | {
      type: 'bench-finished';
      phase: 'before' | 'after';
      tool: BenchTool;
      score: number;
      max: number;
      /** Set when the score counts something bad ("fixable CVEs"): fewer is better, max is no ceiling. */
      unit?: string;
      file: string;
    }
  | { type: 'bench-failed'; phase: 'before' | 'after'; tool: BenchTool; message: string }
  | { type: 'check'; index: number; name: string; kind: 'run' | 'probe'; pass: boolean; output: string }
  | { type: 'rollback-started'; index: number; reason: string; snapshot: string }
  | {
      type: 'rollback-finished';
      index: number;
      healthy: boolean;
      durationMs: number;
      /** Where the time went: restore, ready (SSH + clock), and each health probe, in ms. */
      phases?: Record<string, number>;
    }
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
  /** After the final reboot: did every validated step's checks still hold? */
  persistent?: boolean;
  /** The newest snapshot known to hold a good state (for recovery). */
  lastGoodSnapshot?: string;
}
