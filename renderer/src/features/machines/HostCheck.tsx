import { useApiOnce } from '../../api/use-api-once';
import type { DoctorReport } from '../../../../shared/doctor';

/**
 * The first-run check (`hlab doctor`): open, with the fix for each gap, when something required
 * is missing; folded to one line when the host is ready.
 */
export function HostCheck() {
  const { value: report, error } = useApiOnce('app.doctor', {});
  if (error) return <p className="bad-text">Host check failed: {error}</p>;
  return report ? <HostCheckView report={report} /> : null;
}

export function HostCheckView({ report }: { report: DoctorReport }) {
  const gaps = report.checks.filter((c) => !c.ok);
  return (
    <details className="card host-check" data-testid="host-check" open={!report.ready}>
      <summary>
        Host check: {report.ready ? 'ready' : <strong className="bad-text">not ready</strong>} — {report.os}
        {gaps.length > 0 && <span className="muted"> · {gaps.length} to look at</span>}
      </summary>
      <ul>
        {report.checks.map((c) => (
          <li key={c.id} className={c.ok ? '' : c.need === 'optional' ? 'muted' : 'bad-text'}>
            {c.ok ? '✓' : c.need === 'optional' ? '○' : '✗'} {c.title}: {c.detail}
            {!c.ok && c.fix && (
              <>
                {' '}
                — <code>{c.fix}</code>
              </>
            )}
          </li>
        ))}
      </ul>
      <p className="muted">Base image: {report.imagePathWhy}.</p>
    </details>
  );
}
