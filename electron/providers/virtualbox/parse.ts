/**
 * Parsers for VBoxManage's output, written against recorded real outputs
 * (test/fixtures/virtualbox/, each naming its source). VBoxManage prints results on stdout,
 * progress and errors on stderr, a vboxdrv WARNING banner on stdout with exit 0, and
 * `--machinereadable` lines that are not uniformly `key="value"`.
 */
import type { MachineState } from '../../../shared/types.js';

const lines = (out: string) => out.replace(/\r\n/g, '\n').split('\n');

/** `--version`: the last line that is neither the WARNING banner nor its indented continuation. */
export function parseVersion(out: string): string | undefined {
  const candidates = lines(out).filter((l) => l.trim() && !/^WARNING:/.test(l) && !/^\s/.test(l));
  const last = candidates.at(-1)?.trim();
  const m = last ? /^(\d+\.\d+\.\d+)/.exec(last) : null;
  return m?.[1];
}

/** The vboxdrv / kernel-module warning VBoxManage prints on stdout (exit 0): VMs cannot start. */
export function driverWarning(out: string): string | undefined {
  const i = lines(out).findIndex((l) => /^WARNING: .*(vboxdrv|kernel module|\/dev\/vbox)/.test(l));
  if (i < 0) return undefined;
  const all = lines(out);
  const block = [all[i] ?? ''];
  for (const l of all.slice(i + 1)) {
    if (!/^\s/.test(l) && l.trim()) break;
    if (l.trim()) block.push(l.trim());
  }
  return block.join(' ').replace(/\s+/g, ' ');
}

export interface VmRef {
  name: string;
  uuid: string;
}

/** `list vms` / `list runningvms`: `"NAME" {UUID}`, names unescaped, so anchor on the UUID. */
export function parseListVms(out: string): VmRef[] {
  const vms: VmRef[] = [];
  for (const l of lines(out)) {
    const m = /^"(.*)" \{([0-9a-fA-F-]{36})\}\s*$/.exec(l);
    if (m) vms.push({ name: m[1] ?? '', uuid: (m[2] ?? '').toLowerCase() });
  }
  return vms;
}

/**
 * `--machinereadable` as key -> value. One rule for the many shapes: optional quotes around the
 * key, `=`, and a value that is unquoted and unescaped only when it is exactly "...".
 */
export function parseMachineReadable(out: string): Map<string, string> {
  const kv = new Map<string, string>();
  for (const l of lines(out)) {
    const m = /^("?)(.+?)\1=(.*)$/.exec(l);
    if (!m) continue;
    const key = m[2] ?? '';
    let value = m[3] ?? '';
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1).replace(/\\(["\\])/g, '$1');
    if (!kv.has(key)) kv.set(key, value);
  }
  return kv;
}

export interface VmInfo {
  name: string;
  uuid: string;
  state: string;
  memoryMiB: number;
  cpus: number;
  accessible: boolean;
  /** NAT forwarding rules: name, protocol, host ip, host port, guest ip, guest port. */
  forwards: Array<{ name: string; proto: string; hostIp: string; hostPort: number; guestPort: number }>;
  cfgFile?: string;
}

export function parseVmInfo(out: string): VmInfo {
  const kv = parseMachineReadable(out);
  const forwards: VmInfo['forwards'] = [];
  for (const [k, v] of kv) {
    if (!/^Forwarding\(\d+\)$/.test(k)) continue;
    const [name = '', proto = '', hostIp = '', hostPort = '', , guestPort = ''] = v.split(',');
    forwards.push({ name, proto, hostIp, hostPort: Number(hostPort), guestPort: Number(guestPort) });
  }
  const name = kv.get('name') ?? '';
  return {
    name,
    uuid: (kv.get('UUID') ?? '').toLowerCase(),
    state: kv.get('VMState') ?? (name === '<inaccessible>' ? 'inaccessible' : 'unknown'),
    memoryMiB: Number(kv.get('memory') ?? 0),
    cpus: Number(kv.get('cpus') ?? 0),
    accessible: name !== '<inaccessible>',
    forwards,
    ...(kv.has('CfgFile') ? { cfgFile: kv.get('CfgFile') } : {}),
  };
}

/** VMState names in our terms; paused and saved machines are not running (no SSH). */
export function vmState(state: string): MachineState {
  switch (state) {
    case 'running':
    case 'livesnapshotting':
    case 'onlinesnapshotting':
    case 'deletingsnapshotlive':
      return 'running';
    case 'starting':
    case 'restoring':
    case 'teleportingin':
      return 'starting';
    case 'stopping':
    case 'saving':
      return 'stopping';
    case 'aborted':
    case 'aborted-saved':
    case 'gurumeditation':
      return 'crashed';
    default:
      return 'stopped';
  }
}

export interface VboxSnapshot {
  name: string;
  uuid: string;
  current: boolean;
}

/** `snapshot VM list --machinereadable`, depth-first; "does not have any snapshots" (exit 1) is none. */
export function parseSnapshots(out: string): VboxSnapshot[] {
  const snaps: VboxSnapshot[] = [];
  let current: string | undefined;
  const byNode = new Map<string, VboxSnapshot>();
  for (const l of lines(out)) {
    const name = /^SnapshotName((?:-\d+)*)="(.*)"$/.exec(l);
    if (name) {
      const s = { name: name[2] ?? '', uuid: '', current: false };
      snaps.push(s);
      byNode.set(name[1] ?? '', s);
      continue;
    }
    const uuid = /^SnapshotUUID((?:-\d+)*)="([0-9a-fA-F-]{36})"$/.exec(l);
    if (uuid) {
      const s = byNode.get(uuid[1] ?? '');
      if (s) s.uuid = (uuid[2] ?? '').toLowerCase();
      continue;
    }
    const cur = /^CurrentSnapshotUUID="([0-9a-fA-F-]{36})"$/.exec(l);
    if (cur) current = cur[1]?.toLowerCase();
  }
  for (const s of snaps) s.current = s.uuid === current;
  return snaps;
}

export const NO_SNAPSHOTS = 'This machine does not have any snapshots';

export interface VboxError {
  message: string;
  /** VBOX_E_OBJECT_NOT_FOUND, VBOX_E_INVALID_OBJECT_STATE, NS_ERROR_FAILURE, ... */
  code?: string;
  /** A VERR_* runtime status named in the message (start failures). */
  verr?: string;
}

/** The `VBoxManage: error:` lines of stderr (the program name may carry .exe), or undefined. */
export function parseError(stderr: string): VboxError | undefined {
  const errs = lines(stderr)
    .map((l) => /^VBoxManage(?:\.exe)?: error: (.*)$/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined);
  if (errs.length === 0) return undefined;
  const details = errs.find((e) => e.startsWith('Details: '));
  const message = errs.filter((e) => !e.startsWith('Details: ') && !e.startsWith('Context: ')).join(' ');
  const code = details ? /code (\w+)/.exec(details)?.[1] : undefined;
  const verr = /\((VERR_\w+)\)/.exec(message)?.[1];
  return { message, ...(code ? { code } : {}), ...(verr ? { verr } : {}) };
}
