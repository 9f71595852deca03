import { useEffect, useMemo } from 'react';
import { api } from '../../api/client';
import { EmptyState } from '../../components/EmptyState';
import { useMachines } from '../machines/store';
import { useSteps } from '../steps/store';
import { buildRunView, type StepRow } from './timeline';
import { useRuns } from './store';
import { ExportButtons } from './ExportButtons';
import { runOutcome } from '../../../../shared/run-outcome';

function RunBadge(props: Parameters<typeof runOutcome>[0]) {
  const o = runOutcome(props);
  return <span className={`badge ${o.tone}`}>{o.label}</span>;
}

const PHASE_LABEL: Record<StepRow['phase'], string> = {
  pending: 'waiting',
  snapshot: 'taking snapshot',
  apply: 'applying',
  reboot: 'rebooting',
  verify: 'verifying',
  rollback: 'rolling back',
  done: 'done',
};

function Outcome({ row }: { row: StepRow }) {
  if (row.outcome === 'validated') return <span className="badge ok">validated</span>;
  if (row.outcome === 'rolled-back') return <span className="badge bad">ROLLED BACK</span>;
  if (row.outcome === 'skipped') return <span className="badge">skipped</span>;
  return (
    <span
      className={`badge ${row.phase === 'rollback' ? 'bad' : row.phase === 'pending' ? 'neutral' : 'busy'}`}
    >
      {PHASE_LABEL[row.phase]}
    </span>
  );
}

export function StepCard({ row }: { row: StepRow }) {
  return (
    <li
      className={`step-card outcome-${row.outcome ?? row.phase}`}
      data-testid={`timeline-step-${row.index}`}
    >
      <div className="step-head">
        <span className="num">{row.index + 1}</span>
        <strong>{row.title ?? row.step}</strong> <code className="muted">{row.step}</code>
        <Outcome row={row} />
        {row.durationMs !== undefined && (
          <span className="muted">{(row.durationMs / 1000).toFixed(1)} s</span>
        )}
      </div>
      <ol className="phases" aria-label={`phases of ${row.step}`}>
        {row.snapshot && <li>snapshot {row.snapshot}</li>}
        {row.log && <li>applied</li>}
        {row.rebootKernel && <li>rebooted into {row.rebootKernel}</li>}
        {row.checks.map((c, i) => (
          <li key={`${c.name}-${i}`} className={c.pass ? 'pass' : 'fail'}>
            {c.pass ? '✓' : '✗'} {c.name}
            {!c.pass && c.output && <pre className="script">{c.output.slice(-800)}</pre>}
          </li>
        ))}
      </ol>
      {row.reason && row.outcome !== 'validated' && (
        <div className="rollback" role="status">
          <strong>Failed:</strong> {row.reason.split('\n')[0]}
          {row.rollback && (
            <div>
              Restored snapshot <code>{row.snapshot}</code>
              {row.rollback.durationMs !== undefined &&
                ` in ${(row.rollback.durationMs / 1000).toFixed(1)} s — ${row.rollback.healthy ? 'healthy: fresh SSH login and sudo work' : 'NOT healthy'}`}
            </div>
          )}
        </div>
      )}
      {row.log && (
        <details>
          <summary>Output</summary>
          <pre className="script log">{row.log}</pre>
        </details>
      )}
    </li>
  );
}

function StartRun() {
  const { recipes, load } = useSteps();
  const { machines, refresh } = useMachines();
  const { starting, start, picked, pick } = useRuns();
  const running = machines.filter((m) => m.state === 'running');
  const { recipe, machine } = picked;
  const setRecipe = (v: string) => pick({ recipe: v });
  const setMachine = (v: string) => pick({ machine: v });
  useEffect(() => {
    void load(api());
    void refresh(api());
  }, [load, refresh]);
  const r = recipe || recipes[0]?.id || '';
  const m = running.some((x) => x.name === machine) ? machine : (running[0]?.name ?? '');
  return (
    <div className="form-row" data-testid="start-run">
      <label>
        Recipe{' '}
        <select aria-label="Recipe to run" value={r} onChange={(e) => setRecipe(e.target.value)}>
          {recipes.map((x) => (
            <option key={x.id} value={x.id}>
              {x.id} ({x.steps.length} steps)
            </option>
          ))}
        </select>
      </label>
      <label>
        Machine{' '}
        <select aria-label="Machine to run on" value={m} onChange={(e) => setMachine(e.target.value)}>
          {running.map((x) => (
            <option key={x.name}>{x.name}</option>
          ))}
        </select>
      </label>
      {starting ? (
        <button onClick={starting.cancel}>Cancel run</button>
      ) : (
        <button className="primary" disabled={!r || !m} onClick={() => void start(api(), r, m)}>
          Run recipe
        </button>
      )}
      {running.length === 0 && <span className="muted">Start a machine under Machines first.</span>}
    </div>
  );
}

export function RunsSection() {
  const { history, events, selected, subscribe, refresh, select, recover } = useRuns();
  useEffect(() => {
    const off = subscribe(api());
    void refresh(api());
    return off;
  }, [subscribe, refresh]);
  const view = useMemo(() => buildRunView(selected ? (events[selected] ?? []) : []), [events, selected]);
  return (
    <section aria-labelledby="runs-h">
      <h2 id="runs-h">Runs</h2>
      <StartRun />
      <div className="two-col runs">
        <div>
          <h3>History</h3>
          {history.length === 0 ? (
            <EmptyState title="No runs yet">
              Pick a recipe and a running machine above, then Run recipe.
            </EmptyState>
          ) : (
            <ul className="history" data-testid="run-history">
              {history.map((h) => (
                <li key={h.id} className={h.id === selected ? 'selected' : ''}>
                  <button className="link" onClick={() => void select(api(), h.id)}>
                    {h.recipe} on {h.machine}
                  </button>
                  <RunBadge {...h} />
                  <div className="muted">
                    {new Date(h.startedAt).toLocaleString()} ·{' '}
                    {h.steps.filter((s) => s.outcome === 'validated').length}/{h.steps.length} validated
                  </div>
                  {h.status === 'interrupted' && (
                    <button onClick={() => void recover(api(), h.id)}>
                      Recover (restore {h.lastGoodSnapshot})
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )}
        </div>
        <div>
          {!view.runId ? (
            <EmptyState title="No run selected">
              Start a run or pick one from the history to see its timeline.
            </EmptyState>
          ) : (
            <div data-testid="run-timeline">
              <h3>
                {view.recipe} on {view.machine} <RunBadge {...view} />
              </h3>
              {view.message && <p className="muted">{view.message}</p>}
              {view.benches.length > 0 && (
                <p>
                  {view.benches.map((b) => (
                    <span key={`${b.phase}-${b.tool}`} className="chip">
                      {b.tool} {b.phase}:{' '}
                      {b.error
                        ? 'failed'
                        : b.unit
                          ? `${b.score} ${b.unit}`
                          : `${b.score}/${b.max} of the recipe’s`}
                    </span>
                  ))}
                </p>
              )}
              <ol className="timeline">
                {view.steps.map((row) => (
                  <StepCard key={row.index} row={row} />
                ))}
              </ol>
              {view.finalReboot && (
                <p>
                  Final reboot:{' '}
                  {view.finalReboot === 'running'
                    ? 'rebooting…'
                    : view.persistent === false
                      ? 'SOME CHECKS NO LONGER HOLD'
                      : 'every check still holds'}
                </p>
              )}
              {view.status !== 'running' && <ExportButtons runId={view.runId} />}
            </div>
          )}
        </div>
      </div>
    </section>
  );
}
