/**
 * virsh, driven with argument arrays against one lab server. For qemu+ssh, libvirt starts `ssh`
 * from PATH; ours comes first there, a wrapper that gives OpenSSH the app's own configuration: the
 * host keys pinned when the server was added (never ~/.ssh/known_hosts), no prompts, a connect
 * timeout, keepalives that notice a dead server within ~10 s, and one shared connection per server
 * (ControlMaster), so each virsh call costs a channel rather than a handshake.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../../shared/errors.js';
import { run, type RunResult } from '../../platform/run.js';
import { socketPath } from '../../platform/socket-path.js';

const PACKAGE = 'libvirt-clients';
/** Nothing a lab server answers may hang the app: every call ends by then. */
export const VIRSH_TIMEOUT_MS = 30_000;

export interface VirshTarget {
  /** The lab server's name in the app. */
  name: string;
  /** virshUri(): with key file. */
  connect: string;
}

/** Writes the ssh wrapper and its configuration under `dir`; returns the folder to put first on PATH. */
export function sshWrapper(dir: string, knownHostsFile: string, runDir: string): string {
  const bin = path.join(dir, 'bin');
  mkdirSync(bin, { recursive: true, mode: 0o700 });
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const config = path.join(dir, 'ssh_config');
  writeFileSync(
    config,
    [
      `UserKnownHostsFile "${knownHostsFile}"`,
      'GlobalKnownHostsFile /dev/null',
      'StrictHostKeyChecking yes',
      'BatchMode yes',
      'IdentitiesOnly yes',
      'ConnectTimeout 8',
      'ServerAliveInterval 4',
      'ServerAliveCountMax 2',
      'ControlMaster auto',
      `ControlPath "${socketPath(path.join(runDir, 'lv-%C'))}"`,
      'ControlPersist 30',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const ssh = path.join(bin, 'ssh');
  writeFileSync(ssh, `#!/bin/sh\nexec /usr/bin/ssh -F '${config}' "$@"\n`, { mode: 0o700 });
  chmodSync(ssh, 0o700);
  return bin;
}

/** A line that says the server itself could not be reached (as opposed to a libvirt error there). */
const UNREACHABLE = [
  'failed to connect to the hypervisor',
  'Cannot recv data',
  'Connection refused',
  'No route to host',
  'Connection timed out',
  'Network is unreachable',
  'Could not resolve hostname',
  'Host key verification failed',
  'Permission denied',
  'End of file while reading data',
];

/** virsh's message without its "error: " prefixes, on one line. */
export function virshMessage(stderr: string): string {
  return stderr
    .split('\n')
    .map((l) => l.replace(/^error:\s*/, '').trim())
    .filter(Boolean)
    .join(' ')
    .slice(0, 600);
}

/**
 * Servers that just failed to answer, by connection: for a short while later calls fail at once
 * with the same error instead of each waiting for its own timeout (a list of 20 machines on a
 * dead server costs one wait, not 20). Per process; any success clears it.
 */
const DOWN_MEMO_MS = 15_000;
const down = new Map<string, { at: number; error: HlabError }>();

export class Virsh {
  constructor(
    private readonly t: VirshTarget,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get host(): string {
    return this.t.name;
  }

  /** Runs `virsh -c URI -q ARGS`; a failure throws with the server and the command named. */
  async run(
    args: string[],
    o: { signal?: AbortSignal; timeoutMs?: number; what?: string } = {},
  ): Promise<string> {
    const r = await this.raw(args, o);
    if (r.code !== 0) throw this.error(args, r, o.what);
    return r.stdout;
  }

  /** The result whatever the exit code (the caller decides what a failure means); an unreachable server throws. */
  async raw(args: string[], o: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<RunResult> {
    const memo = down.get(this.t.connect);
    if (memo && Date.now() - memo.at < DOWN_MEMO_MS) throw memo.error;
    const r = await this.once(args, o);
    const e = r.code !== 0 ? this.error(args, r) : undefined;
    if (e?.code === 'host-unreachable') throw this.markDown(e);
    down.delete(this.t.connect);
    return r;
  }

  private markDown(error: HlabError): HlabError {
    down.set(this.t.connect, { at: Date.now(), error });
    return error;
  }

  private async once(args: string[], o: { signal?: AbortSignal; timeoutMs?: number }): Promise<RunResult> {
    try {
      return await run('virsh', ['-c', this.t.connect, '-q', ...args], {
        env: this.env,
        timeoutMs: o.timeoutMs ?? VIRSH_TIMEOUT_MS,
        ...(o.signal ? { signal: o.signal } : {}),
        packageHint: PACKAGE,
      });
    } catch (err) {
      const e = err as HlabError;
      if (e.code === 'timeout')
        throw this.markDown(
          new HlabError(
            'host-unreachable',
            `Lab server "${this.t.name}" did not answer "virsh ${args[0]}" within ${(o.timeoutMs ?? VIRSH_TIMEOUT_MS) / 1000} s.`,
            { host: this.t.name },
          ),
        );
      throw err;
    }
  }

  error(args: string[], r: RunResult, what?: string): HlabError {
    const msg = virshMessage(r.stderr) || `exit ${r.code}`;
    const unreachable = UNREACHABLE.some((s) => r.stderr.includes(s));
    return new HlabError(
      unreachable ? 'host-unreachable' : 'command-failed',
      unreachable
        ? `Lab server "${this.t.name}" is unreachable: ${msg}`
        : `${what ?? `virsh ${args[0]}`} failed on lab server "${this.t.name}": ${msg}`,
      { host: this.t.name, command: `virsh ${args.slice(0, 3).join(' ')}` },
    );
  }
}
