/**
 * The lab servers this home knows (hosts.json, 0600) and the OpenSSH known_hosts file derived from
 * their pinned host keys, which is the only one the ssh wrapper trusts.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../../shared/errors.js';
import { parseLabUri, knownHostsName } from './uri.js';
import { writeFileAtomic } from '../../platform/atomic-write.js';

export interface LabHostRecord {
  name: string;
  /** Normalised (parseLabUri), without a key file. */
  uri: string;
  keyFile?: string;
  accel: 'kvm' | 'tcg';
  /** QEMU may start the egress connector there (seccomp_sandbox = 0): its machines get package access. */
  packageProxy?: boolean;
  /** The pinned host key, `TYPE BASE64` (qemu+ssh only). */
  hostKey?: string;
  addedAt: string;
  /** sha256 of base images uploaded to this server and read back intact. */
  verifiedBases?: string[];
  /** sha256 of the egress connector last uploaded there. */
  connectorSha256?: string;
}

interface HostsFile {
  hosts: LabHostRecord[];
}

export class LabHostStore {
  readonly file: string;
  readonly knownHostsFile: string;

  constructor(readonly dir: string) {
    this.file = path.join(dir, 'hosts.json');
    this.knownHostsFile = path.join(dir, 'known_hosts');
  }

  private read(): HostsFile {
    if (!existsSync(this.file)) return { hosts: [] };
    try {
      const v = JSON.parse(readFileSync(this.file, 'utf8')) as HostsFile;
      if (!Array.isArray(v.hosts)) throw new Error('"hosts" is not a list');
      return v;
    } catch (err) {
      throw new HlabError(
        'internal',
        `The lab server list ${this.file} cannot be read: ${(err as Error).message}. Fix or remove it.`,
      );
    }
  }

  private write(v: HostsFile): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(this.file, `${JSON.stringify(v, null, 1)}\n`, { mode: 0o600 });
    this.writeKnownHosts(v.hosts);
  }

  private writeKnownHosts(hosts: LabHostRecord[]): void {
    const lines = hosts.flatMap((h) => {
      const u = parseLabUri(h.uri);
      return u.transport === 'ssh' && h.hostKey ? [`${knownHostsName(u)} ${h.hostKey}`] : [];
    });
    writeFileSync(this.knownHostsFile, lines.map((l) => `${l}\n`).join(''), { mode: 0o600 });
  }

  list(): LabHostRecord[] {
    return this.read().hosts;
  }

  has(name: string): boolean {
    return this.list().some((h) => h.name === name);
  }

  get(name: string): LabHostRecord {
    const h = this.list().find((x) => x.name === name);
    if (!h) {
      const names = this.list().map((x) => x.name);
      throw new HlabError(
        'not-found',
        `No lab server named "${name}"${names.length ? ` (known: ${names.join(', ')})` : ''}; add one with: hlab hosts add NAME --uri URI.`,
        { host: name },
      );
    }
    return h;
  }

  add(rec: LabHostRecord): void {
    const v = this.read();
    if (v.hosts.some((h) => h.name === rec.name))
      throw new HlabError('conflict', `A lab server named "${rec.name}" already exists.`, { host: rec.name });
    v.hosts.push(rec);
    this.write(v);
  }

  update(name: string, patch: Partial<LabHostRecord>): void {
    const v = this.read();
    v.hosts = v.hosts.map((h) => (h.name === name ? { ...h, ...patch } : h));
    this.write(v);
  }

  remove(name: string): void {
    const v = this.read();
    v.hosts = v.hosts.filter((h) => h.name !== name);
    this.write(v);
  }
}
