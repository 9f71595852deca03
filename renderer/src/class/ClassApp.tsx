import { useEffect, useMemo, useState } from 'react';
import type { ClassPrincipal } from '../../../shared/class';
import { createClient, type ApiClient } from '../../../shared/rpc';
import { createWsTransport, type ConnectionState } from '../api/ws-transport';
import { Dashboard } from '../features/class/Dashboard';
import { redeem, takeToken, whoAmI } from './join';
import { SeatPage } from './SeatPage';
import { ConfirmDialog } from '../components/ConfirmDialog';

type Phase =
  | { kind: 'loading' }
  | { kind: 'join'; token: string }
  | { kind: 'no-link' }
  | { kind: 'in'; who: ClassPrincipal };

function Join({ token, onJoined }: { token: string; onJoined: (p: ClassPrincipal) => void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const join = async () => {
    setBusy(true);
    setError(undefined);
    try {
      onJoined(await redeem(token, name));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      className="join"
      onSubmit={(e) => {
        e.preventDefault();
        void join();
      }}
    >
      <h1>Join the class</h1>
      <label>
        Your name <input value={name} maxLength={64} onChange={(e) => setName(e.target.value)} autoFocus />
      </label>
      <button type="submit" disabled={busy}>
        Join
      </button>
      {error && (
        <p role="alert" className="fail">
          {error}
        </p>
      )}
    </form>
  );
}

function Connected({ who }: { who: ClassPrincipal }) {
  const [conn, setConn] = useState<ConnectionState>('connecting');
  const client: ApiClient = useMemo(
    () => createClient(createWsTransport(`wss://${window.location.host}/class/ws`, (s) => setConn(s))),
    [],
  );
  return (
    <div className="class-page">
      <div className={`conn conn-${conn}`} data-testid="connection">
        <span className="dot" aria-hidden /> {conn}
      </div>
      {who.role === 'trainer' ? <Dashboard api={client} remote /> : <SeatPage api={client} />}
      <ConfirmDialog />
    </div>
  );
}

// Read once, before React renders (and before StrictMode's second effect run would find it gone).
const linkToken = takeToken(window.location, window.history);

/** The class server's one page: join with the link, then the seat (trainee) or the dashboard (trainer). */
export function ClassApp() {
  const [phase, setPhase] = useState<Phase>(
    linkToken ? { kind: 'join', token: linkToken } : { kind: 'loading' },
  );
  useEffect(() => {
    if (linkToken) return;
    void whoAmI().then((who) => setPhase(who ? { kind: 'in', who } : { kind: 'no-link' }));
  }, []);
  if (phase.kind === 'loading') return <p>Loading…</p>;
  if (phase.kind === 'join')
    return <Join token={phase.token} onJoined={(who) => setPhase({ kind: 'in', who })} />;
  if (phase.kind === 'no-link')
    return (
      <div className="join">
        <h1>Hardening Lab class</h1>
        <p>
          Open the link from your seat card. A link works once; if yours was used, ask your trainer for a new
          one.
        </p>
      </div>
    );
  return <Connected who={phase.who} />;
}
