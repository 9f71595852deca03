/** Pieces the create and add forms share: a machine name field, provider options, an operation's progress. */
import type { ProviderStatus } from '../../../../shared/types';
import { ProgressBar } from '../../components/ProgressBar';
import type { RunningOp } from './store';

export function MachineNameField(props: { value: string; onChange(v: string): void; placeholder: string }) {
  return (
    <label>
      Name{' '}
      <input
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        pattern="[A-Za-z0-9][A-Za-z0-9._-]*"
        required
        placeholder={props.placeholder}
      />
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
      <ProgressBar progress={op.progress} label={op.label} />
      <button type="button" onClick={op.cancel}>
        Cancel
      </button>
    </>
  );
}
