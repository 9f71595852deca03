/** A minimal QMP client: greeting + capabilities negotiation, commands with ids, events. */
import net from 'node:net';
import { HlabError } from '../../../shared/errors.js';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
}

export class QmpClient {
  private buf = '';
  private nextId = 1;
  private pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private greeted?: () => void;
  readonly events: QmpEvent[] = [];
  private closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => {
      this.closed = true;
      for (const p of this.pending.values())
        p.reject(new HlabError('vm-crashed', 'QMP connection closed (QEMU exited).'));
      this.pending.clear();
    });
    socket.on('error', () => undefined);
  }

  static async connect(socketPath: string, timeoutMs = 5000): Promise<QmpClient> {
    const socket = net.createConnection(socketPath);
    const client = new QmpClient(socket);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new HlabError('timeout', `QMP socket ${socketPath} did not greet within ${timeoutMs} ms.`));
      }, timeoutMs);
      client.greeted = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new HlabError('unavailable', `Cannot connect to QMP socket ${socketPath}: ${err.message}`));
      });
    });
    await client.execute('qmp_capabilities');
    return client;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if ('QMP' in msg) {
        this.greeted?.();
      } else if ('event' in msg) {
        this.events.push(msg as unknown as QmpEvent);
      } else if (typeof msg.id === 'string') {
        const p = this.pending.get(msg.id);
        if (!p) continue;
        this.pending.delete(msg.id);
        if ('error' in msg) {
          const e = msg.error as { class?: string; desc?: string };
          p.reject(
            new HlabError('internal', `QMP error ${e.class ?? ''}: ${e.desc ?? 'unknown'}`, {
              qmpClass: e.class,
            }),
          );
        } else {
          p.resolve(msg.return);
        }
      }
    }
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 120_000): Promise<T> {
    if (this.closed)
      return Promise.reject(new HlabError('vm-crashed', 'QMP connection closed (QEMU exited).'));
    const id = `c${this.nextId++}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new HlabError('timeout', `QMP command ${command} did not answer within ${timeoutMs} ms.`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.socket.write(
        JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id }) + '\n',
      );
    });
  }

  /** HMP passthrough; HMP reports failures only in its text output, so callers must read it. */
  hmp(commandLine: string, timeoutMs?: number): Promise<string> {
    return this.execute<string>('human-monitor-command', { 'command-line': commandLine }, timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }
}
