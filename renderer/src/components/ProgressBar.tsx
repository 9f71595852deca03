import type { Progress } from '../../../shared/types';
import { Elapsed } from './Elapsed';

/**
 * A phase's own "(12 s)" counter only moves when the phase reports, which can be 15 s apart while
 * a guest boots: the bar shows one counter of its own that ticks every second instead.
 */
const withoutOwnCounter = (s: string) => s.replace(/ \(\d+ s\)$/, '');

export function ProgressBar({
  progress,
  label,
  startedAt,
}: {
  progress?: Progress;
  label: string;
  startedAt?: number;
}) {
  const determinate = progress && progress.max > 0;
  return (
    <div className="progress" aria-label={label}>
      <progress {...(determinate ? { value: progress.current, max: progress.max } : {})} />
      <span>{withoutOwnCounter(progress?.description ?? label)}</span>
      {startedAt !== undefined && <Elapsed since={startedAt} />}
    </div>
  );
}
