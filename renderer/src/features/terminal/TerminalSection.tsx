import { useEffect, useState } from 'react';
import { api } from '../../api/client';
import { EmptyState } from '../../components/EmptyState';
import type { MachineInfo } from '../../../../shared/types';
import { useMachines } from '../machines/store';
import { useTerminals } from './store';
import { TerminalView } from './TerminalView';
import { blockedReason } from './blocked';

const machineWord = (name: string, machines: readonly MachineInfo[]) =>
  machines.find((x) => x.name === name)?.state ?? 'removed';

export function TerminalSection() {
  const { machines, loaded, refresh } = useMachines();
  const { tabs, active, open, close, focus } = useTerminals();
  const running = machines.filter((m) => m.state === 'running');
  const [picked, setPicked] = useState('');
  const machine = running.some((m) => m.name === picked) ? picked : (running[0]?.name ?? '');

  const activeTab = tabs.find((t) => t.key === active);
  const activeBlocked = activeTab && blockedReason(activeTab.machine, machines, loaded);

  useEffect(() => {
    void refresh(api());
    return api().on('machines.changed', () => void refresh(api()));
  }, [refresh]);

  return (
    <section aria-labelledby="Terminal-h" className="terminal-section">
      <h2 id="Terminal-h">Terminal</h2>
      {running.length > 0 ? (
        <div className="toolbar">
          <label>
            Machine{' '}
            <select value={machine} onChange={(e) => setPicked(e.target.value)} aria-label="Machine">
              {running.map((m) => (
                <option key={m.name} value={m.name}>
                  {m.name}
                </option>
              ))}
            </select>
          </label>
          <button onClick={() => open(machine)}>Open terminal</button>
        </div>
      ) : (
        <EmptyState title="No running machine">
          A terminal needs a running machine: start or create one under Machines (its row has “Open
          terminal”).
        </EmptyState>
      )}
      {tabs.length > 0 && (
        <div className="tabs" role="tablist" aria-label="Terminals">
          {tabs.map((t) => {
            const why = blockedReason(t.machine, machines, loaded);
            return (
              <div key={t.key} className={`tab ${t.key === active ? 'active' : ''}`}>
                <button
                  role="tab"
                  aria-selected={t.key === active}
                  onClick={() => focus(t.key)}
                  title={why ?? t.reason ?? t.state}
                >
                  <span className={`tdot tdot-${why ? 'closed' : t.state}`} aria-hidden /> {t.machine} #
                  {t.key}
                  {why && <span className="muted"> · {machineWord(t.machine, machines)}</span>}
                </button>
                <button aria-label={`Close terminal ${t.key}`} onClick={() => close(t.key)}>
                  ×
                </button>
              </div>
            );
          })}
        </div>
      )}
      {activeBlocked && (
        <p className="terminal-blocked" role="status" data-testid="terminal-blocked">
          {activeBlocked}
        </p>
      )}
      <div className="terminals">
        {tabs.map((t) => (
          <TerminalView
            key={t.key}
            tabKey={t.key}
            machine={t.machine}
            visible={t.key === active}
            blocked={blockedReason(t.machine, machines, loaded)}
          />
        ))}
      </div>
    </section>
  );
}
