/** Readers of virsh's text output (libvirt 9.0, `-q`), kept separate so they are tested on real outputs. */

export interface NodeFacts {
  libvirtVersion?: string;
  qemuVersion?: string;
  cpus?: number;
  memoryMiB?: number;
  freeMiB?: number;
}

/** `Label:   value` lines into a map (version, nodeinfo, nodememstats all look like this). */
function labelled(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return m;
}

const kib = (v: string | undefined) => {
  const n = Number(/^(\d+)\s*KiB$/.exec(v ?? '')?.[1]);
  return Number.isFinite(n) ? n : undefined;
};

/** `version`, `nodeinfo` and `nodememstats` output, together or apart. */
export function parseNodeFacts(text: string): NodeFacts {
  const m = labelled(text);
  const facts: NodeFacts = {};
  const lib = /libvirt ([\d.]+)/.exec(m.get('using library') ?? '')?.[1];
  const qemu = /QEMU ([\d.]+)/.exec(m.get('running hypervisor') ?? '')?.[1];
  const cpus = Number(m.get('cpu(s)'));
  const total = kib(m.get('memory size'));
  const free = kib(m.get('free'));
  const cached = kib(m.get('cached')) ?? 0;
  const buffers = kib(m.get('buffers')) ?? 0;
  if (lib) facts.libvirtVersion = lib;
  if (qemu) facts.qemuVersion = qemu;
  if (Number.isInteger(cpus) && cpus > 0) facts.cpus = cpus;
  if (total !== undefined) facts.memoryMiB = Math.floor(total / 1024);
  // Page cache and buffers are given back on demand: they count as free for a new guest.
  if (free !== undefined) facts.freeMiB = Math.floor((free + cached + buffers) / 1024);
  return facts;
}

export type DomainState = 'running' | 'paused' | 'shut off' | 'crashed' | 'other';

/** `list --all` rows (` 3    name   running`, ` -    name   shut off`) into name -> state. */
export function parseDomainList(text: string): Map<string, DomainState> {
  const out = new Map<string, DomainState>();
  for (const line of text.split('\n')) {
    const m = /^\s*(?:\d+|-)\s+(\S+)\s+(.+?)\s*$/.exec(line);
    if (m?.[1] && m[2]) out.set(m[1], domainState(m[2]));
  }
  return out;
}

export function domainState(s: string): DomainState {
  const t = s.trim();
  if (t === 'running' || t === 'paused' || t === 'shut off' || t === 'crashed') return t;
  if (t === 'in shutdown' || t === 'idle') return 'running';
  return 'other';
}

export interface SnapshotRow {
  name: string;
  createdAt: string;
  /** running / shutoff / paused / disk-snapshot */
  state: string;
}

/** `snapshot-list DOM` rows: ` base   2026-12-04 23:55:01 +0000   running`. */
export function parseSnapshotList(text: string): SnapshotRow[] {
  const rows: SnapshotRow[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\S+)\s+(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) ([+-]\d{2})(\d{2})\s+(\S+)\s*$/.exec(line);
    if (!m) continue;
    const [, name, day, time, tzh, tzm, state] = m as unknown as string[];
    const when = new Date(`${day}T${time}${tzh}:${tzm}`);
    rows.push({
      name: name!,
      createdAt: Number.isNaN(when.getTime()) ? new Date(0).toISOString() : when.toISOString(),
      state: state!,
    });
  }
  return rows;
}

/** `domifaddr --source lease` rows: the first IPv4 address. */
export function firstIpv4(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = /\sipv4\s+(\d{1,3}(?:\.\d{1,3}){3})\/\d+/.exec(line);
    if (m?.[1] && m[1].split('.').every((o) => Number(o) <= 255)) return m[1];
  }
  return undefined;
}
