import { useEffect, useState } from 'react';
import type { ClassLinks } from '../../../../shared/class';
import type { Progress } from '../../../../shared/types';
import { api } from '../../api/client';
import { ProgressBar } from '../../components/ProgressBar';
import { useWorkshops } from '../workshops/store';
import { Dashboard, download } from './Dashboard';

/** The trainer's Class section: start a class for a room, hand out the links, then the live dashboard. */
export function ClassSection() {
  const { workshops, refresh } = useWorkshops();
  const [running, setRunning] = useState<boolean>();
  const [workshop, setWorkshop] = useState('');
  const [seats, setSeats] = useState(2);
  const [listen, setListen] = useState('');
  const [busy, setBusy] = useState<{ progress?: Progress; cancel: () => void }>();
  const [error, setError] = useState<string>();
  const [links, setLinks] = useState<ClassLinks & { cardsHtml: string }>();

  useEffect(() => {
    void refresh(api());
    void api()
      .call('class.status', {})
      .then((r) => setRunning(r.ok));
    return api().on('class.changed', () => setRunning(true));
  }, [refresh]);

  const start = async () => {
    const controller = new AbortController();
    setBusy({ cancel: () => controller.abort() });
    setError(undefined);
    const r = await api().call(
      'class.start',
      {
        workshop: workshop || (workshops[0]?.id ?? ''),
        seats,
        ...(listen.trim() ? { listen: listen.trim() } : {}),
      },
      { signal: controller.signal, onProgress: (progress) => setBusy((b) => b && { ...b, progress }) },
    );
    setBusy(undefined);
    if (!r.ok) return setError(r.error.message);
    setLinks({ ...r.value.links, cardsHtml: r.value.cardsHtml });
    setRunning(true);
  };

  if (running === undefined) return <p>Loading…</p>;
  return (
    <section aria-labelledby="Class-h">
      <h2 id="Class-h">Class</h2>
      {!running && (
        <form
          className="form"
          onSubmit={(e) => {
            e.preventDefault();
            void start();
          }}
        >
          <p className="muted">
            Serves a workshop to trainees&apos; browsers over TLS: one seat (machine) each, made before the
            class starts.
          </p>
          <label>
            Workshop{' '}
            <select value={workshop} onChange={(e) => setWorkshop(e.target.value)} aria-label="Workshop">
              {workshops.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.title}
                </option>
              ))}
            </select>
          </label>
          <label>
            Seats{' '}
            <input
              type="number"
              min={1}
              max={40}
              value={seats}
              onChange={(e) => setSeats(Number(e.target.value))}
            />
          </label>
          <label>
            Listen on (ADDR:PORT; empty = this computer only){' '}
            <input
              value={listen}
              placeholder="192.168.1.20:8443"
              onChange={(e) => setListen(e.target.value)}
            />
          </label>
          <button type="submit" disabled={Boolean(busy) || workshops.length === 0}>
            Start class
          </button>
          {busy && (
            <div className="toolbar">
              <ProgressBar progress={busy.progress} label="Making seats" />
              <button type="button" onClick={busy.cancel}>
                Cancel
              </button>
            </div>
          )}
          {error && (
            <p role="alert" className="fail">
              {error}
            </p>
          )}
        </form>
      )}
      {links && (
        <div className="notice" data-testid="class-links">
          <p>
            Your dashboard link (keep it to yourself): <code>{links.trainer}</code>
          </p>
          <ul>
            {links.seats.map((s) => (
              <li key={s.seat}>
                {s.seat}: <code>{s.url}</code>
              </li>
            ))}
          </ul>
          <button onClick={() => download('seat-cards.html', links.cardsHtml)}>Save seat cards</button>
          <button onClick={() => setLinks(undefined)}>Hide links</button>
          <p className="muted small">
            Each link works once. The server keeps only their hashes: save the cards now.
          </p>
        </div>
      )}
      {running && <Dashboard api={api()} />}
    </section>
  );
}
