/** Host keys pinned on first use, per machine, in our own store (never ~/.ssh/known_hosts). */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../shared/errors.js';

export function fingerprint(hostKey: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(hostKey).digest('base64').replace(/=+$/, '');
}

export class KnownHosts {
  constructor(private readonly file: string) {}

  private read(): Record<string, string> {
    if (!existsSync(this.file)) return {};
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, string>;
    } catch {
      return {};
    }
  }

  private write(pins: Record<string, string>): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(pins, null, 2), { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  /** Pins on first use; throws host-key-changed when a pinned machine presents another key. */
  check(machine: string, hostKey: Buffer): void {
    const fp = fingerprint(hostKey);
    const pins = this.read();
    const pinned = pins[machine];
    if (!pinned) {
      pins[machine] = fp;
      this.write(pins);
      return;
    }
    if (pinned !== fp) {
      throw new HlabError(
        'host-key-changed',
        `The SSH host key of machine "${machine}" changed: pinned ${pinned}, presented ${fp}. Refusing to connect.`,
        {
          machine,
          pinned,
          presented: fp,
          hint: 'If you recreated the machine on purpose, its pin is reset; otherwise treat this as an attack.',
        },
      );
    }
  }

  /** A recreated machine resets its pin deliberately. */
  forget(machine: string): void {
    const pins = this.read();
    if (machine in pins) {
      delete pins[machine];
      this.write(pins);
    }
  }
}
