import { api } from '../../api/client';
import { ProgressBar } from '../../components/ProgressBar';
import { TerminalView } from '../terminal/TerminalView';
import { Markdown } from './Markdown';
import { useWorkshops } from './store';

/** Terminal keys of the workshop view: apart from the Terminal section's tabs. */
const TERMINAL_KEY_BASE = 1_000_000;

/** The trainee's screen: the challenge page beside a terminal on the machine, and Check / Hint / Reset. */
export function TraineeView() {
  const { open, status, lastCheck, busy, terminalEpoch, show, call } = useWorkshops();
  const set = useWorkshops.setState;
  if (!open) return null;
  const machine = open;
  const p = status?.progress;
  const cur = status?.current;

  const check = async () => {
    const r = await call(api(), 'Checking', 'workshops.check', { machine });
    if (r) set({ lastCheck: r, status: { ...status!, progress: r.progress } });
    await show(api(), machine).then(() => r && set({ lastCheck: r }));
  };
  const reset = async () => {
    const r = await call(api(), 'Resetting to the start of the challenge', 'workshops.reset', { machine });
    if (r) set({ status: r, lastCheck: undefined, terminalEpoch: terminalEpoch + 1 });
  };
  const solve = async () => {
    if (!confirm('Run the solution? Your trainer will see that you used it.')) return;
    const r = await call(api(), 'Running the solution', 'workshops.solve', { machine });
    await show(api(), machine);
    if (r) set({ lastCheck: r, terminalEpoch: useWorkshops.getState().terminalEpoch + 1 });
  };
  const hint = async () => {
    const r = await call(api(), 'Hint', 'workshops.hint', { machine });
    if (r) set({ status: r });
  };

  return (
    <section aria-labelledby="Workshop-h" className="workshop">
      <div className="toolbar">
        <button onClick={() => void show(api(), undefined)}>← All workshops</button>
        <h2 id="Workshop-h">{status?.workshop.title ?? machine}</h2>
        <span className="muted">
          {p?.trainee} on <code>{machine}</code>
        </span>
      </div>
      <ol className="challenges" aria-label="Challenges">
        {p?.challenges.map((c, i) => (
          <li
            key={c.id}
            className={`challenge-${c.status}`}
            aria-current={c.status === 'current' ? 'step' : undefined}
          >
            {c.status === 'passed' ? '✓ ' : ''}
            {status?.workshop.challenges[i]?.title ?? c.id}
          </li>
        ))}
      </ol>
      {busy && (
        <div className="toolbar">
          <ProgressBar progress={busy.progress} label={busy.label} />
          <button onClick={busy.cancel}>Cancel</button>
        </div>
      )}
      <div className="workshop-split">
        <div className="workshop-page">
          {cur ? (
            <>
              <Markdown text={cur.page} />
              {cur.hints.map((h, i) => (
                <p key={i} className="hint">
                  <strong>Hint {i + 1}:</strong> {h}
                </p>
              ))}
              <div className="toolbar">
                <button disabled={Boolean(busy)} onClick={() => void check()}>
                  Check
                </button>
                <button disabled={Boolean(busy) || cur.hintsLeft === 0} onClick={() => void hint()}>
                  Hint ({cur.hintsLeft} left)
                </button>
                <button disabled={Boolean(busy)} onClick={() => void reset()}>
                  Reset
                </button>
                {cur.hasSolve && (
                  <button disabled={Boolean(busy)} onClick={() => void solve()}>
                    Show me (solve)
                  </button>
                )}
              </div>
            </>
          ) : (
            p && <p className="pass">Every challenge passed. Well done.</p>
          )}
          {lastCheck && (
            <div role="status" className={lastCheck.pass ? 'pass' : 'fail'} data-testid="check-result">
              {lastCheck.pass ? (
                <p>Passed: {lastCheck.challenge}</p>
              ) : (
                <>
                  <p>Not yet:</p>
                  <ul>
                    {lastCheck.failures.map((f, i) => (
                      <li key={i}>{f}</li>
                    ))}
                  </ul>
                </>
              )}
            </div>
          )}
        </div>
        <div className="workshop-terminal">
          <div className="toolbar">
            <button onClick={() => set({ terminalEpoch: terminalEpoch + 1 })}>Reconnect terminal</button>
          </div>
          <TerminalView
            key={terminalEpoch}
            tabKey={TERMINAL_KEY_BASE + terminalEpoch}
            machine={machine}
            visible
          />
        </div>
      </div>
    </section>
  );
}
