import { useRef } from 'react';
import { api } from '../../api/client';
import { TypeInTerminal } from '../../components/typeInTerminal';
import { ProgressBar } from '../../components/ProgressBar';
import { TerminalView } from '../terminal/TerminalView';
import {
  ChallengeList,
  ChallengePage,
  CheckResultView,
  RESET_QUESTION,
  SOLVE_QUESTION,
} from './ChallengeParts';
import { useWorkshops } from './store';
import { confirmInApp } from '../../components/ConfirmDialog';

/** Terminal keys of the workshop view: apart from the Terminal section's tabs. */
const TERMINAL_KEY_BASE = 1_000_000;

/** The trainee's screen: the challenge page beside a terminal on the machine, and Check / Hint / Reset. */
export function TraineeView() {
  const { open, status, lastCheck, busy, terminalEpoch, show, call } = useWorkshops();
  const typeRef = useRef<((text: string) => void) | undefined>(undefined);
  const set = useWorkshops.setState;
  if (!open) return null;
  const machine = open;
  const p = status?.progress;

  const check = async () => {
    const r = await call(api(), 'Checking', 'workshops.check', { machine });
    if (r) set({ lastCheck: r, status: { ...status!, progress: r.progress } });
    await show(api(), machine).then(() => r && set({ lastCheck: r }));
  };
  const reset = async () => {
    if (!(await confirmInApp(RESET_QUESTION, { confirm: 'Reset', danger: true }))) return;
    const r = await call(api(), 'Resetting to the start of the challenge', 'workshops.reset', { machine });
    if (r) set({ status: r, lastCheck: undefined, terminalEpoch: terminalEpoch + 1 });
  };
  const solve = async () => {
    if (!(await confirmInApp(SOLVE_QUESTION, { confirm: 'Run the solution' }))) return;
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
      <ChallengeList status={status} />
      {busy && (
        <div className="toolbar">
          <ProgressBar progress={busy.progress} label={busy.label} startedAt={busy.startedAt} />
          <button onClick={busy.cancel}>Cancel</button>
        </div>
      )}
      <div className="workshop-split">
        <div className="workshop-page">
          <TypeInTerminal.Provider value={(text) => typeRef.current?.(text)}>
            <ChallengePage
              status={status}
              busy={Boolean(busy)}
              on={{
                check: () => void check(),
                hint: () => void hint(),
                reset: () => void reset(),
                solve: () => void solve(),
              }}
            />
          </TypeInTerminal.Provider>
          <CheckResultView result={lastCheck} status={status} />
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
            typeRef={typeRef}
          />
        </div>
      </div>
    </section>
  );
}
