/**
 * What each step of a run claimed and what the run's benches show for it. Steps declare benchmark
 * ids (Lynis, docker-bench); their own checks are the "checks" bench's `<step>/<n>` tests. One
 * Lynis run per step would cost ~5 min each under TCG, so a step's share is read off the run's
 * before/after comparison by those ids.
 */
import {
  DOCKER_BENCH_ID_TOOLS,
  type BenchComparison,
  type BenchResult,
  type BenchTool,
  type Flip,
} from './bench.js';

/** Benchmark ids a step declares (a StepDef's `benchmarks`, as journaled with the step). */
export interface DeclaredBenchmarks {
  lynis?: string[];
  'docker-bench'?: string[];
  /** SCAP Security Guide rule ids, judged by the openscap bench. */
  ssg?: string[];
}

export interface ClaimInput {
  step: string;
  outcome?: string;
  benchmarks?: DeclaredBenchmarks;
  /** The step's script and checks: a sub-test key (kptr_restrict) they name pins its flip to them. */
  text?: string;
}

export interface StepClaim {
  step: string;
  outcome?: string;
  tool: BenchTool;
  /** The ids the step declares for this tool (for checks: its own check tests). */
  claimed: string[];
  /** Flips to a better result in tests under a claimed id. */
  fixed: Flip[];
  regressions: Flip[];
  /** Claimed ids measured before and after without a change. */
  unchanged: string[];
  /** Claimed ids measured only after: the tool skipped them before (MACF-6208 before AppArmor). */
  newlyMeasured: string[];
  /** Claimed ids the benches did not measure (the tool skipped them, or did not run). */
  unmeasured: string[];
}

/** Lynis sub-tests are ID:key, docker-bench checks nest by dots (5.1 holds 5.1.1). */
function under(tool: BenchTool, claimed: string, test: string): boolean {
  if (test === claimed) return true;
  if (tool === 'lynis') return test.startsWith(`${claimed}:`);
  if (DOCKER_BENCH_ID_TOOLS.includes(tool)) return test.startsWith(`${claimed}.`);
  return false;
}

function claimedIds(tool: BenchTool, s: ClaimInput, after: BenchResult): string[] {
  if (tool === 'checks') return after.tests.filter((t) => t.id.startsWith(`${s.step}/`)).map((t) => t.id);
  if (tool === 'lynis') return s.benchmarks?.lynis ?? [];
  if (tool === 'openscap') return s.benchmarks?.ssg ?? [];
  const ids = s.benchmarks?.['docker-bench'] ?? [];
  // docker-config measures only the daemon's checks live; the rest stay docker-bench's to judge.
  return tool === 'docker-config' ? ids.filter((id) => after.tests.some((t) => under(tool, id, t.id))) : ids;
}

/** What a step runs (script and check scripts), for pinning sub-test flips to the step naming them. */
export function claimText(script?: string, checks?: Array<{ run?: string }>): string {
  return [script ?? '', ...(checks ?? []).map((c) => c.run ?? '')].join('\n');
}

/** The setting a sub-test is about, as a step's script would name it: kptr_restrict, MaxAuthTries. */
function settingOf(testId: string): string | undefined {
  const key = testId.split(':')[1];
  return key?.split('.').pop();
}

export function stepClaims(
  steps: ClaimInput[],
  benches: { before: BenchResult[]; after: BenchResult[]; comparisons: BenchComparison[] },
): StepClaim[] {
  const { before, after, comparisons } = benches;
  const out: StepClaim[] = [];
  // Several steps may claim one id (KRNL-6000): a flip whose setting some of them name is theirs.
  const names = (s: ClaimInput, setting: string) =>
    !!s.text && new RegExp(`\\b${setting.replace(/\W/g, '')}\\b`).test(s.text);
  const owns = (tool: BenchTool, claimant: ClaimInput, f: Flip): boolean => {
    const setting = settingOf(f.id);
    if (!setting) return true;
    const key = tool === 'lynis' ? 'lynis' : tool === 'openscap' ? 'ssg' : 'docker-bench';
    const rivals = steps.filter((s) => (s.benchmarks?.[key] ?? []).some((id) => under(tool, id, f.id)));
    return !rivals.some((s) => names(s, setting)) || names(claimant, setting);
  };
  for (const s of steps) {
    for (const a of after) {
      const claimed = claimedIds(a.tool, s, a);
      if (!claimed.length) continue;
      const c = comparisons.find((x) => x.tool === a.tool);
      const tool = a.tool;
      const mine = (f: Flip) =>
        claimed.some((id) => under(tool, id, f.id)) && (tool === 'checks' || owns(tool, s, f));
      const fixed = c?.fixed.filter(mine) ?? [];
      const regressions = c?.regressions.filter(mine) ?? [];
      const b = before.find((x) => x.tool === a.tool);
      const measuredIn = (r: BenchResult | undefined, id: string) =>
        !!r?.tests.some((t) => under(a.tool, id, t.id) && t.result !== 'skip' && t.result !== 'info');
      const measured = (id: string) => measuredIn(a, id);
      const flipped = (id: string) => [...fixed, ...regressions].some((f) => under(a.tool, id, f.id));
      out.push({
        step: s.step,
        ...(s.outcome ? { outcome: s.outcome } : {}),
        tool: a.tool,
        claimed,
        fixed,
        regressions,
        unchanged: claimed.filter((id) => measured(id) && measuredIn(b, id) && !flipped(id)),
        newlyMeasured: claimed.filter((id) => measured(id) && !measuredIn(b, id) && !flipped(id)),
        unmeasured: claimed.filter((id) => !measured(id)),
      });
    }
  }
  return out;
}
