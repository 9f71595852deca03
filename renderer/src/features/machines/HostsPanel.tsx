import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { LabHostInfo } from '../../../../shared/types';
import { api } from '../../api/client';
import { TableHead } from '../../components/TableHead';
import { useToasts } from '../toasts/store';
import { confirmInApp } from '../../components/ConfirmDialog';

/** Lab servers (libvirt over qemu+ssh) machines can be placed on: what each has, add, remove. */
export function HostsPanel() {
  const [hosts, setHosts] = useState<LabHostInfo[] | undefined>();
  const [key, setKey] = useState('');
  const [name, setName] = useState('');
  const [uri, setUri] = useState('');
  const [busy, setBusy] = useState(false);
  const toast = useToasts((s) => s.push);

  const load = useCallback(async () => {
    const r = await api().call('hosts.list', {});
    if (r.ok) setHosts(r.value);
  }, []);

  useEffect(() => {
    void api()
      .call('hosts.list', {})
      .then((r) => r.ok && setHosts(r.value));
    void api()
      .call('hosts.key', {})
      .then((r) => r.ok && setKey(r.value.publicKey));
  }, []);

  const add = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const r = await api().call('hosts.add', { name, uri });
    setBusy(false);
    if (!r.ok) return toast({ kind: 'error', text: r.error.message });
    setName('');
    setUri('');
    await load();
  };

  const remove = async (h: LabHostInfo) => {
    if (!(await confirmInApp(`Remove lab server "${h.name}"?`, { confirm: 'Remove', danger: true }))) return;
    const r = await api().call('hosts.remove', { name: h.name });
    if (!r.ok) toast({ kind: 'error', text: r.error.message });
    await load();
  };

  return (
    <details className="hosts" data-testid="lab-servers">
      <summary>Lab servers{hosts ? ` (${hosts.length})` : ''}</summary>
      <p className="hint">
        Machines of the libvirt provider run on these servers, reached over SSH. Put the app&apos;s key in the
        lab user&apos;s <code>~/.ssh/authorized_keys</code> there: <code className="key">{key}</code>
      </p>
      {hosts && hosts.length > 0 && (
        <table className="list" data-testid="host-list">
          <TableHead
            columns={['Name', 'URI', 'State', 'Libvirt / QEMU', 'CPUs', 'Free memory', 'Machines', '']}
          />
          <tbody>
            {hosts.map((h) => (
              <tr key={h.name}>
                <td title={h.hostKey ? `host key ${h.hostKey}` : ''}>{h.name}</td>
                <td>{h.uri}</td>
                <td>
                  <span className={`state state-${h.reachable ? 'running' : 'unreachable'}`}>
                    {h.reachable ? h.accel.toUpperCase() : 'unreachable'}
                  </span>
                  {h.error && <div className="note">{h.error}</div>}
                </td>
                <td>{h.reachable ? `${h.libvirtVersion ?? '?'} / ${h.qemuVersion ?? '?'}` : '—'}</td>
                <td>{h.cpus ?? '—'}</td>
                <td>{h.freeMiB !== undefined ? `${h.freeMiB} of ${h.memoryMiB ?? '?'} MiB` : '—'}</td>
                <td>{h.machines.join(', ') || '—'}</td>
                <td>
                  <button className="danger" onClick={() => void remove(h)}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="create" onSubmit={(e) => void add(e)} aria-label="Add lab server">
        <label>
          Name <input value={name} onChange={(e) => setName(e.target.value)} placeholder="s1" required />
        </label>
        <label>
          URI{' '}
          <input
            value={uri}
            onChange={(e) => setUri(e.target.value)}
            placeholder="qemu+ssh://lab@server/system"
            required
            size={34}
          />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Adding…' : 'Add lab server'}
        </button>
      </form>
    </details>
  );
}
