/** One readable line per journal event, for `hlab run` and `hlab runs show`. */
import { runOutcome } from '../../../shared/run-outcome.js';
import type { RunSummary, StampedEvent } from '../../../shared/runs.js';
import { plain, type Paint, type Tone } from './colour.js';

const TONE_OF: Record<string, Tone> = { ok: 'ok', warn: 'warn', bad: 'bad', busy: 'dim', neutral: 'dim' };

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function formatEvent(e: StampedEvent, total: number, paint: Paint = plain): string | undefined {
  const mark = (pass: boolean) => (pass ? paint('✓', 'ok') : paint('✗', 'bad'));
  switch (e.type) {
    case 'run-started':
      return `run ${e.runId}: recipe ${e.recipe} on ${e.machine} (${e.steps.length} steps)`;
    case 'step-started':
      return [
        `▶ [${e.index + 1}/${total}] ${e.step}`,
        // Values standards disagree on: say up front which ones this run will not satisfy.
        ...(e.standards ?? []).map(
          (v) =>
            `  ${v.param} = ${String(v.value)}: satisfies ${v.satisfies.join(', ') || 'none listed'}${v.contradicts.length ? `; NOT ${v.contradicts.join(', ')}` : ''}`,
        ),
      ].join('\n');
    case 'snapshot-taken':
      return `  snapshot ${e.snapshot}`;
    case 'events-collected':
      if (e.error) return `  login events not read: ${e.error}`;
      return e.count ? `  ${e.count} login event(s) kept (${e.total} in this run)` : undefined;
    case 'apply-output':
      return e.text.replace(/\n$/, '').replace(/^/gm, '  | ');
    case 'apply-finished':
      return `  applied (exit ${e.exitCode}, ${secs(e.durationMs)}, script sha256 ${e.scriptSha256.slice(0, 12)})`;
    case 'check':
      return `  ${mark(e.pass)} ${e.name}${e.pass ? '' : `: ${e.output.split('\n').slice(-2).join(' | ')}`}`;
    case 'reboot-started':
      return e.index === undefined ? 'final reboot: do the changes persist?' : '  ⟳ rebooting';
    case 'reboot-finished':
      return `${e.index === undefined ? '' : '  '}⟳ back up on kernel ${e.kernel} after ${secs(e.durationMs)}`;
    case 'persist-check':
      return `  ${mark(e.pass)} [step ${e.index + 1}] ${e.name} (after reboot)${e.pass ? '' : `: ${e.output.split('\n').slice(-2).join(' | ')}`}`;
    case 'bench-finished':
      return `bench ${e.phase}: ${e.tool} ${e.unit ? `${e.score} ${e.unit}` : `${e.score}/${e.max}`}`;
    case 'bench-failed':
      return `bench ${e.phase}: ${e.tool} failed: ${e.message}`;
    case 'rollback-started':
      return `  ↺ rolling back to ${e.snapshot}: ${e.reason}`;
    case 'rollback-finished':
      return `  ↺ restored in ${secs(e.durationMs)} (${e.healthy ? paint('healthy: fresh login + sudo work', 'ok') : paint('NOT HEALTHY', 'bad')})`;
    case 'step-finished':
      return e.outcome === 'validated'
        ? `  = ${paint('validated', 'ok')} (${secs(e.durationMs)})`
        : `  = ${paint(e.outcome.toUpperCase(), e.outcome === 'rolled-back' ? 'warn' : 'dim')}${e.reason ? `: ${e.reason}` : ''}`;
    case 'run-finished':
      return `run ${paint(e.status, e.status === 'validated' ? 'ok' : e.status === 'cancelled' ? 'dim' : 'bad')}${e.message ? `: ${e.message}` : ''}`;
  }
}

export function summaryText(s: RunSummary, paint: Paint = plain): string {
  const outcome = runOutcome(s);
  return [
    `${s.id}  ${s.recipe} on ${s.machine}  ${paint(outcome.label, TONE_OF[outcome.tone] ?? 'dim')}`,
    ...s.steps.map(
      (st, i) =>
        `  ${i + 1}. ${st.step.padEnd(28)} ${st.outcome ?? '-'}${st.reason ? `  (${st.reason})` : ''}`,
    ),
    ...(s.persistent !== undefined
      ? [
          `  after the final reboot: ${s.persistent ? 'every check still holds' : 'SOME CHECKS NO LONGER HOLD'}`,
        ]
      : []),
    ...(s.status === 'interrupted'
      ? [
          `  interrupted: recover with  hlab runs recover ${s.id}  (restores ${s.lastGoodSnapshot ?? 'nothing'})`,
        ]
      : []),
  ].join('\n');
}
