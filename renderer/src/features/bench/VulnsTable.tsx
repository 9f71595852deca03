import { VULNS_BASIS, type VulnReport } from '../../../../shared/bench';
import { kernelLine } from '../../../../shared/vulns-text';
import { TableHead } from '../../components/TableHead';

function Ids({ ids }: { ids: string[] }) {
  if (!ids.length) return <>0</>;
  return (
    <details>
      <summary>{ids.length} CVE ids</summary>
      <code className="cve-list">{ids.join(' ')}</code>
    </details>
  );
}

/** The vulns bench as rows: the running kernel against the newest image, then each package behind. */
export function VulnsTable({ phases }: { phases: Array<{ name: string; report: VulnReport }> }) {
  return (
    <div data-testid="vulns-table">
      <p className="muted">{VULNS_BASIS}</p>
      <table className="list">
        <TableHead columns={['Phase', 'Package', 'Versions', 'Fixable CVEs']} />
        <tbody>
          {phases.flatMap(({ name, report }) => [
            <tr key={`${name}-kernel`} className={report.kernel.cves.length ? 'regression' : ''}>
              <td>{name}</td>
              <td>kernel</td>
              <td>{kernelLine(report.kernel)}</td>
              <td>
                <Ids ids={report.kernel.cves} />
              </td>
            </tr>,
            ...report.packages.map((p) => (
              <tr key={`${name}-${p.source}`} className={p.cves.length ? 'regression' : ''}>
                <td>{name}</td>
                <td>
                  {p.source} <span className="muted">({p.binaries.join(', ')})</span>
                </td>
                <td>
                  <code>{p.installed}</code> → <code>{p.candidate}</code>
                </td>
                <td>{p.note ? <span className="muted">{p.note}</span> : <Ids ids={p.cves} />}</td>
              </tr>
            )),
          ])}
        </tbody>
      </table>
    </div>
  );
}
