/**
 * One JSON record per machine name (0600, written atomically) for providers whose machines live
 * elsewhere (a Vagrant project, a VirtualBox VM): the record says which one a name stands for.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../shared/errors.js';
import { writeFileAtomic } from '../platform/atomic-write.js';

export interface BaseRecord {
  name: string;
  /** A user's machine we only drive (never destroyed), or one the app created from our image. */
  adopted: boolean;
  image: string;
  imageSha256?: string;
  createdAt: string;
  /** The CLIs list snapshot names only: when each was taken and whether the VM was running. */
  snapshots?: Record<string, { at: string; live: boolean }>;
}

export class RecordStore<R extends BaseRecord> {
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

  read(name: string): R {
    if (!this.exists(name))
      throw new HlabError('vm-not-found', `No machine named "${name}".`, { machine: name });
    try {
      return JSON.parse(readFileSync(this.file(name), 'utf8')) as R;
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

  write(rec: R): void {
    writeFileAtomic(this.file(rec.name), JSON.stringify(rec, null, 2) + '\n', {
      mode: 0o600,
      dirMode: 0o700,
    });
  }

  update(name: string, patch: Partial<R>): R {
    const rec = { ...this.read(name), ...patch };
    this.write(rec);
    return rec;
  }

  remove(name: string): void {
    rmSync(this.file(name), { force: true });
  }
}
