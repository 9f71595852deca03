/**
 * Everything steps need from a guest over SSH, on one cached connection that reconnects
 * transparently (after a reboot or a snapshot restore the next call simply connects again).
 */
import { posix } from 'node:path';
import type { Client, SFTPWrapper } from 'ssh2';
import { HlabError } from '../../shared/errors.js';
import { shQuote } from '../../shared/shell.js';
import type { ExecResult, Progress } from '../../shared/types.js';
import type { KnownHosts } from './known-hosts.js';
import { connectThroughReload, exec, tail, waitForSsh, type ExecOptions, type SshTarget } from './session.js';

// Re-exported: steps, providers and benches quote words for the guest's shell through this module.
export { shQuote };

/** Connection-level failures worth one transparent reconnect; a command's own failure is not. */
const RETRYABLE = new Set<string>(['ssh-refused', 'ssh-timeout']);
/** Never a lost connection: the user's cancel or time limit, or a trust/auth refusal. */
const FINAL = new Set<string>(['cancelled', 'timeout', 'host-key-changed', 'ssh-auth']);

function connectionLost(err: unknown): boolean {
  if (!(err instanceof HlabError)) return true; // raw ssh2 errors: "Not connected", "No response from server"
  if (RETRYABLE.has(err.code)) return true;
  if (FINAL.has(err.code)) return false;
  return /not connected|No response|channel/i.test(err.message);
}

export class SshExecutor {
  private client?: Client;
  private connecting?: Promise<Client>;

  constructor(
    private readonly resolveTarget: () => Promise<SshTarget>,
    private readonly knownHosts: KnownHosts,
  ) {}

  private async conn(signal?: AbortSignal): Promise<Client> {
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      try {
        const c = await connectThroughReload(await this.resolveTarget(), this.knownHosts, signal);
        const drop = () => {
          if (this.client === c) this.client = undefined;
        };
        c.on('close', drop);
        c.on('end', drop);
        this.client = c;
        return c;
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }

  /** Runs on the cached connection; reconnects once if the connection itself was lost. */
  private async withClient<T>(fn: (c: Client) => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await fn(await this.conn(signal));
    } catch (err) {
      if (!connectionLost(err)) throw err;
      this.reset();
      return fn(await this.conn(signal));
    }
  }

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.withClient((c) => exec(c, command, opts), opts.signal);
  }

  sudo(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.exec(`sudo -n sh -c ${shQuote(command)}`, opts);
  }

  /** Like exec, but a non-zero exit is a `command-failed` error with the code and last lines. */
  async run(command: string, opts: ExecOptions & { asRoot?: boolean } = {}): Promise<ExecResult> {
    const r = opts.asRoot ? await this.sudo(command, opts) : await this.exec(command, opts);
    if (r.exitCode !== 0) {
      const target = await this.resolveTarget();
      throw new HlabError(
        'command-failed',
        `"${command.split('\n')[0]}" exited ${r.exitCode} on machine "${target.machine}".`,
        {
          machine: target.machine,
          exitCode: r.exitCode,
          stdout: tail(r.stdout),
          stderr: tail(r.stderr),
        },
      );
    }
    return r;
  }

  private sftp<T>(fn: (sftp: SFTPWrapper) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.withClient(
      (c) =>
        new Promise<T>((resolve, reject) => {
          c.sftp((err, sftp) => {
            if (err) return reject(new HlabError('ssh-refused', `SFTP is not available: ${err.message}`));
            fn(sftp)
              .then(resolve, reject)
              .finally(() => sftp.end());
          });
        }),
      signal,
    );
  }

  writeFile(remotePath: string, data: string | Buffer, mode = 0o644): Promise<void> {
    return this.sftp(
      (sftp) =>
        new Promise((resolve, reject) =>
          sftp.writeFile(remotePath, data, { mode }, (err) =>
            err
              ? reject(new HlabError('command-failed', `Cannot write ${remotePath}: ${err.message}`))
              : resolve(),
          ),
        ),
    );
  }

  /** Uploads files into an existing folder in one SFTP session; their sub-folders are created. */
  writeTree(remoteDir: string, files: Array<{ path: string; data: Buffer; mode?: number }>): Promise<void> {
    const step = <T>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void) =>
      new Promise<T | undefined>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
    return this.sftp(async (sftp) => {
      const made = new Set<string>([remoteDir]);
      // sftp-server answers a bare "Failure" for a folder that exists: a folder that truly could
      // not be made shows up as the next write's error instead.
      const mkdir = async (dir: string) => {
        if (made.has(dir)) return;
        made.add(dir);
        await new Promise<void>((resolve) => sftp.mkdir(dir, { mode: 0o700 }, () => resolve()));
      };
      for (const f of files) {
        const remote = posix.join(remoteDir, f.path);
        await mkdir(posix.dirname(remote));
        await step((cb) => sftp.writeFile(remote, f.data, { mode: f.mode ?? 0o644 }, cb)).catch(
          (err: Error) => {
            throw new HlabError('command-failed', `Cannot write ${remote}: ${err.message}`);
          },
        );
      }
    });
  }

  readFile(remotePath: string): Promise<Buffer> {
    return this.sftp(
      (sftp) =>
        new Promise((resolve, reject) =>
          sftp.readFile(remotePath, (err, buf) =>
            err
              ? reject(new HlabError('not-found', `Cannot read ${remotePath}: ${err.message}`))
              : resolve(buf),
          ),
        ),
    );
  }

  copyIn(localPath: string, remotePath: string): Promise<void> {
    return this.sftp(
      (sftp) =>
        new Promise((resolve, reject) =>
          sftp.fastPut(localPath, remotePath, (err) =>
            err
              ? reject(
                  new HlabError(
                    'command-failed',
                    `Cannot copy ${localPath} to ${remotePath}: ${err.message}`,
                  ),
                )
              : resolve(),
          ),
        ),
    );
  }

  copyOut(remotePath: string, localPath: string): Promise<void> {
    return this.sftp(
      (sftp) =>
        new Promise((resolve, reject) =>
          sftp.fastGet(remotePath, localPath, (err) =>
            err
              ? reject(
                  new HlabError(
                    'command-failed',
                    `Cannot copy ${remotePath} to ${localPath}: ${err.message}`,
                  ),
                )
              : resolve(),
          ),
        ),
    );
  }

  /** Uploads a script over SFTP and runs it as root, so its size never hits argument limits. */
  async runScript(
    script: string,
    opts: ExecOptions & { env?: Record<string, string> } = {},
  ): Promise<ExecResult> {
    const remote = posix.join('/tmp', `hlab-script-${process.pid}-${Date.now().toString(36)}.sh`);
    await this.writeFile(remote, script, 0o700);
    const env = Object.entries(opts.env ?? {})
      .map(([k, v]) => `${k}=${shQuote(v)}`)
      .join(' ');
    try {
      return await this.exec(`sudo -n env ${env} bash ${remote}`, opts);
    } finally {
      await this.exec(`rm -f ${remote}`).catch(() => undefined);
    }
  }

  async waitForSsh(
    timeoutMs: number,
    opts: { signal?: AbortSignal; progress?: (p: Progress) => void } = {},
  ): Promise<void> {
    this.reset();
    await waitForSsh(await this.resolveTarget(), this.knownHosts, { timeoutMs, ...opts });
  }

  /**
   * Drops the cached connection (before a restore: connections open across loadvm stall). Destroyed,
   * not ended: a polite close to a guest that was restored under it never completes, and the
   * half-closed socket would keep the process alive.
   */
  reset(): void {
    this.client?.destroy();
    this.client = undefined;
  }
}
