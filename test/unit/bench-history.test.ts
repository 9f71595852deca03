import { describe, expect, it } from 'vitest';
import type { BenchResult, BenchTest } from '../../shared/bench.js';
import { changeLine, comparableSeries, scopeLabel, sinceEarlier } from '../../shared/bench-history.js';

const result = (
  at: string,
  tests: Array<[string, BenchTest['result']]>,
  meta: Record<string, string> = {},
): BenchResult => ({
  tool: 'checks',
  machine: 'm1',
  at,
  score: tests.filter(([, r]) => r === 'pass').length,
  max: tests.length,
  tests: tests.map(([id, r]) => ({ id, result: r })),
  warnings: [],
  suggestions: [],
  meta: { checks: String(tests.length), ...meta },
});

describe('bench history', () => {
  const a = result('2026-12-05T10:00:00.000Z', [
    ['lock-root/1', 'fail'],
    ['k/1', 'pass'],
  ]);
  const b = result('2026-12-05T11:00:00.000Z', [
    ['lock-root/1', 'pass'],
    ['k/1', 'fail'],
  ]);
  const c = result('2026-12-05T12:00:00.000Z', [
    ['lock-root/1', 'pass'],
    ['k/1', 'pass'],
  ]);

  it('compares a result with the newest earlier one of the same scope, whatever the list order', () => {
    const since = sinceEarlier([c, a, b], c);
    expect(since?.earlier).toBe(b);
    expect(since?.comparison.fixed.map((f) => f.id)).toEqual(['k/1']);
    expect(sinceEarlier([c, a, b], a)).toBeUndefined();
  });

  it('never compares across scopes: another subset, tool, Lynis group or machine', () => {
    const subset = result(
      '2026-12-05T13:00:00.000Z',
      [
        ['lock-root/1', 'pass'],
        ['k/1', 'pass'],
      ],
      {
        tests: 'lock-root/1 k/1',
      },
    );
    expect(sinceEarlier([a, b, c, subset], subset)).toBeUndefined();
    const lynis = { ...c, tool: 'lynis' as const, at: '2026-12-05T14:00:00.000Z' };
    expect(sinceEarlier([a, b, c, lynis], lynis)).toBeUndefined();
    const other = { ...c, machine: 'm2', at: '2026-12-05T15:00:00.000Z' };
    expect(sinceEarlier([a, b, c, other], other)).toBeUndefined();
    expect(comparableSeries([c, subset, a, b], c)).toEqual([a, b, c]);
  });

  it('says the change in one line, with regressions counted and the fewer-is-better scores', () => {
    expect(changeLine(sinceEarlier([a, b], b)!.comparison)).toBe('1/2 → 1/2 (0): 1 fixed, 1 regression');
    const vulns = (at: string, score: number): BenchResult => ({
      ...result(at, []),
      tool: 'vulns',
      score,
      max: 0,
      lowerIsBetter: true,
      unit: 'fixable CVEs',
    });
    const v = sinceEarlier(
      [vulns('2026-12-01T00:00:00Z', 12), vulns('2026-12-02T00:00:00Z', 9)],
      vulns('2026-12-02T00:00:00Z', 9),
    );
    expect(changeLine(v!.comparison)).toBe(
      '12 → 9 fixable CVEs (-3, fewer is better): 0 fixed, 0 regressions',
    );
  });
});

describe('scope label', () => {
  it('names the subset, profile or groups a result measured, cut to a row', () => {
    const base: Omit<BenchResult, 'meta'> = {
      tool: 'checks',
      machine: 'm',
      at: '',
      score: 0,
      max: 0,
      tests: [],
      warnings: [],
      suggestions: [],
    };
    expect(scopeLabel({ ...base, meta: { tests: 'lock-root/1 k/1', checks: '2' } })).toBe(
      'tests lock-root/1 k/1',
    );
    expect(scopeLabel({ ...base, meta: { profile: 'standard' } })).toBe('profile standard');
    expect(scopeLabel({ ...base, meta: { checks: '88' } })).toBe('the whole machine');
    expect(scopeLabel({ ...base, meta: { tests: 'x '.repeat(50) } })).toHaveLength(60);
  });
});
