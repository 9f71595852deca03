import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { SeatView } from '../../../shared/class';
import type { ApiClient, CallOptions } from '../../../shared/rpc';
import type { Progress } from '../../../shared/types';
import type { CheckResult, WorkshopStatus } from '../../../shared/workshops';
import type { MethodName, ReqOf, ResOf } from '../../../shared/api';
import { ProgressBar } from '../components/ProgressBar';
import type { ShellOps } from '../features/terminal/session';
import { XtermPane } from '../features/terminal/XtermPane';
import { ChallengeList, ChallengePage, CheckResultView } from '../features/workshops/ChallengeParts';
import { confirmInApp } from '../components/ConfirmDialog';
import { TypeInTerminal } from '../components/typeInTerminal';
import { RESET_QUESTION, SOLVE_QUESTION } from '../features/workshops/ChallengeParts';

function seatShell(api: ApiClient): ShellOps {
  return {
    open: (cols, rows) => api.call('seat.terminal', { cols, rows }),
    input: (_id, data) => api.call('seat.input', { data }),
    resize: (_id, cols, rows) => void api.call('seat.resize', { cols, rows }),
    ack: (_id, chars) => void api.call('seat.ack', { chars }),
    close: () => undefined,
  };
}

/** A trainee's whole screen: the challenge beside a terminal on their seat, and the four buttons. */
export function SeatPage({ api }: { api: ApiClient }) {
  const [me, setMe] = useState<SeatView>();
  const [status, setStatus] = useState<WorkshopStatus>();
  const [lastCheck, setLastCheck] = useState<CheckResult>();
  const [busy, setBusy] = useState<{ label: string; progress?: Progress }>();
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<{ text: string; takenOver: boolean }>();
  const [epoch, setEpoch] = useState(0);
  const typeRef = useRef<((text: string) => void) | undefined>(undefined);
  const shell = useMemo(() => seatShell(api), [api, epoch]); // eslint-disable-line react-hooks/exhaustive-deps

  const load = useCallback(
    () =>
      Promise.all([api.call('seat.whoami', {}), api.call('seat.status', {})]).then(([w, s]) => {
        if (w.ok) {
          setMe(w.value);
          if (w.value.takenOver)
            setNotice({ text: 'Your trainer is typing in your terminal.', takenOver: true });
        }
        if (s.ok) setStatus(s.value);
        else setError(s.error.message);
      }),
    [api],
  );

  useEffect(() => {
    void load();
    return api.on('seat.notice', (n) => {
      setNotice(n);
      if (n.kind === 'reset') {
        setEpoch((e) => e + 1);
        setLastCheck(undefined);
        void load();
      }
    });
  }, [api, load]);

  const run = async <M extends MethodName>(
    label: string,
    method: M,
    params: ReqOf<M>,
  ): Promise<ResOf<M> | undefined> => {
    setBusy({ label });
    setError(undefined);
    const opts: CallOptions = { onProgress: (progress) => setBusy({ label, progress }) };
    const r = await api.call(method, params, opts);
    setBusy(undefined);
    if (!r.ok) {
      setError(r.error.message);
      return undefined;
    }
    return r.value;
  };

  const reset = async () => {
    if (!(await confirmInApp(RESET_QUESTION, { confirm: 'Reset', danger: true }))) return;
    const r = await run('Resetting to the start of the challenge', 'seat.reset', {});
    if (!r) return;
    setStatus(r);
    setLastCheck(undefined);
    setEpoch((e) => e + 1);
  };
  const solve = async () => {
    if (!(await confirmInApp(SOLVE_QUESTION, { confirm: 'Run the solution' }))) return;
    const r = await run('Running the solution', 'seat.solve', {});
    if (!r) return;
    setLastCheck(r);
    setEpoch((e) => e + 1);
    void load();
  };

  return (
    <section className="workshop seat" aria-labelledby="seat-h">
      <div className="toolbar">
        <h2 id="seat-h">{status?.workshop.title ?? me?.workshop ?? 'Your seat'}</h2>
        <span className="muted" data-testid="seat-who">
          {me ? `${me.trainee} · ${me.seat}` : ''}
        </span>
      </div>
      {notice && (
        <div
          role="status"
          className={notice.takenOver ? 'notice notice-strong' : 'notice'}
          data-testid="seat-notice"
        >
          {notice.text}
          <button onClick={() => setNotice(undefined)} aria-label="Dismiss">
            ×
          </button>
        </div>
      )}
      <ChallengeList status={status} />
      {busy && <ProgressBar progress={busy.progress} label={busy.label} />}
      {error && (
        <p role="alert" className="fail">
          {error}
        </p>
      )}
      <div className="workshop-split">
        <div className="workshop-page">
          {/* A trainee whose seat the trainer took over does not type, by button or by key. */}
          <TypeInTerminal.Provider value={notice?.takenOver ? undefined : (text) => typeRef.current?.(text)}>
            <ChallengePage
              status={status}
              busy={Boolean(busy)}
              on={{
                check: () =>
                  void run('Checking', 'seat.check', {}).then((r) => {
                    if (!r) return;
                    setLastCheck(r);
                    void load();
                  }),
                hint: () => void run('Hint', 'seat.hint', {}).then((r) => r && setStatus(r)),
                reset: () => void reset(),
                solve: () => void solve(),
              }}
            />
          </TypeInTerminal.Provider>
          <CheckResultView result={lastCheck} status={status} />
          {me && (
            <p className="muted small">
              Server certificate SHA-256: <code>{me.fingerprint}</code>
            </p>
          )}
        </div>
        <div className="workshop-terminal">
          <div className="toolbar">
            <button onClick={() => setEpoch((e) => e + 1)}>Reconnect terminal</button>
          </div>
          <XtermPane
            key={epoch}
            api={api}
            shell={shell}
            testId="seat-terminal"
            readOnly={notice?.takenOver === true}
            typeRef={typeRef}
          />
        </div>
      </div>
    </section>
  );
}
