import { useEffect, useState } from 'react';
import { api } from '../../api/client';
import { EmptyState } from '../../components/EmptyState';
import { ProgressBar } from '../../components/ProgressBar';
import { useMachines } from './store';
import { SnapshotPanel } from './SnapshotPanel';
import { CreateMachineForm } from './CreateMachineForm';
import { AddMachineForm } from './AddMachineForm';
import { HostCheck } from './HostCheck';
import { HostsPanel } from './HostsPanel';
import { imageSeeding } from '../../../../shared/types';
import { TableHead } from '../../components/TableHead';
import type { MachineInfo } from '../../../../shared/types';
import { openTerminal } from './openTerminal';
import type { RunningOp } from './store';
import { confirmInApp } from '../../components/ConfirmDialog';

/** The state a person should read: a machine being created or started is "starting…", not "stopped". */
function shownState(m: MachineInfo, op: RunningOp | undefined): string {
  if (op && m.state !== 'running' && (op.machine === m.name || op.label === 'Starting')) return 'starting…';
  return m.state;
}

export function MachinesSection() {
  const { machines, providers, images, loaded, ops, refresh, runOp } = useMachines();
  const [selected, setSelected] = useState<string | undefined>();

  useEffect(() => {
    void refresh(api());
    const offs = [
      api().on('machines.changed', () => void refresh(api())),
      api().on('images.changed', () => void refresh(api())),
    ];
    return () => offs.forEach((off) => off());
  }, [refresh]);

  return (
    <section aria-labelledby="machines-h">
      <h2 id="machines-h">Machines</h2>
      <HostCheck />
      <div className="providers" data-testid="providers">
        {providers.map((p) => (
          <span key={p.kind} className={`chip ${p.available ? 'ok' : 'off'}`} title={p.reason ?? ''}>
            {p.kind} {p.available ? (p.version ?? '') : '— unavailable'}
          </span>
        ))}
        {images.map((i) => (
          <span key={i.name} className="chip">
            image {i.name} ·{' '}
            {imageSeeding(i) === 'cloud-init' && i.source === 'pulled'
              ? 'cloud image (cloud-init)'
              : `kernel ${i.kernel}${imageSeeding(i) === 'cloud-init' ? ' · cloud-init' : ''}`}
          </span>
        ))}
      </div>
      {providers.some((p) => p.capabilities.hostPool) && <HostsPanel />}
      <CreateMachineForm />
      <AddMachineForm />
      {loaded && machines.length === 0 && (
        <EmptyState title="No machines yet">
          Create one above (under QEMU it is a copy-on-write overlay of the Debian base image), or add a
          Vagrant project or VirtualBox VM you already have.
        </EmptyState>
      )}
      {machines.length > 0 && (
        <table className="list" data-testid="machine-list">
          <TableHead
            columns={['Name', 'Provider', 'State', 'Image', 'Memory', 'SSH', 'Network', 'Actions']}
          />
          <tbody>
            {machines.map((m) => {
              const op = ops[m.name] ?? Object.values(ops).find((o) => o.machine === m.name);
              const state = shownState(m, op);
              return (
                <tr key={m.name} className={selected === m.name ? 'selected' : ''}>
                  <td>
                    <button className="link" onClick={() => setSelected(m.name)}>
                      {m.name}
                    </button>
                  </td>
                  <td title={m.location ?? ''}>
                    {m.provider}
                    {m.host ? ` on ${m.host}` : ''}
                  </td>
                  <td>
                    <span className={`state state-${state === 'starting…' ? 'starting' : m.state}`}>
                      {state}
                    </span>
                    {m.note && <div className="note">{m.note.split('\n')[0]}</div>}
                  </td>
                  <td>{m.image}</td>
                  <td>{m.memoryMiB ? `${m.memoryMiB} MiB` : '—'}</td>
                  <td>{m.ssh ? `${m.ssh.host}:${m.ssh.port}` : '—'}</td>
                  <td
                    title={
                      m.network === 'isolated'
                        ? 'The guest reaches nothing: not its lab server, not the lab network, not other guests. The app reaches its SSH through the server.'
                        : m.network === 'filtered'
                          ? "The guest reaches only its egress allow list (Debian's mirrors and what you add with hlab machine egress), through the app's package proxy; never this host."
                          : "Not filtered: the guest reaches the network through the hypervisor's own NAT (with VirtualBox before 7.0 also this host's loopback services). Only QEMU machines have the egress filter; see hlab providers list."
                    }
                  >
                    {m.network ?? 'open'}
                  </td>
                  <td className="actions">
                    {op ? (
                      <>
                        <ProgressBar progress={op.progress} label={op.label} startedAt={op.startedAt} />
                        <button onClick={op.cancel}>Cancel</button>
                      </>
                    ) : (
                      <>
                        {m.state !== 'running' && (
                          <button
                            onClick={() =>
                              void runOp(api(), m.name, 'Starting', 'machines.up', { name: m.name })
                            }
                          >
                            Start
                          </button>
                        )}
                        {m.state === 'running' && (
                          <>
                            <button onClick={() => openTerminal(m.name)}>Open terminal</button>
                            <button
                              onClick={() =>
                                void runOp(api(), m.name, 'Stopping', 'machines.down', { name: m.name })
                              }
                            >
                              Stop
                            </button>
                          </>
                        )}
                        <button
                          className="danger"
                          onClick={() =>
                            void confirmInApp(
                              m.adopted
                                ? `Forget machine "${m.name}"? The ${m.provider} machine itself is left alone.`
                                : `Destroy machine "${m.name}" and its disk with all snapshots?`,
                              { confirm: m.adopted ? 'Forget' : 'Destroy', danger: true },
                            ).then(
                              (yes) =>
                                yes &&
                                void runOp(api(), m.name, 'Destroying', 'machines.destroy', { name: m.name }),
                            )
                          }
                        >
                          {m.adopted ? 'Forget' : 'Destroy'}
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {selected && machines.some((m) => m.name === selected) && <SnapshotPanel machine={selected} />}
    </section>
  );
}
