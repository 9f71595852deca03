/** One score model for every benchmark tool, and the before/after comparison built on it. */
import type { RecipeException } from './steps.js';
import type { SurfaceReport } from './surface.js';

export const BENCH_TOOLS = [
  'lynis',
  'docker-bench',
  'docker-config',
  'checks',
  'openscap',
  'vulns',
  'surface',
  'kube-node',
] as const;
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
  /** The score counts something bad (fixable CVEs): fewer is better, and max is not a ceiling. */
  lowerIsBetter?: boolean;
  /** What the score counts, for charts and reports ("fixable CVEs"). */
  unit?: string;
  /** The vulns tool's rows: what is behind, by how much, and which CVE ids the updates name. */
  vulns?: VulnReport;
  /** The surface tool's categories and what each counted. */
  surface?: SurfaceReport;
}

/** Where a CVE list came from: the candidate .deb whose changelog named it. */
export interface ChangelogSource {
  package: string;
  version: string;
  sha256: string;
}

export interface VulnPackage {
  /** Source package; its binaries share one changelog. */
  source: string;
  binaries: string[];
  installed: string;
  candidate: string;
  cves: string[];
  /** Changelog entries between the two versions. */
  entries: number;
  changelog?: ChangelogSource;
  /** Why no ids could be read (no changelog in any of its .debs, download failed). */
  note?: string;
}

export interface VulnKernel {
  /** uname -r of the running kernel. */
  release: string;
  /** The Debian linux version it was built from (uname -v), when it says. */
  running?: string;
  /** The newest image of the same flavour this machine's apt offers. */
  newest?: { package: string; version: string };
  /** A newer image is installed but not booted: it fixes nothing yet. */
  rebootPending?: string;
  cves: string[];
  entries: number;
  changelog?: ChangelogSource;
  note?: string;
}

export interface VulnReport {
  kernel: VulnKernel;
  packages: VulnPackage[];
  /** Distinct ids over the kernel and every package. */
  distinct: number;
  /** When the machine's package lists were last refreshed (ISO time). */
  listsAt?: string;
}

/** The honest label for the count, shown wherever it is. */
export const VULNS_BASIS =
  'CVE ids named in the changelogs of Debian updates available to this machine but not applied: a lower bound on the fixes it is missing, not a list of its unfixed vulnerabilities (unfixed, no-DSA and later-assigned ids are not counted).';

export interface BenchInput {
  /** Relative to the folder the user gave. */
  path: string;
  sha256: string;
  bytes: number;
}

/** Tools that can run some of their tests by id (`--tests`); the others always run their whole set. */
export const PICKS_TESTS: readonly BenchTool[] = ['lynis', 'docker-bench', 'checks', 'openscap'];

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
  /** The score counts something bad: a negative delta is the improvement. */
  lowerIsBetter?: boolean;
  unit?: string;
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
    ...(after.lowerIsBetter ? { lowerIsBetter: true } : {}),
    ...(after.unit ? { unit: after.unit } : {}),
  };
}
