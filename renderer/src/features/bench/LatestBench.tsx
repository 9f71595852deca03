import type { BenchResult } from '../../../../shared/bench';
import { TableHead } from '../../components/TableHead';

/** A bench run now, test by test (failures first), and the files it ran when they were the user's own. */
export function LatestBench({ result }: { result: BenchResult }) {
  const order = { fail: 0, warn: 1, pass: 2, info: 3, skip: 4 } as const;
  const tests = [...result.tests].sort((a, b) => order[a.result] - order[b.result]);
  return (
    <>
      <details data-testid="bench-latest-tests">
        <summary>
          {tests.length} tests of {result.tool}
          {Object.keys(result.meta).length > 0 && (
            <span className="muted">
              {' '}
              ·{' '}
              {Object.entries(result.meta)
                .map(([k, v]) => `${k} ${v}`)
                .join(' · ')}
            </span>
          )}
        </summary>
        <table className="list">
          <TableHead columns={['Test', 'Result', 'Details']} />
          <tbody>
            {tests.map((t) => (
              <tr key={t.id} className={t.result === 'fail' ? 'regression' : ''}>
                <td>
                  <code>{t.id}</code> {t.title && <span className="muted">{t.title}</span>}
                </td>
                <td>{t.result}</td>
                <td className="muted">{t.details}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
      {result.inputs && result.inputs.length > 0 && (
        <details data-testid="bench-latest-inputs">
          <summary>{result.inputs.length} files it ran (your local copy), with their sha256</summary>
          <table className="list">
            <TableHead columns={['File', 'sha256', 'Bytes']} />
            <tbody>
              {result.inputs.map((f) => (
                <tr key={f.path}>
                  <td>
                    <code>{f.path}</code>
                  </td>
                  <td>
                    <code>{f.sha256}</code>
                  </td>
                  <td>{f.bytes}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </>
  );
}
