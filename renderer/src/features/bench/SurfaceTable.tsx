import { diffSurface, type SurfaceReport } from '../../../../shared/surface';
import { TableHead } from '../../components/TableHead';

function Items({ items, what }: { items: string[]; what: string }) {
  if (!items.length) return null;
  return (
    <details>
      <summary>
        {items.length} {what}
      </summary>
      <code className="cve-list">{items.slice(0, 300).join('\n')}</code>
    </details>
  );
}

/**
 * The attack surface per category: one column for a bench run now, before/after with what went
 * and what came for a run. Fewer is better.
 */
export function SurfaceTable({ before, after }: { before?: SurfaceReport; after: SurfaceReport }) {
  const diffs = diffSurface(before, after);
  return (
    <div data-testid="surface-table">
      <p className="muted">Attack surface: fewer is better.</p>
      <table className="list">
        <TableHead
          columns={before ? ['Category', 'Before', 'After', 'What changed'] : ['Category', 'Count', 'Items']}
        />
        <tbody>
          {diffs.map((d) => {
            const now = after.categories.find((c) => c.id === d.id);
            return (
              <tr key={d.id} className={before && (d.after ?? 0) > (d.before ?? 0) ? 'regression' : ''}>
                <td>{d.title}</td>
                {before && <td>{d.before ?? '–'}</td>}
                <td>
                  {now?.missing ? (
                    <span className="muted">not measured: {now.missing}</span>
                  ) : (
                    (d.after ?? '–')
                  )}
                </td>
                <td>
                  {before ? (
                    <>
                      <Items items={d.removed} what="removed" />
                      <Items items={d.added} what="added" />
                    </>
                  ) : (
                    <Items
                      items={now?.items ?? []}
                      what={now?.truncated ? 'listed (more counted)' : 'listed'}
                    />
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
