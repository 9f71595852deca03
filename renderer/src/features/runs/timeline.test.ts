import { describe, expect, it } from 'vitest';
import type { RunEvent, StampedEvent } from '../../../../shared/runs';
import { buildRunView } from './timeline';

const stamp = (events: RunEvent[]): StampedEvent[] =>
  events.map((e, seq) => ({ ...e, seq, at: new Date(seq * 1000).toISOString() }));

describe('run timeline', () => {
  const events = stamp([
    {
      type: 'run-started',
      runId: 'r1',
      recipe: 'demo',
      machine: 'm1',
      steps: ['ok-step', 'lockout', 'later'],
      pid: 1,
    },
    { type: 'bench-finished', phase: 'before', tool: 'checks', score: 3, max: 10, file: 'b.json' },
    { type: 'step-started', index: 0, step: 'ok-step', params: {}, title: 'OK step' },
    { type: 'snapshot-taken', index: 0, snapshot: 'hlab-x-0' },
    { type: 'apply-output', index: 0, stream: 'stdout', text: 'hello\n' },
    { type: 'apply-finished', index: 0, exitCode: 0, scriptSha256: 'a', durationMs: 10 },
    { type: 'check', index: 0, name: 'works', kind: 'run', pass: true, output: '' },
    { type: 'step-finished', index: 0, outcome: 'validated', durationMs: 1200 },
    { type: 'step-started', index: 1, step: 'lockout', params: {} },
    { type: 'snapshot-taken', index: 1, snapshot: 'hlab-x-1' },
    { type: 'apply-finished', index: 1, exitCode: 0, scriptSha256: 'b', durationMs: 10 },
    { type: 'check', index: 1, name: 'fresh login', kind: 'probe', pass: false, output: 'refused' },
  ]);

  it('shows live phases while a step is rolling back', () => {
    const v = buildRunView([
      ...events,
      ...stamp([
        {
          type: 'rollback-started',
          index: 1,
          reason: 'health probe fresh-ssh-login failed',
          snapshot: 'hlab-x-1',
        },
      ]),
    ]);
    expect(v.status).toBe('running');
    expect(v.steps.map((s) => s.phase)).toEqual(['done', 'rollback', 'pending']);
    expect(v.steps[1]?.reason).toMatch(/fresh-ssh-login/);
  });

  it('ends with validated, rolled back (with what was restored) and skipped steps', () => {
    const v = buildRunView([
      ...events,
      ...stamp([
        { type: 'rollback-started', index: 1, reason: 'probe failed', snapshot: 'hlab-x-1' },
        { type: 'rollback-finished', index: 1, healthy: true, durationMs: 4800 },
        { type: 'step-finished', index: 1, outcome: 'rolled-back', reason: 'probe failed', durationMs: 9000 },
        { type: 'step-finished', index: 2, outcome: 'skipped', reason: 'stop', durationMs: 0 },
        { type: 'run-finished', status: 'failed' },
      ]),
    ]);
    expect(v.status).toBe('failed');
    expect(v.steps.map((s) => s.outcome)).toEqual(['validated', 'rolled-back', 'skipped']);
    expect(v.steps[1]).toMatchObject({ snapshot: 'hlab-x-1', rollback: { healthy: true, durationMs: 4800 } });
    expect(v.steps[0]).toMatchObject({
      title: 'OK step',
      log: 'hello\n',
      checks: [{ name: 'works', pass: true }],
    });
    expect(v.benches).toEqual([{ phase: 'before', tool: 'checks', score: 3, max: 10 }]);
  });

  it('tracks reboots and the final persistence check', () => {
    const v = buildRunView([
      ...events.slice(0, 8),
      ...stamp([
        { type: 'reboot-started' },
        { type: 'reboot-finished', kernel: '6.1.0-56', durationMs: 50_000 },
        { type: 'persist-check', index: 0, name: 'works', pass: false, output: 'gone' },
      ]),
    ]);
    expect(v.finalReboot).toBe('done');
    expect(v.persistent).toBe(false);
  });
});

describe('a run before its steps start', () => {
  it('names each waiting step by its title', () => {
    const v = buildRunView(
      stamp([
        {
          type: 'run-started',
          runId: 'r2',
          recipe: 'demo',
          machine: 'm1',
          steps: ['kernel-sysctl', 'network-sysctl'],
          titles: ['Kernel sysctl', 'Network sysctl'],
          pid: 1,
        },
      ]),
    );
    expect(v.steps.map((s) => [s.phase, s.title])).toEqual([
      ['pending', 'Kernel sysctl'],
      ['pending', 'Network sysctl'],
    ]);
  });
});
