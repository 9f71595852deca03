/** Host keys pinned on first use, per machine, in our own store (never ~/.ssh/known_hosts). */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../shared/errors.js';
import { writeFileAtomic } from '../platform/atomic-write.js';

export function fingerprint(hostKey: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(hostKey).digest('base64').replace(/=+$/, '');
}

export class KnownHosts {
  constructor(private readonly file: string) {}

  /**
   * A store that cannot be read fails closed: treating it as empty would re-pin any key an
   * attacker presents. Pins live in a prototype-less map, so "constructor" is just a name.
   */
  private read(): Record<string, string> {
    const pins = Object.create(null) as Record<string, string>;
    if (!existsSync(this.file)) return pins;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (err) {
      throw this.corrupt((err as Error).message);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
      throw this.corrupt('not a JSON object');
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== 'string') throw this.corrupt(`the pin of "${k}" is not a string`);
      pins[k] = v;
    }
    return pins;
  }

  private corrupt(why: string): HlabError {
    return new HlabError(
      'host-key-changed',
      `The pinned SSH host keys (${this.file}) cannot be read (${why}); refusing to connect rather than trusting any key.`,
      { hint: `inspect or remove ${this.file}; removing it re-pins every machine on its next connection` },
    );
  }

  /**
   * The CLI and the web host (or two CLIs) pin from separate processes: the read-modify-write
   * runs under a lock file, or one process's new pin would be lost to the other's write.
   */
  private locked<T>(fn: () => T): T {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const lock = `${this.file}.lock`;
    const deadline = Date.now() + 5_000;
    for (;;) {
      try {
        closeSync(openSync(lock, 'wx', 0o600));
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        // A holder that died leaves its lock behind; the critical section takes milliseconds.
        const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
        if (age > 10_000) rmSync(lock, { force: true });
        else if (Date.now() > deadline)
          throw new HlabError('conflict', `The SSH host key store ${this.file} stays locked (${lock}).`);
        else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      }
    }
    try {
      return fn();
    } finally {
      rmSync(lock, { force: true });
    }
  }

  private write(pins: Record<string, string>): void {
    writeFileAtomic(this.file, JSON.stringify({ ...pins }, null, 2), { mode: 0o600 });
  }

  /** Pins on first use; throws host-key-changed when a pinned machine presents another key. */
  check(machine: string, hostKey: Buffer): void {
    const fp = fingerprint(hostKey);
    const pinned = this.locked(() => {
      const pins = this.read();
      if (!pins[machine]) {
        pins[machine] = fp;
        this.write(pins);
      }
      return pins[machine];
    });
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
    this.locked(() => {
      const pins = this.read();
      if (Object.hasOwn(pins, machine)) {
        delete pins[machine];
        this.write(pins);
      }
    });
  }
}
