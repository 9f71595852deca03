import { useEffect, useMemo, useState } from 'react';
import type { ClassInfo, SeatTile } from '../../../../shared/class';
import type { ApiClient } from '../../../../shared/rpc';
import type { ShellOps } from '../terminal/session';
import { XtermPane } from '../terminal/XtermPane';
import { confirmInApp } from '../../components/ConfirmDialog';

function watchShell(api: ApiClient, seat: string): ShellOps {
  return {
    open: (cols, rows) => api.call('class.watch', { seat, cols, rows }),
    input: (_id, data) => api.call('class.input', { seat, data }),
    // The trainee's window decides the size; a watcher only looks.
    resize: () => undefined,
    ack: () => undefined,
    close: () => void api.call('class.unwatch', { seat }),
  };
}

export function download(filename: string, content: string, type = 'text/html'): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([content], { type }));
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

const ago = (iso?: string) => {
  if (!iso) return '—';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 60 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
};

function Tile({
  t,
  onAction,
  watching,
}: {
  t: SeatTile;
  onAction: (a: string, seat: string) => void;
  watching: boolean;
}) {
  return (
    <li className={`tile tile-${t.state}${t.lockedOut ? ' tile-locked' : ''}`} data-testid={`tile-${t.seat}`}>
      <div className="tile-head">
        <strong>{t.trainee || t.seat}</strong> <span className="muted">{t.seat}</span>
        {t.host && <span className="muted"> on {t.host}</span>}
      </div>
      <div>
        {t.state}
        {t.detail ? ` — ${t.detail}` : ''}
        {!t.joined && t.state === 'ready' ? ' · not joined' : ''}
        {t.revoked ? ' · link revoked' : ''}
      </div>
      <div data-testid={`progress-${t.seat}`}>
        {t.passed}/{t.total} passed · on {t.challenge || '—'}
      </div>
      <div className="muted">
        {t.attempts} checks · {t.hints} hints · {t.resets} resets
        {t.solveUsed ? ` · solved ${t.solveUsed}` : ''} · last {ago(t.lastActivity)}
      </div>
      {t.lockedOut && <div className="fail">locked out? (the last login failed)</div>}
      {t.takenOver && <div className="notice">you are typing in this terminal</div>}
      <div className="toolbar">
        <button onClick={() => onAction('reset', t.seat)}>Reset</button>
        <button onClick={() => onAction(watching ? 'unwatch' : 'watch', t.seat)}>
          {watching ? 'Stop watching' : 'Watch'}
        </button>
        <button onClick={() => onAction('link', t.seat)}>New link</button>
        <button onClick={() => onAction('revoke', t.seat)}>Revoke</button>
      </div>
    </li>
  );
}

/** The trainer's live view of the room: a tile per seat, pushed by the server, and the trainer's actions. */
export function Dashboard({ api, remote = false }: { api: ApiClient; remote?: boolean }) {
  const [info, setInfo] = useState<ClassInfo>();
  const [error, setError] = useState<string>();
  const [watching, setWatching] = useState<string>();
  const [link, setLink] = useState<{ seat: string; url: string; cardsHtml: string }>();
  const shell = useMemo(() => (watching ? watchShell(api, watching) : undefined), [api, watching]);
  const takenOver = info?.seats.find((s) => s.seat === watching)?.takenOver ?? false;

  useEffect(() => {
    void api.call('class.status', {}).then((r) => (r.ok ? setInfo(r.value) : setError(r.error.message)));
    return api.on('class.changed', (e) => setInfo(e.info));
  }, [api]);

  const act = async (action: string, seat: string) => {
    setError(undefined);
    const fail = (r: { ok: boolean; error?: { message: string } }) => {
      if (!r.ok) setError(r.error?.message);
    };
    if (action === 'watch') setWatching(seat);
    else if (action === 'unwatch') setWatching(undefined);
    else if (action === 'reset') {
      if (
        await confirmInApp(
          `Reset ${seat} to the start of its challenge? The trainee's changes since then are lost.`,
          { confirm: 'Reset', danger: true },
        )
      )
        fail(await api.call('class.resetSeat', { seat }));
    } else if (action === 'revoke') {
      if (
        await confirmInApp(`Revoke ${seat}'s link? Its page stops working at once.`, {
          confirm: 'Revoke',
          danger: true,
        })
      )
        fail(await api.call('class.revoke', { seat }));
    } else if (action === 'link') {
      const r = await api.call('class.newLink', { seat });
      if (r.ok) setLink(r.value);
      else fail(r);
    }
  };

  if (!info) return error ? <p className="fail">{error}</p> : <p>Loading the class…</p>;
  return (
    <section className="dashboard" aria-labelledby="dash-h">
      <div className="toolbar">
        <h2 id="dash-h">{info.title}</h2>
        <span className="muted">
          {info.seats.filter((s) => s.joined).length}/{info.seats.length} joined · {info.url}
        </span>
        <button
          onClick={() =>
            void api
              .call('class.export', {})
              .then((r) =>
                r.ok ? download(`class-${info.workshop}.html`, r.value.html) : setError(r.error.message),
              )
          }
        >
          Class table
        </button>
        {!remote && (
          <button
            onClick={() =>
              void confirmInApp('End the class? Links stop working and every seat is destroyed.', {
                confirm: 'End class',
                danger: true,
              }).then(
                (yes) =>
                  yes &&
                  void api
                    .call('class.end', {})
                    .then((r) => (r.ok ? setInfo(undefined) : setError(r.error.message))),
              )
            }
          >
            End class
          </button>
        )}
      </div>
      <p className="muted small">
        Certificate ({info.certificate}) SHA-256: <code>{info.fingerprint}</code>
      </p>
      {error && (
        <p role="alert" className="fail">
          {error}
        </p>
      )}
      {link && (
        <div className="notice" data-testid="new-link">
          New link for {link.seat}: <code>{link.url}</code>{' '}
          <button onClick={() => download(`seat-card-${link.seat}.html`, link.cardsHtml)}>Save card</button>
          <button onClick={() => setLink(undefined)}>Done</button>
        </div>
      )}
      <ul className="tiles" aria-label="Seats">
        {info.seats.map((t) => (
          <Tile key={t.seat} t={t} onAction={(a, s) => void act(a, s)} watching={watching === t.seat} />
        ))}
      </ul>
      {watching && shell && (
        <div className="watch">
          <div className="toolbar">
            <strong>{watching}</strong> {takenOver ? '(you are typing)' : '(read-only)'}
            <button
              onClick={() =>
                void api
                  .call('class.takeover', { seat: watching, on: !takenOver })
                  .then((r) => !r.ok && setError(r.error.message))
              }
            >
              {takenOver ? 'Hand back' : 'Take over'}
            </button>
          </div>
          <XtermPane
            key={watching}
            api={api}
            shell={shell}
            testId={`watch-${watching}`}
            readOnly={!takenOver}
          />
        </div>
      )}
    </section>
  );
}
