import type { Progress } from '../../../shared/types';

export function ProgressBar({ progress, label }: { progress?: Progress; label: string }) {
  const determinate = progress && progress.max > 0;
  return (
    <div className="progress" aria-label={label}>
      <progress {...(determinate ? { value: progress.current, max: progress.max } : {})} />
      <span>{progress?.description ?? label}</span>
    </div>
  );
}
