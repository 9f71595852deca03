import type { BenchComparison } from '../../../../shared/bench';
import { TableHead } from '../../components/TableHead';

/** Every test that changed between two benches: fixed, regressed, or accepted by a recipe exception. */
export function FlippedTests({ comparisons, testId }: { comparisons: BenchComparison[]; testId: string }) {
  const flips = comparisons.flatMap((c) => [
    ...c.regressions.map((f) => ({ ...f, tool: c.tool, regression: true, accepted: undefined })),
    ...c.accepted.map((f) => ({ ...f, tool: c.tool, regression: false, accepted: f })),
    ...c.fixed.map((f) => ({ ...f, tool: c.tool, regression: false, accepted: undefined })),
  ]);
  const regressions = flips.filter((f) => f.regression).length;
  const accepted = flips.filter((f) => f.accepted).length;
  return (
    <>
      <h3>
        Flipped tests: {flips.length - regressions - accepted} fixed,{' '}
        <span className={regressions ? 'bad-text' : ''}>{regressions} regressions</span>
        {accepted > 0 && <>, {accepted} accepted by exceptions</>}
      </h3>
      {flips.length > 0 && (
        <table className="list" data-testid={testId}>
          <TableHead columns={['Tool', 'Test', 'Change']} />
          <tbody>
            {flips.map((f) => (
              <tr key={`${f.tool}-${f.id}`} className={f.regression ? 'regression' : ''}>
                <td>{f.tool}</td>
                <td>
                  <code>{f.id}</code> {f.title && <span className="muted">{f.title}</span>}
                </td>
                <td>
                  <span className={f.regression ? 'flip-regression' : f.accepted ? '' : 'flip-fixed'}>
                    {f.from} → {f.to}
                  </span>{' '}
                  {f.regression && <strong>regression</strong>}
                  {f.accepted && (
                    <span className="muted" title={f.accepted.reason}>
                      {' '}
                      accepted: exception <code>{f.accepted.exception}</code> — {f.accepted.reason}
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
