import type { StepClaim } from '../../../../shared/claims';
import { TableHead } from '../../components/TableHead';

/** Per step: the benchmark ids it claims and what the run's before/after shows for them. */
export function ClaimsTable({ claims }: { claims: StepClaim[] }) {
  if (!claims.length) return null;
  return (
    <>
      <h3>What each step claimed</h3>
      <table className="list" data-testid="step-claims">
        <TableHead
          columns={['Step', 'Tool', 'Claims', 'Fixed', 'Unchanged', 'Measured only after', 'Not measured']}
        />
        <tbody>
          {claims.map((c) => (
            <tr key={`${c.step}-${c.tool}`} className={c.regressions.length ? 'regression' : ''}>
              <td>
                <code>{c.step}</code>
                {c.outcome && c.outcome !== 'validated' && <span className="muted"> ({c.outcome})</span>}
              </td>
              <td>{c.tool}</td>
              <td>
                {c.claimed.map((id) => (
                  <code key={id}>{id} </code>
                ))}
              </td>
              <td title={c.fixed.map((f) => f.id).join('\n')}>
                {c.fixed.length}
                {c.regressions.length > 0 && <strong> · {c.regressions.length} regressions</strong>}
              </td>
              <td>{c.unchanged.length}</td>
              <td>{c.newlyMeasured.length ? c.newlyMeasured.join(' ') : '—'}</td>
              <td>{c.unmeasured.length ? c.unmeasured.join(' ') : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
