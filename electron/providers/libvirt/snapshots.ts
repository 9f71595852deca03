/**
 * Snapshots of lab machines: libvirt's internal ones (RAM included when the machine runs), and the
 * two ways back to a live one (QEMU's loadvm through libvirt's monitor, or virsh snapshot-revert).
 */
import { HlabError } from '../../../shared/errors.js';
import type { SnapshotInfo } from '../../../shared/types.js';
import {
  refuseTakenSnapshot,
  snapshotNotFound,
  validateSnapshotName,
  type OpOptions,
  type SnapshotManager,
} from '../provider.js';
import type { LibvirtMachineRecord } from './machine-store.js';
import { domainState, parseSnapshotList } from './parse.js';
import type { Virsh } from './virsh.js';

/** savevm / loadvm of a big guest under TCG takes minutes. */
const SAVE_TIMEOUT_MS = 900_000;

/**
 * How a running machine goes back to a live snapshot: 'monitor' sends QEMU's own `loadvm` through
 * libvirt (the VM keeps running; libvirt marks the domain tainted), 'revert' is `virsh
 * snapshot-revert` (libvirt restarts QEMU with -loadvm). See the README's rollback table.
 */
export type RestorePath = 'monitor' | 'revert';

type Machine = (name: string) => { rec: LibvirtMachineRecord; v: Virsh };

function snapshotRows(text: string): SnapshotInfo[] {
  return parseSnapshotList(text).map((r) => ({
    name: r.name,
    live: r.state === 'running' || r.state === 'paused',
    createdAt: r.createdAt,
  }));
}

export class LabSnapshots implements SnapshotManager {
  constructor(
    private readonly machine: Machine,
    private readonly restorePath: () => RestorePath,
  ) {}

  async list(machine: string): Promise<SnapshotInfo[]> {
    const { rec, v } = this.machine(machine);
    return snapshotRows(await v.run(['snapshot-list', rec.domain]));
  }

  private async find(machine: string, snapshot: string): Promise<SnapshotInfo> {
    const s = (await this.list(machine)).find((x) => x.name === snapshot);
    if (!s) throw snapshotNotFound(machine, snapshot);
    return s;
  }

  async take(machine: string, snapshot: string, opts: OpOptions = {}): Promise<SnapshotInfo> {
    validateSnapshotName(snapshot);
    const { rec, v } = this.machine(machine);
    refuseTakenSnapshot(await this.list(machine), machine, snapshot);
    opts.progress?.({
      current: 0,
      max: -1,
      description: `snapshot ${snapshot} of ${machine} on ${rec.host}`,
    });
    await v.run(['snapshot-create-as', rec.domain, snapshot], {
      timeoutMs: SAVE_TIMEOUT_MS,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return this.find(machine, snapshot);
  }

  async restore(machine: string, snapshot: string, opts: OpOptions = {}): Promise<SnapshotInfo> {
    validateSnapshotName(snapshot);
    const { rec, v } = this.machine(machine);
    // One virsh call (one channel on the server's connection) for the state and the snapshot.
    const [first, ...rows] = (await v.run([`domstate ${rec.domain}; snapshot-list ${rec.domain}`])).split(
      '\n',
    );
    const running = domainState(first ?? '') === 'running';
    const snap = snapshotRows(rows.join('\n')).find((x) => x.name === snapshot);
    if (!snap) throw snapshotNotFound(machine, snapshot);
    const o = { timeoutMs: SAVE_TIMEOUT_MS, ...(opts.signal ? { signal: opts.signal } : {}) };
    opts.progress?.({
      current: 0,
      max: -1,
      description: `restoring ${snapshot} on ${machine} (${rec.host})`,
    });
    if (running && !snap.live)
      throw new HlabError(
        'vm-state',
        `Snapshot "${snapshot}" of "${machine}" holds no VM state; stop the machine to restore it.`,
        { machine, snapshot },
      );
    if (!running || this.restorePath() === 'revert') {
      await v.run(['snapshot-revert', rec.domain, snapshot], o);
      return snap;
    }
    // The name passed NAME_PATTERN: a plain word inside QEMU's own command line. loadvm prints
    // nothing when it worked; the state follows in the same call.
    const lines = (
      await v.run(
        [`qemu-monitor-command ${rec.domain} --hmp 'loadvm ${snapshot}'; domstate ${rec.domain}`],
        o,
      )
    )
      .split('\n')
      .filter((l) => l.trim());
    const state = domainState(lines.pop() ?? '');
    if (lines.length)
      throw new HlabError(
        'internal',
        `loadvm ${snapshot} on machine "${machine}" failed: ${lines.join(' ').slice(0, 300)}`,
        {
          machine,
        },
      );
    if (state === 'paused') await v.run(['resume', rec.domain]);
    return snap;
  }

  async remove(machine: string, snapshot: string): Promise<void> {
    validateSnapshotName(snapshot);
    const { rec, v } = this.machine(machine);
    await this.find(machine, snapshot);
    await v.run(['snapshot-delete', rec.domain, snapshot], { timeoutMs: SAVE_TIMEOUT_MS });
  }
}
