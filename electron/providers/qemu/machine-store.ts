/** Per-machine folder: machine.json (spec + provider state), disk overlay, QMP socket, pidfile, serial log. */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../../shared/errors.js';
import { socketPath } from '../../platform/socket-path.js';
import { writeFileAtomic } from '../../platform/atomic-write.js';

export interface QemuMachineRecord {
  name: string;
  image: string;
  imagePath: string;
  imageSha256: string;
  memoryMiB: number;
  cpus: number;
  user: string;
  createdAt: string;
  /** Fixed SSH port chosen by the user; otherwise a free one is picked at each start. */
  sshPort?: number;
  /** Port QEMU forwards while running. */
  activePort?: number;
  /** A live snapshot restored while stopped: the next start resumes from it (-loadvm). */
  bootFrom?: string;
  /**
   * A copy of a ready template: the template's saved state (its migration stream), loaded at the
   * copy's first start instead of a boot.
   */
  incoming?: string;
  /** A copy of a ready template: the template's disk, this machine's backing file. */
  templateDisk?: string;
  /** The serial log's size at the last live restore: a panic printed before it is not this guest's. */
  serialAtRestore?: number;
  /** Set while we intend the VM to run; a dead process with this set was a crash. */
  expectRunning?: boolean;
  snapshotTimes?: Record<string, string>;
  /** Set for cloud images: a NoCloud seed (the cidata folder) is attached at every start. */
  seeding?: 'cloud-init';
  /** cloud-init's instance id; copies of a template keep the template's, so nothing re-runs. */
  instanceId?: string;
  /**
   * 'filtered': restrict=on networking, the guest reaches only its allow list through the package
   * proxy (set at creation; machines made before the filter existed lack it and keep open NAT).
   */
  network?: 'filtered';
  /** HOST:PORT entries this machine may reach besides Debian's mirrors. */
  egressAllow?: string[];
}

export class MachineStore {
  constructor(readonly root: string) {}

  dir(name: string): string {
    return path.join(this.root, name);
  }

  files(name: string) {
    const d = this.dir(name);
    return {
      record: path.join(d, 'machine.json'),
      disk: path.join(d, 'disk.qcow2'),
      qmp: socketPath(path.join(d, 'qmp.sock')),
      pid: path.join(d, 'qemu.pid'),
      serial: path.join(d, 'serial.log'),
      seed: path.join(d, 'seed.txt'),
      cidata: path.join(d, 'cidata'),
      stderr: path.join(d, 'qemu.stderr.log'),
      egressPolicy: path.join(d, 'egress.json'),
      egressLog: path.join(d, 'egress.log'),
      egressSocket: socketPath(path.join(d, 'egress.sock')),
      egressPid: path.join(d, 'egress-proxy.pid'),
      /** A saved ready template's memory and devices (QEMU's migration stream). */
      savedState: path.join(d, 'saved-state.bin'),
      migrateSocket: socketPath(path.join(d, 'migrate.sock')),
    };
  }

  exists(name: string): boolean {
    return existsSync(this.files(name).record);
  }

  names(): string[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root)
      .filter((n) => this.exists(n))
      .sort();
  }

  read(name: string): QemuMachineRecord {
    const file = this.files(name).record;
    if (!existsSync(file))
      throw new HlabError('vm-not-found', `No machine named "${name}".`, { machine: name });
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as QemuMachineRecord;
    } catch (err) {
      throw new HlabError('internal', `${file}: unreadable machine record (${(err as Error).message}).`);
    }
  }

  write(rec: QemuMachineRecord): void {
    mkdirSync(this.dir(rec.name), { recursive: true });
    writeFileAtomic(this.files(rec.name).record, JSON.stringify(rec, null, 2));
  }

  update(name: string, patch: Partial<QemuMachineRecord>): QemuMachineRecord {
    const rec = { ...this.read(name), ...patch };
    for (const [k, v] of Object.entries(patch))
      if (v === undefined) delete (rec as unknown as Record<string, unknown>)[k];
    this.write(rec);
    return rec;
  }
}
