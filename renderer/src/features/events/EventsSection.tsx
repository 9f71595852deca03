import { useEffect } from 'react';
import { api } from '../../api/client';
import { EmptyState } from '../../components/EmptyState';
import { TableHead } from '../../components/TableHead';
import { useMachines } from '../machines/store';
import type { AuthEvent, DestinationState } from '../../../../shared/events';
import { applyFilter, useEvents, type EventFilter } from './store';

const POLL_MS = 3000;

/** Logins and sudo on a machine, as sshd, sudo and logind recorded them, and where they are forwarded. */
export function EventsSection() {
  const { machines } = useMachines();
  const { machine, events, forward, sshdLogLevel, live, filter, setFilter, load, collect, setLive } =
    useEvents();
  const running = machines.filter((m) => m.state === 'running');
  const current = machine ?? running[0]?.name;
  useEffect(() => {
    if (current && current !== machine) void load(api(), current);
  }, [current, machine, load]);
  useEffect(() => {
    if (!live) return;
    void collect(api());
    const t = setInterval(() => void collect(api()), POLL_MS);
    return () => clearInterval(t);
  }, [live, collect]);
  if (!machines.length)
    return <EmptyState title="No machines">Create a machine first; its logins show here.</EmptyState>;
  return (
    <section>
      <h2>Events</h2>
      <p className="muted">
        Logins and sudo on the machine, read from its journal over SSH. The app&apos;s own logins are
        recognised by its key. Forwarded to every SIEM destination (<code>hlab events forward add</code>); a
        receiver that is down keeps its events waiting on disk.
      </p>
      <div className="form-row">
        <select
          aria-label="Machine for events"
          value={current ?? ''}
          onChange={(e) => void load(api(), e.target.value)}
        >
          {machines.map((m) => (
            <option key={m.name}>{m.name}</option>
          ))}
        </select>
        <button onClick={() => void collect(api())} disabled={!current}>
          Read new events
        </button>
        <label>
          <input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} /> live
        </label>
        <select
          aria-label="Outcome"
          value={filter.outcome}
          onChange={(e) => setFilter({ outcome: e.target.value as 'all' | 'success' | 'failure' })}
        >
          <option value="all">all outcomes</option>
          <option value="failure">failures</option>
          <option value="success">successes</option>
        </select>
        <label>
          <input
            type="checkbox"
            checked={filter.hideOperator}
            onChange={(e) => setFilter({ hideOperator: e.target.checked })}
          />{' '}
          hide this app&apos;s activity
        </label>
        <input
          aria-label="Search events"
          placeholder="user, action, text"
          value={filter.text}
          onChange={(e) => setFilter({ text: e.target.value })}
        />
      </div>
      <EventsView
        machine={current}
        events={events}
        filter={filter}
        forward={forward}
        {...(sshdLogLevel ? { sshdLogLevel } : {})}
      />
    </section>
  );
}

/** The filtered table (newest first), the LogLevel warning and each destination's backlog. */
export function EventsView({
  machine,
  events,
  filter,
  forward,
  sshdLogLevel,
}: {
  machine?: string;
  events: AuthEvent[];
  filter: EventFilter;
  forward: DestinationState[];
  sshdLogLevel?: string;
}) {
  const current = machine;
  const shown = applyFilter(events, filter).slice().reverse();
  return (
    <>
      {sshdLogLevel && !/^(VERBOSE|DEBUG\d?)$/.test(sshdLogLevel) && (
        <p className="warning" data-testid="loglevel-warning">
          sshd on {current} logs at {sshdLogLevel}: failed key attempts are not recorded. Set LogLevel
          VERBOSE.
        </p>
      )}
      {forward.length > 0 && (
        <ul className="muted" data-testid="forward-state">
          {forward.map((f) => (
            <li key={f.id}>
              → {f.sink}: {f.backlog ? `${f.backlog} waiting` : 'nothing waiting'}
              {f.lastError && <span className="bad-text"> ({f.lastError})</span>}
            </li>
          ))}
        </ul>
      )}
      <table className="list" data-testid="events">
        <TableHead columns={['Time', 'Outcome', 'Action', 'User', 'From', 'How']} />
        <tbody>
          {shown.map((e) => (
            <tr
              key={e.id}
              className={e.alert ? 'regression alert' : e.outcome === 'failure' ? 'regression' : ''}
              title={e.raw}
            >
              <td>{e.time.slice(0, 19).replace('T', ' ')}</td>
              <td>{e.outcome}</td>
              <td>
                <code>{e.action}</code>
              </td>
              <td>{e.user ?? ''}</td>
              <td>{e.sourceIp ? `${e.sourceIp}${e.sourcePort ? `:${e.sourcePort}` : ''}` : ''}</td>
              <td>
                {e.method ?? e.command ?? ''}
                {e.operator && <span className="chip">this app</span>}
                {e.alert && (
                  <strong className="chip bad-text" data-testid="event-alert">
                    alert: {e.alert}
                  </strong>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!shown.length && <p className="muted">No events {events.length ? 'match the filter' : 'read yet'}.</p>}
    </>
  );
}
