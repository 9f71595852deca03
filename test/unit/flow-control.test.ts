import { describe, expect, it } from 'vitest';
import { FlowControl, HIGH_WATER, LOW_WATER } from '../../electron/ssh/terminal.js';

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
