import type { SnapshotInfo } from '../../../../shared/types';
import { useEffect, useState } from 'react';
import { api } from '../../api/client';
import { ProgressBar } from '../../components/ProgressBar';
import { useMachines } from './store';
import { confirmInApp } from '../../components/ConfirmDialog';

/** Names what a restore throws away: the current state since the snapshot, open shells, not later snapshots. */
export function restoreWarning(machine: string, s: SnapshotInfo, all: SnapshotInfo[]): string {
  const later = all.filter((x) => x.createdAt > s.createdAt).map((x) => `"${x.name}"`);
  return [
    `Restore "${s.name}" (taken ${new Date(s.createdAt).toLocaleString()}) on ${machine}?`,
    `Lost: every change made on ${machine} since then${s.live ? ', its running processes and open terminals' : ', and it boots again'}.`,
    later.length ? `Kept: the later snapshot${later.length > 1 ? 's' : ''} ${later.join(', ')}.` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

export function SnapshotPanel({ machine }: { machine: string }) {
  const { snapshots, loadSnapshots, runOp, ops } = useMachines();
  const [name, setName] = useState('');
  const list = snapshots[machine] ?? [];
  const op = ops[`snap:${machine}`];

  useEffect(() => {
    void loadSnapshots(api(), machine);
    return api().on('machines.changed', (e) => {
      if (e.name === machine) void loadSnapshots(api(), machine);
    });
  }, [machine, loadSnapshots]);

  const key = `snap:${machine}`;
  return (
    <div className="panel" aria-label={`Snapshots of ${machine}`}>
      <h3>Snapshots of {machine}</h3>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void runOp(api(), key, 'Taking snapshot', 'snapshots.take', { machine, snapshot: name }).then(() =>
            setName(''),
          );
        }}
      >
        <input
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="before-sshd"
          required
          aria-label="Snapshot name"
        />
        <button type="submit" disabled={Boolean(op)}>
          Take snapshot
        </button>
      </form>
      {op && <ProgressBar progress={op.progress} label={op.label} />}
      <ul className="snapshots">
        {list.length === 0 && <li className="muted">No snapshots. Take one before you change anything.</li>}
        {list.map((s) => (
          <li key={s.name}>
            <strong>{s.name}</strong>{' '}
            <span className="muted">
              {s.live ? 'live' : 'disk only'} · {new Date(s.createdAt).toLocaleString()}
            </span>
            <button
              onClick={() =>
                void confirmInApp(restoreWarning(machine, s, list), {
                  confirm: 'Restore',
                  danger: true,
                }).then(
                  (yes) =>
                    yes &&
                    void runOp(api(), key, 'Restoring', 'snapshots.restore', { machine, snapshot: s.name }),
                )
              }
            >
              Restore
            </button>
            <button
              className="danger"
              onClick={() =>
                void confirmInApp(
                  `Delete snapshot "${s.name}" of ${machine}? It cannot be restored afterwards.`,
                  {
                    confirm: 'Delete',
                    danger: true,
                  },
                ).then(
                  (yes) =>
                    yes &&
                    void runOp(api(), key, 'Deleting', 'snapshots.remove', { machine, snapshot: s.name }),
                )
              }
            >
              Delete
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
