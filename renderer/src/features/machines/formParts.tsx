/** Pieces the create and add forms share: a machine name field, provider options, an operation's progress. */
import { useId } from 'react';
import { nameProblem } from '../../../../shared/names';
import type { ProviderStatus } from '../../../../shared/types';
import { ProgressBar } from '../../components/ProgressBar';
import type { RunningOp } from './store';

/** What is wrong with a new machine's name, checked as the user types (the server checks again). */
export function machineNameProblem(name: string, taken: readonly string[]): string | undefined {
  if (name === '') return undefined; // not yet typed: "required" is the browser's to say on submit
  if (taken.includes(name)) return `A machine named "${name}" already exists.`;
  return nameProblem(name, 'The name');
}

/** A machine name with its problem next to it, not in a toast in the corner. */
export function MachineNameField(props: {
  value: string;
  onChange(v: string): void;
  placeholder: string;
  taken?: readonly string[];
}) {
  const id = useId();
  const problem = machineNameProblem(props.value, props.taken ?? []);
  return (
    <label className={problem ? 'invalid' : ''}>
      Name{' '}
      <input
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        required
        placeholder={props.placeholder}
        aria-invalid={problem ? true : undefined}
        aria-describedby={problem ? id : undefined}
      />
      {problem && (
        <span id={id} className="field-error" role="alert">
          {problem}
        </span>
      )}
    </label>
  );
}

/** Each provider with its availability, and why not when it is unavailable. */
export function ProviderOptions(props: {
  providers: Array<Pick<ProviderStatus, 'kind' | 'available' | 'reason'>>;
}) {
  return (
    <>
      {props.providers.map((p) => (
        <option key={p.kind} value={p.kind} disabled={!p.available} title={p.reason ?? ''}>
          {p.kind}
          {p.available ? '' : ` (unavailable: ${p.reason ?? 'not installed'})`}
        </option>
      ))}
    </>
  );
}

export function OpStatus({ op }: { op: RunningOp | undefined }) {
  if (!op) return null;
  return (
    <>
      <ProgressBar progress={op.progress} label={op.label} startedAt={op.startedAt} />
      <button type="button" onClick={op.cancel}>
        Cancel
      </button>
    </>
  );
}
