/**
 * What the providers whose machines live elsewhere (a Vagrant project, a VirtualBox VM) share: a
 * record per machine name, the listing built from it, the facts it holds, and the snapshot
 * details their CLIs do not keep (when a snapshot was taken, whether the VM was running).
 */
import type { MachineFacts, MachineInfo, ProviderKind, SnapshotInfo } from '../../shared/types.js';
import { RecordStore, type BaseRecord } from './record-store.js';

export abstract class RecordedProvider<R extends BaseRecord> {
  abstract readonly kind: ProviderKind;
  readonly store: RecordStore<R>;

  constructor(storeDir: string) {
    this.store = new RecordStore<R>(storeDir);
  }

  protected abstract toInfo(rec: R): Promise<MachineInfo>;

  has(name: string): boolean {
    return this.store.exists(name);
  }

  async list(): Promise<MachineInfo[]> {
    return Promise.all(this.store.names().map((n) => this.get(n)));
  }

  async get(name: string): Promise<MachineInfo> {
    return this.toInfo(this.store.read(name));
  }

  async facts(name: string): Promise<MachineFacts> {
    const rec = this.store.read(name);
    return {
      provider: this.kind,
      image: rec.image,
      ...(rec.imageSha256 ? { imageSha256: rec.imageSha256 } : {}),
    };
  }

  /** A snapshot as the app knows it; one taken outside the app has no time and `live` as guessed. */
  protected snapshotInfo(rec: R, name: string, liveIfUnknown: boolean): SnapshotInfo {
    const known = rec.snapshots?.[name];
    return { name, live: known?.live ?? liveIfUnknown, createdAt: known?.at ?? '' };
  }

  protected rememberSnapshot(machine: string, snapshot: string, live: boolean): SnapshotInfo {
    const at = new Date().toISOString();
    this.store.update(machine, {
      snapshots: { ...this.store.read(machine).snapshots, [snapshot]: { at, live } },
    } as Partial<R>);
    return { name: snapshot, live, createdAt: at };
  }

  protected forgetSnapshot(machine: string, snapshot: string): void {
    const snaps = { ...this.store.read(machine).snapshots };
    delete snaps[snapshot];
    this.store.update(machine, { snapshots: snaps } as Partial<R>);
  }
}
