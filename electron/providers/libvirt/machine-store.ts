/** The app's record of each libvirt machine: which server and domain it is (machines/NAME.json). */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../../shared/errors.js';

export interface LibvirtMachineRecord {
  name: string;
  /** The lab server (LabHostStore name); a machine never moves. */
  host: string;
  domain: string;
  image: string;
  imageSha256?: string;
  memoryMiB: number;
  cpus: number;
  user: string;
  createdAt: string;
  /** The disk volume in the app's pool (machines it created). */
  volume?: string;
  /** A user's domain: destroying the machine only forgets it. */
  adopted?: boolean;
  /** Adopted: the user's key for the guest. */
  identityFile?: string;
  /** 'filtered': the guest reaches its allow list through the app's proxy; absent: nothing at all. */
  network?: 'filtered';
  /** The server loopback port its connector joins (forwarded to the proxy here). */
  egressPort?: number;
  egressAllow?: string[];
}

export class LibvirtMachineStore {
  constructor(readonly dir: string) {}

  private file(name: string): string {
    return path.join(this.dir, `${name}.json`);
  }

  exists(name: string): boolean {
    return existsSync(this.file(name));
  }

  names(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5))
      .sort();
  }

  read(name: string): LibvirtMachineRecord {
    if (!this.exists(name))
      throw new HlabError('vm-not-found', `No machine named "${name}".`, { machine: name });
    try {
      return JSON.parse(readFileSync(this.file(name), 'utf8')) as LibvirtMachineRecord;
    } catch (err) {
      throw new HlabError('internal', `${this.file(name)} cannot be read: ${(err as Error).message}`, {
        machine: name,
      });
    }
  }

  write(rec: LibvirtMachineRecord): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file(rec.name)}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(rec, null, 1)}\n`, { mode: 0o600 });
    renameSync(tmp, this.file(rec.name));
  }

  remove(name: string): void {
    rmSync(this.file(name), { force: true });
  }

  onHost(host: string): LibvirtMachineRecord[] {
    return this.names()
      .map((n) => this.read(n))
      .filter((r) => r.host === host);
  }
}
