/**
 * Package access of lab machines: the machine's allow-list proxy runs in this app process, and the
 * server port its connector joins is held over this process's SSH connection to the server.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { changedAllowList } from '../../../shared/egress.js';
import { HlabError } from '../../../shared/errors.js';
import type { EgressPolicy } from '../../../shared/types.js';
import { socketPath } from '../../platform/socket-path.js';
import {
  DEFAULT_EGRESS_ALLOW,
  PROXY_URL,
  recentEgress,
  startEgressProxy,
  waitForProxy,
  writeEgressPolicy,
  type EgressProxyFiles,
} from '../egress/egress.js';
import type { EgressChange } from '../provider.js';
import type { RecordStore } from '../record-store.js';
import type { LibvirtMachineRecord } from './machine-store.js';
import type { LabPool } from './pool.js';

export function labEgressFiles(dir: string, name: string): EgressProxyFiles {
  const d = path.join(dir, 'egress', name);
  return {
    egressSocket: socketPath(path.join(d, 'egress.sock')),
    egressPolicy: path.join(d, 'egress.json'),
    egressLog: path.join(d, 'egress.log'),
    egressPid: path.join(d, 'egress.pid'),
    pid: path.join(d, 'relay.pid'),
  };
}

/**
 * A running filtered machine's package path, from this process: its proxy (started here unless
 * another app process runs one) and the server port its connector joins, held over this
 * process's SSH connection. Returns a note when the guest has no package access right now.
 */
export async function relayEgress(
  rec: LibvirtMachineRecord,
  f: EgressProxyFiles,
  pool: LabPool,
): Promise<string | undefined> {
  if (rec.network !== 'filtered' || !rec.egressPort) return undefined;
  try {
    if (!(await waitForProxy(f.egressSocket, 100))) {
      mkdirSync(path.dirname(f.egressPolicy), { recursive: true, mode: 0o700 });
      writeEgressPolicy(f.egressPolicy, rec.name, rec.egressAllow ?? []);
      // The proxy lives as long as this process, which holds the forward that feeds it.
      writeFileSync(f.pid, `${process.pid}\n`, { mode: 0o600 });
      await startEgressProxy(rec.name, f).ready;
    }
    await pool.holdEgress(rec.host, rec.egressPort, f.egressSocket);
    return undefined;
  } catch (err) {
    return `No package access for now: ${(err as Error).message}`;
  }
}

/** What the machine's guest may reach, after adding or removing HOST:PORT entries. */
export function machineEgress(
  store: RecordStore<LibvirtMachineRecord>,
  name: string,
  change: EgressChange,
  f: EgressProxyFiles,
): EgressPolicy {
  const rec = store.read(name);
  const changing = Boolean(change.allow?.length || change.remove?.length);
  if (rec.network !== 'filtered' && changing)
    throw new HlabError(
      'unavailable',
      rec.adopted
        ? `Machine "${name}" is a domain of your own: the app does not filter its network.`
        : `Machine "${name}" reaches nothing at all: its lab server "${rec.host}" was added without --package-proxy (QEMU's seccomp sandbox there forbids the connector; see docs/lab-servers.md).`,
      { machine: name },
    );
  if (changing) {
    const egressAllow = changedAllowList(rec.egressAllow ?? [], change);
    store.write({ ...rec, egressAllow });
    mkdirSync(path.dirname(f.egressPolicy), { recursive: true, mode: 0o700 });
    writeEgressPolicy(f.egressPolicy, name, egressAllow);
  }
  return {
    machine: name,
    network: rec.network === 'filtered' ? 'filtered' : rec.adopted ? 'open' : 'isolated',
    proxy: PROXY_URL,
    defaults: DEFAULT_EGRESS_ALLOW,
    allow: store.read(name).egressAllow ?? [],
    recent: rec.network === 'filtered' ? recentEgress(f.egressLog) : [],
  };
}
