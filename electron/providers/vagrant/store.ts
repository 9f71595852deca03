/** Which Vagrant project (and machine in it) each of our machine names stands for. */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../../shared/errors.js';

export interface VagrantMachineRecord {
  name: string;
  /** The project directory holding the Vagrantfile. */
  dir: string;
  /** The machine inside the Vagrantfile ("default" unless multi-machine). */
  vm: string;
  /** A user's project we only drive (never destroyed), or one the app created from our image. */
  adopted: boolean;
  image: string;
  imageSha256?: string;
  memoryMiB: number;
  cpus: number;
  createdAt: string;
  /** Vagrant lists snapshot names only: when each was taken and whether the VM was running. */
  snapshots?: Record<string, { at: string; live: boolean }>;
}

export class VagrantStore {
  constructor(readonly root: string) {}

  private file(name: string): string {
    return path.join(this.root, 'records', `${name}.json`);
  }

  projectDir(name: string): string {
    return path.join(this.root, 'projects', name);
  }

  exists(name: string): boolean {
    return existsSync(this.file(name));
  }

  names(): string[] {
    const dir = path.join(this.root, 'records');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5))
      .sort();
  }

  read(name: string): VagrantMachineRecord {
    if (!this.exists(name))
      throw new HlabError('vm-not-found', `No machine named "${name}".`, { machine: name });
    try {
      return JSON.parse(readFileSync(this.file(name), 'utf8')) as VagrantMachineRecord;
    } catch (err) {
      throw new HlabError(
        'internal',
        `The record of machine "${name}" (${this.file(name)}) is unreadable: ${(err as Error).message}`,
        {
          machine: name,
        },
      );
    }
  }

  write(rec: VagrantMachineRecord): void {
    mkdirSync(path.dirname(this.file(rec.name)), { recursive: true, mode: 0o700 });
    const tmp = `${this.file(rec.name)}.tmp`;
    writeFileSync(tmp, JSON.stringify(rec, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.file(rec.name));
  }

  update(name: string, patch: Partial<VagrantMachineRecord>): VagrantMachineRecord {
    const rec = { ...this.read(name), ...patch };
    this.write(rec);
    return rec;
  }

  remove(name: string): void {
    rmSync(this.file(name), { force: true });
  }
}
