/**
 * An interactive pty shell with end-to-end flow control: output goes out in bounded chunks and
 * the SSH channel is paused once too much is unacknowledged by the renderer (xterm's write
 * callback acks), so a `cat` of a huge file cannot flood the transport or the UI.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Client, ClientChannel } from 'ssh2';
import { HlabError } from '../../shared/errors.js';
import type { KnownHosts } from './known-hosts.js';
import { connectThroughReload, type SshTarget } from './session.js';

export const CHUNK_CHARS = 64 * 1024;
export const HIGH_WATER = 512 * 1024;
export const LOW_WATER = 128 * 1024;

export interface TerminalSink {
  data(chunk: string): void;
  exit(reason: string): void;
}

export class FlowControl {
  private unacked = 0;
  paused = false;

  constructor(
    private readonly pause: () => void,
    private readonly resume: () => void,
  ) {}

  sent(n: number): void {
    this.unacked += n;
    if (!this.paused && this.unacked > HIGH_WATER) {
      this.paused = true;
      this.pause();
    }
  }

  acked(n: number): void {
    this.unacked = Math.max(0, this.unacked - n);
    if (this.paused && this.unacked < LOW_WATER) {
      this.paused = false;
      this.resume();
    }
  }

  get pending(): number {
    return this.unacked;
  }
}

export class TerminalSession {
  private closed = false;
  private readonly flow: FlowControl;

  private constructor(
    readonly machine: string,
    private readonly client: Client,
    private readonly stream: ClientChannel,
    private readonly sink: TerminalSink,
  ) {
    this.flow = new FlowControl(
      () => stream.pause(),
      () => stream.resume(),
    );
    const decoder = new StringDecoder('utf8');
    const forward = (buf: Buffer) => {
      const text = decoder.write(buf);
      for (let i = 0; i < text.length; i += CHUNK_CHARS) {
        const chunk = text.slice(i, i + CHUNK_CHARS);
        this.flow.sent(chunk.length);
        sink.data(chunk);
      }
    };
    stream.on('data', forward);
    stream.stderr.on('data', forward);
    stream.on('close', () => this.finish('the shell exited'));
    client.on('close', () => this.finish(`the connection to machine "${machine}" was lost`));
    client.on('error', () => undefined);
  }

  static async open(
    target: SshTarget,
    knownHosts: KnownHosts,
    size: { cols: number; rows: number },
    sink: TerminalSink,
    /** An open login to the same endpoint, proven moments ago, to use instead of a new one. */
    proven?: Client,
  ): Promise<TerminalSession> {
    if (proven) {
      // A proven login that died meanwhile is no reason to fail: log in anew below.
      const stream = await openShell(proven, target, size).catch(() => undefined);
      if (stream) return new TerminalSession(target.machine, proven, stream, sink);
    }
    const client = await connectThroughReload(target, knownHosts);
    const stream = await openShell(client, target, size);
    return new TerminalSession(target.machine, client, stream, sink);
  }

  write(data: string): void {
    if (!this.closed) this.stream.write(data);
  }

  resize(cols: number, rows: number): void {
    if (!this.closed) this.stream.setWindow(rows, cols, 0, 0);
  }

  ack(chars: number): void {
    this.flow.acked(chars);
  }

  get unacknowledged(): number {
    return this.flow.pending;
  }

  close(reason = 'closed'): void {
    this.finish(reason);
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.close();
    this.client.end();
    this.sink.exit(reason);
  }
}

/** A pty shell on `client`; the client is closed when that fails. */
function openShell(
  client: Client,
  target: SshTarget,
  size: { cols: number; rows: number },
): Promise<ClientChannel> {
  return new Promise<ClientChannel>((resolve, reject) =>
    client.shell({ term: 'xterm-256color', cols: size.cols, rows: size.rows }, (err, s) =>
      err
        ? reject(
            new HlabError(
              'ssh-refused',
              `Cannot open a shell on machine "${target.machine}": ${err.message}`,
            ),
          )
        : resolve(s),
    ),
  ).catch((err: unknown) => {
    client.end();
    throw err;
  });
}
