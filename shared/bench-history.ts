/**
 * Benches run "now" (outside a run) kept per machine, read as a history: which earlier result a new
 * one can be compared with, and the comparison. Shared by the CLI and the Bench section.
 */
import { compareBench, type BenchComparison, type BenchResult } from './bench.js';
import { plural } from './words.js';

/**
 * Two results compare only when they measured the same set: the same tool, and the same Lynis
 * groups or tests, OpenSCAP profile and rules, or checks. A score over 20 checks against one
 * over 62 would read as a change that never happened.
 */
const SCOPE_KEYS = ['groups', 'tests', 'profile', 'rules', 'checks'] as const;

export function scopeKey(r: BenchResult): string {
  return [r.tool, ...SCOPE_KEYS.map((k) => r.meta[k] ?? '')].join('\u0000');
}

/** The results that measured what `latest` measured, oldest first, `latest` included. */
export function comparableSeries(results: readonly BenchResult[], latest: BenchResult): BenchResult[] {
  const key = scopeKey(latest);
  return results
    .filter((r) => r.machine === latest.machine && scopeKey(r) === key)
    .sort((a, b) => a.at.localeCompare(b.at));
}

export interface SinceEarlier {
  earlier: BenchResult;
  comparison: BenchComparison;
}

/** The newest result before `latest` that measured the same set, and what changed since. */
export function sinceEarlier(results: readonly BenchResult[], latest: BenchResult): SinceEarlier | undefined {
  const earlier = comparableSeries(results, latest)
    .filter((r) => r.at < latest.at)
    .at(-1);
  return earlier ? { earlier, comparison: compareBench(earlier, latest) } : undefined;
}

/** "30/62 → 33/62 (+3): 3 fixed, 1 regression", or for counts "12 → 9 fixable CVEs (-3, fewer is better)". */
export function changeLine(c: BenchComparison): string {
  const score = (s: { score: number; max: number }) =>
    c.lowerIsBetter ? `${s.score}` : `${s.score}/${s.max}`;
  const delta = `${c.delta > 0 ? '+' : ''}${c.delta}`;
  const unit = c.lowerIsBetter ? ` ${c.unit ?? ''}`.trimEnd() : '';
  const flips = `${c.fixed.length} fixed, ${plural(c.regressions.length, 'regression')}`;
  return `${score(c.before)} → ${score(c.after)}${unit} (${delta}${c.lowerIsBetter ? ', fewer is better' : ''}): ${flips}`;
}

/** What a result measured, in a few words for a history row: "tests lock-root/1 kernel-sysctl/1", "profile standard". */
export function scopeLabel(r: BenchResult): string {
  const words = r.meta.tests
    ? `tests ${r.meta.tests}`
    : r.meta.profile
      ? `profile ${r.meta.profile}`
      : r.meta.rules
        ? `${r.meta.rules.split(' ').length} claimed rules`
        : r.meta.groups
          ? `groups ${r.meta.groups}`
          : 'the whole machine';
  return words.length > 60 ? `${words.slice(0, 59)}…` : words;
}
