import { useEffect } from 'react';
import { api } from '../../api/client';
import { EmptyState } from '../../components/EmptyState';
import { BENCH_TOOLS } from '../../../../shared/bench';
import { useRuns } from '../runs/store';
import { ExportButtons } from '../runs/ExportButtons';
import { BenchChart } from './BenchChart';
import { BenchNow } from './BenchNow';
import { ClaimsTable } from './ClaimsTable';
import { FlippedTests } from './FlippedTests';
import { SurfaceTable } from './SurfaceTable';
import { VulnsTable } from './VulnsTable';
import { useBench } from './store';

/** A run's benches before and after its steps, and "Bench a machine now" below. */
export function BenchSection() {
  const { history, refresh } = useRuns();
  const { runId, comparisons, claims, vulns, surface, loadRun } = useBench();
  useEffect(() => {
    void refresh(api());
  }, [refresh]);
  useEffect(() => {
    const first = history.find((h) => h.status !== 'running');
    if (!runId && first) void loadRun(api(), first.id);
  }, [history, runId, loadRun]);
  return (
    <section aria-labelledby="bench-h">
      <h2 id="bench-h">Bench</h2>
      {history.length === 0 ? (
        <EmptyState title="No runs yet">
          A run of a recipe with a <code>bench</code> list ({BENCH_TOOLS.join(', ')}) is charted here, before
          against after its steps. Or bench a machine now, below.
        </EmptyState>
      ) : (
        <>
          <div className="form-row">
            <label>
              Run{' '}
              <select
                aria-label="Run to compare"
                value={runId ?? ''}
                onChange={(e) => void loadRun(api(), e.target.value)}
              >
                {history.map((h) => (
                  <option key={h.id} value={h.id}>
                    {h.recipe} on {h.machine} — {h.status} ({new Date(h.startedAt).toLocaleString()})
                  </option>
                ))}
              </select>
            </label>
          </div>
          {comparisons.length === 0 ? (
            <EmptyState title="No before/after benchmark for this run">
              Give the recipe a <code>bench</code> list ({BENCH_TOOLS.join(', ')}) in the recipe builder and
              run it.
            </EmptyState>
          ) : (
            <>
              <BenchChart comparisons={comparisons} />
              {vulns.length > 0 && <VulnsTable phases={vulns} />}
              {surface && <SurfaceTable before={surface.before} after={surface.after} />}
              <FlippedTests comparisons={comparisons} testId="flipped-tests" />
              <ClaimsTable claims={claims} />
              {runId && <ExportButtons runId={runId} />}
            </>
          )}
        </>
      )}
      <BenchNow />
    </section>
  );
}
