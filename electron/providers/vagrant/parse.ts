/**
 * Parsers for the Vagrant CLI's output (2.3.4, `--machine-readable` where it exists). Record
 * format: `TIMESTAMP,TARGET,TYPE,DATA...` with `,` inside a field written as `%!(VAGRANT_COMMA)`
 * and newlines as a literal `\n`; the human `ssh-config` block is parsed as ssh_config text.
 */
import type { MachineState } from '../../../shared/types.js';

export interface VagrantRecord {
  target: string;
  type: string;
  data: string[];
}

const decode = (field: string) =>
  field
    .replace(/%!\(VAGRANT_COMMA\)/g, ',')
    .replace(/\\n/g, '\n')
    .replace(/\\r/g, '\r');

export function parseMachineReadable(out: string): VagrantRecord[] {
  const records: VagrantRecord[] = [];
  for (const line of out.replace(/\r\n/g, '\n').split('\n')) {
    const m = /^(\d+),([^,]*),([^,]+),?(.*)$/.exec(line);
    if (!m) continue;
    records.push({ target: m[2] ?? '', type: m[3] ?? '', data: (m[4] ?? '').split(',').map(decode) });
  }
  return records;
}

/** The human text of one `ui` record line (progress), or undefined for data records. */
export function uiText(line: string): string | undefined {
  const r = parseMachineReadable(line)[0];
  if (r?.type !== 'ui') return undefined;
  return (
    r.data
      .slice(1)
      .join(',')
      .replace(/^==> [^:]+: /, '')
      .trim() || undefined
  );
}

export interface VagrantStatus {
  /** The provider's own state id: running, shutoff, poweroff, saved, not_created, ... */
  state: string;
  provider?: string;
}

/** Each machine of the Vagrantfile with its state (multi-machine projects list several). */
export function parseStatus(out: string): Map<string, VagrantStatus> {
  const machines = new Map<string, VagrantStatus>();
  for (const r of parseMachineReadable(out)) {
    if (!r.target) continue;
    const m = machines.get(r.target) ?? { state: 'unknown' };
    if (r.type === 'state') m.state = r.data[0] ?? 'unknown';
    if (r.type === 'provider-name') m.provider = r.data[0];
    machines.set(r.target, m);
  }
  return machines;
}

/** Vagrant's state ids (VirtualBox VMState names, libvirt states with - as _) in our terms. */
export function machineState(state: string): MachineState {
  switch (state) {
    case 'running':
      return 'running';
    // vagrant-libvirt says "inaccessible" while the domain runs but has no address yet.
    case 'inaccessible':
    case 'preparing':
    case 'starting':
      return 'starting';
    case 'shutting_down':
    case 'stopping':
      return 'stopping';
    case 'aborted':
    case 'gurumeditation':
    case 'crashed':
      return 'crashed';
    default:
      return 'stopped';
  }
}

/** Snapshot names from `snapshot list --machine-readable`: the `ui,detail` lines after the header. */
export function parseSnapshotList(out: string, vm: string): string[] {
  const names: string[] = [];
  for (const r of parseMachineReadable(out)) {
    if (r.target !== vm || r.type !== 'ui') continue;
    const [level, text = ''] = r.data;
    if (level === 'output' && /No snapshots have been taken yet|VM not created/.test(text)) return [];
    if (level !== 'detail') continue;
    const name = text.trim();
    // The no-snapshots advice is detail text too, prefixed with the machine name.
    if (name && !/\s/.test(name)) names.push(name);
  }
  return names;
}

export interface SshConfig {
  host: string;
  port: number;
  user: string;
  identityFiles: string[];
}

/** The first Host block of `vagrant ssh-config` (human form; ~ expanded with home). */
export function parseSshConfig(out: string, home: string): SshConfig | undefined {
  const opts = new Map<string, string[]>();
  let inHost = false;
  for (const raw of out.replace(/\r\n/g, '\n').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const key = (m[1] ?? '').toLowerCase();
    let value = (m[2] ?? '').trim();
    if (key === 'host') {
      if (inHost) break;
      inHost = true;
      continue;
    }
    if (!inHost) continue;
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (value.startsWith('~/')) value = `${home}/${value.slice(2)}`;
    opts.set(key, [...(opts.get(key) ?? []), value]);
  }
  const host = opts.get('hostname')?.[0];
  const port = Number(opts.get('port')?.[0] ?? 22);
  const user = opts.get('user')?.[0];
  if (!host || !user || !Number.isInteger(port)) return undefined;
  return { host, port, user, identityFiles: opts.get('identityfile') ?? [] };
}

/** `error-exit` records: Vagrant's error class and its own message. */
export function errorExit(out: string): { kind: string; message: string } | undefined {
  const r = parseMachineReadable(out).find((x) => x.type === 'error-exit');
  return r ? { kind: r.data[0] ?? '', message: r.data.slice(1).join(',').trim() } : undefined;
}

/** Box names from `box list --machine-readable`. */
export function parseBoxList(out: string): string[] {
  return parseMachineReadable(out)
    .filter((r) => r.type === 'box-name')
    .map((r) => r.data[0] ?? '');
}
