/** One score model for every benchmark tool, and the before/after comparison built on it. */
import type { RecipeException } from './steps.js';

export const BENCH_TOOLS = ['lynis', 'docker-bench', 'docker-config', 'checks', 'openscap'] as const;
export type BenchTool = (typeof BENCH_TOOLS)[number];

/** pass/fail are scored; warn is a suggestion (Lynis) or manual note; info/skip are not scored. */
export type TestResult = 'pass' | 'fail' | 'warn' | 'info' | 'skip';

export interface BenchTest {
  id: string;
  title?: string;
  result: TestResult;
  details?: string;
}

export interface BenchNote {
  id: string;
  text: string;
}

export interface BenchResult {
  tool: BenchTool;
  machine: string;
  at: string;
  /** The tool's own headline number (Lynis hardening index, docker-bench score, checks passed). */
  score: number;
  max: number;
  tests: BenchTest[];
  warnings: BenchNote[];
  suggestions: BenchNote[];
  /** Tool version, kernel, subset run, ... */
  meta: Record<string, string>;
  /** The files the tool ran when they came from the user (a local docker-bench copy), hashed. */
  inputs?: BenchInput[];
}

export interface BenchInput {
  /** Relative to the folder the user gave. */
  path: string;
  sha256: string;
  bytes: number;
}

/** Tools whose test ids are docker-bench check ids: a step's `docker-bench` claims are judged by both. */
export const DOCKER_BENCH_ID_TOOLS: readonly BenchTool[] = ['docker-bench', 'docker-config'];

export interface Flip {
  id: string;
  title?: string;
  from: TestResult;
  to: TestResult;
}

export interface BenchComparison {
  tool: BenchTool;
  before: { score: number; max: number };
  after: { score: number; max: number };
  delta: number;
  /** Tests that got better (fail/warn -> pass). */
  fixed: Flip[];
  /** Tests that got worse (pass -> fail/warn): regressions. */
  regressions: Flip[];
  /** Tests that got worse where a recipe exception says so and why (ip_forward on a Docker host). */
  accepted: AcceptedFlip[];
}

export interface AcceptedFlip extends Flip {
  exception: string;
  reason: string;
}

/** A recipe's exceptions: a flip to fail in a test one of them names is accepted, not a regression. */
export type Acceptances = ReadonlyArray<Pick<RecipeException, 'id' | 'reason' | 'tests'>>;

const rank: Record<TestResult, number> = { pass: 2, warn: 1, fail: 0, info: -1, skip: -1 };

export function compareBench(
  before: BenchResult,
  after: BenchResult,
  exceptions: Acceptances = [],
): BenchComparison {
  const old = new Map(before.tests.map((t) => [t.id, t]));
  const fixed: Flip[] = [];
  const regressions: Flip[] = [];
  const accepted: AcceptedFlip[] = [];
  for (const t of after.tests) {
    const b = old.get(t.id);
    if (!b || rank[b.result] < 0 || rank[t.result] < 0 || b.result === t.result) continue;
    const flip = { id: t.id, ...(t.title ? { title: t.title } : {}), from: b.result, to: t.result };
    const ex = exceptions.find((e) => e.tests?.includes(t.id));
    if (rank[t.result] > rank[b.result]) fixed.push(flip);
    else if (ex) accepted.push({ ...flip, exception: ex.id, reason: ex.reason });
    else regressions.push(flip);
  }
  return {
    tool: after.tool,
    before: { score: before.score, max: before.max },
    after: { score: after.score, max: after.max },
    delta: after.score - before.score,
    fixed,
    regressions,
    accepted,
  };
}
