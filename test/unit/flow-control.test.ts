import { describe, expect, it } from 'vitest';
import { FlowControl, HIGH_WATER, LOW_WATER } from '../../electron/ssh/terminal.js';
import { journalBudget } from '../../electron/engine/run.js';

describe('terminal flow control', () => {
  it('pauses past the high-water mark and resumes below the low-water mark', () => {
    const events: string[] = [];
    const f = new FlowControl(
      () => events.push('pause'),
      () => events.push('resume'),
    );
    f.sent(HIGH_WATER);
    expect(events).toEqual([]);
    f.sent(1);
    expect(events).toEqual(['pause']);
    f.sent(10_000);
    expect(events).toEqual(['pause']);
    f.acked(HIGH_WATER - LOW_WATER);
    expect(events).toEqual(['pause']);
    f.acked(10_002);
    expect(events).toEqual(['pause', 'resume']);
    expect(f.pending).toBeLessThan(LOW_WATER);
  });

  it('never counts below zero on over-acknowledgement', () => {
    const f = new FlowControl(
      () => undefined,
      () => undefined,
    );
    f.sent(10);
    f.acked(100);
    expect(f.pending).toBe(0);
  });
});

describe("a step's output in the journal (X1)", () => {
  it('passes output on up to the byte budget, then cuts once with a marker and keeps nothing more', () => {
    const got: string[] = [];
    const journaled = journalBudget((1 << 20) + 1, (stream, text) => got.push(`${stream}:${text}`));
    journaled('stdout', 'a'.repeat(600_000));
    // Two-byte characters: the budget is in bytes, so 300,000 of them fit, not 448,576.
    journaled('stderr', 'é'.repeat(400_000));
    journaled('stdout', 'never kept');
    expect(got).toHaveLength(2);
    const cut = got[1]!;
    expect(cut.startsWith('stderr:é')).toBe(true);
    expect(cut.endsWith('\n[output truncated: the journal keeps 1 MiB per step]\n')).toBe(true);
    const kept = Buffer.byteLength(cut.slice('stderr:'.length, cut.indexOf('\n[output truncated')));
    // An odd budget cuts inside a two-byte character: only whole ones are kept.
    expect(600_000 + kept).toBe(1 << 20);
    expect(cut).not.toContain('\uFFFD');
  });
});
