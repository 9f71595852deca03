/**
 * The app's own SSH connection to a lab server (ssh2, pure JS): it pins the server's host key when
 * the server is added, and carries every connection to a guest. A guest's SSH port exists only on
 * the server's loopback (QEMU user networking, hostfwd on 127.0.0.1 there); the app reaches it
 * with a direct-tcpip channel over this connection, exposed to the layers above as a port on this
 * computer's 127.0.0.1 — so nothing is ever opened on the lab network, and SSH to the guest (pinned
 * keys, the engine's fresh-login proofs) works unchanged.
 */
import net from 'node:net';
import ssh2, { type Client, type ClientChannel } from 'ssh2';
import { HlabError } from '../../../shared/errors.js';
import { fingerprint } from '../../ssh/known-hosts.js';

export interface LabSshTarget {
  name: string;
  host: string;
  port: number;
  user: string;
  privateKey: string;
  /** `TYPE BASE64`; absent only while the server is being added (then any key is recorded). */
  hostKey?: string;
}

/** `TYPE BASE64` of a raw host key blob (its first field names the type). */
export function hostKeyLine(blob: Buffer): string {
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  const type = blob.subarray(4, 4 + len).toString('latin1');
  if (!/^[a-z0-9@.-]{3,64}$/i.test(type))
    throw new HlabError('ssh-refused', 'The server sent a malformed host key.');
  return `${type} ${blob.toString('base64')}`;
}

export const hostKeyFingerprint = (line: string) =>
  fingerprint(Buffer.from(line.split(' ')[1] ?? '', 'base64'));

const CONNECT_TIMEOUT_MS = 10_000;
/** A server connection with no guest connection on it closes after this (a rollback reconnects within it). */
const IDLE_CLOSE_MS = 30_000;

/** Connects and authenticates; `seen` gets the host key the server presented. */
export function connectLab(t: LabSshTarget, seen?: (line: string) => void): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    let refused: HlabError | undefined;
    let settled = false;
    c.once('ready', () => {
      settled = true;
      resolve(c);
    })
      .on('error', (err: Error & { level?: string }) => {
        if (settled) return;
        settled = true;
        c.end();
        if (refused) return reject(refused);
        const auth = err.level === 'client-authentication';
        reject(
          new HlabError(
            auth ? 'ssh-auth' : 'host-unreachable',
            auth
              ? `Lab server "${t.name}" refused the key for ${t.user}@${t.host}: add the app's public key (hlab hosts key) to that user's ~/.ssh/authorized_keys.`
              : `Lab server "${t.name}" (${t.host}:${t.port}) is unreachable: ${err.message}`,
            { host: t.name },
          ),
        );
      })
      .connect({
        host: t.host,
        port: t.port,
        username: t.user,
        privateKey: t.privateKey,
        readyTimeout: CONNECT_TIMEOUT_MS,
        keepaliveInterval: 4_000,
        keepaliveCountMax: 2,
        hostVerifier: (key: Buffer) => {
          const line = hostKeyLine(key);
          seen?.(line);
          if (!t.hostKey || t.hostKey === line) return true;
          refused = new HlabError(
            'host-key-changed',
            `Lab server "${t.name}" presented host key ${hostKeyFingerprint(line)}, not the ${hostKeyFingerprint(t.hostKey)} pinned when it was added. If the server was reinstalled, remove and add it again.`,
            { host: t.name },
          );
          return false;
        },
      });
  });
}

/** Runs one command on the lab server (the host is trusted; output is still bounded). */
export function labExec(
  c: Client,
  command: string,
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    c.exec(command, (err, ch) => {
      if (err) return reject(new HlabError('command-failed', `Lab server exec failed: ${err.message}`));
      let out = '';
      const timer = setTimeout(() => ch.close(), timeoutMs);
      ch.on('data', (d: Buffer) => {
        if (out.length < 1 << 20) out += d.toString('utf8');
      });
      ch.stderr.resume();
      ch.on('close', (code: number | null) => {
        clearTimeout(timer);
        resolve({ code: code ?? 255, stdout: out });
      });
    });
  });
}

/**
 * Local ports that lead to ports on one lab server's loopback, over one shared connection that
 * closes after an idle time (a CLI process ends anyway: it exits when its command is done) and is opened again on demand.
 */
export class LabTunnel {
  private client?: Promise<Client>;
  private readonly servers = new Map<string, Promise<number>>();
  /** Server loopback ports forwarded back to a Unix socket here (the package proxy), per connection. */
  private readonly reverse = new Map<number, string>();
  private reverseOn?: Client;
  private open = 0;
  private idle?: NodeJS.Timeout;

  constructor(private readonly target: () => LabSshTarget) {}

  /** The local 127.0.0.1 port that leads to `address:port` as seen from the server. */
  localPort(address: string, remotePort: number): Promise<number> {
    const key = `${address}:${remotePort}`;
    let p = this.servers.get(key);
    if (!p) {
      p = this.listen(address, remotePort);
      this.servers.set(key, p);
    }
    return p;
  }

  private listen(address: string, remotePort: number): Promise<number> {
    const server = net.createServer((sock) => this.relay(sock, address, remotePort));
    server.unref();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
    });
  }

  /**
   * Holds `remotePort` on the server's loopback for as long as this process keeps the connection:
   * each connection there is joined to the Unix socket `socket` here. False when the server refused
   * it (another app process holds it; that one relays meanwhile).
   */
  async holdReverse(remotePort: number, socket: string): Promise<boolean> {
    const c = await this.connection();
    if (this.reverseOn !== c) {
      this.reverseOn = c;
      this.reverse.clear();
      c.on('tcp connection', (info, accept, reject) => {
        const target = this.reverse.get(info.destPort);
        if (!target) return reject();
        const ch = accept();
        const local = net.connect(target);
        ch.on('error', () => local.destroy());
        local.on('error', () => ch.close());
        ch.pipe(local).pipe(ch);
        local.on('close', () => ch.close());
      });
    }
    if (this.reverse.has(remotePort)) return true;
    const ok = await new Promise<boolean>((resolve) =>
      c.forwardIn('127.0.0.1', remotePort, (err) => resolve(!err)),
    );
    if (ok) this.reverse.set(remotePort, socket);
    return ok;
  }

  private connection(): Promise<Client> {
    if (!this.client) {
      const p = connectLab(this.target());
      this.client = p;
      p.then(
        (c) => {
          c.on('close', () => {
            if (this.client === p) this.client = undefined;
            if (this.reverseOn === c) this.reverse.clear();
          });
          c.on('error', () => undefined);
        },
        () => {
          if (this.client === p) this.client = undefined;
        },
      );
    }
    return this.client;
  }

  private relay(sock: net.Socket, address: string, remotePort: number): void {
    sock.pause();
    this.open += 1;
    clearTimeout(this.idle);
    let closed = false;
    const done = () => {
      if (closed) return;
      closed = true;
      this.open -= 1;
      if (this.open === 0) {
        this.idle = setTimeout(() => this.closeIdle(), IDLE_CLOSE_MS);
        this.idle.unref();
      }
    };
    sock.on('close', done);
    sock.on('error', () => sock.destroy());
    this.connection()
      .then(
        (c) =>
          new Promise<ClientChannel>((resolve, reject) =>
            c.forwardOut('127.0.0.1', 0, address, remotePort, (err, ch) => (err ? reject(err) : resolve(ch))),
          ),
      )
      .then(
        (ch) => {
          if (sock.destroyed) return ch.close();
          ch.on('error', () => sock.destroy());
          sock.pipe(ch).pipe(sock);
          ch.on('close', () => sock.destroy());
          sock.resume();
        },
        () => sock.destroy(),
      );
  }

  private closeIdle(): void {
    // A held reverse forward is what lets the guests reach their package proxy: keep it.
    if (this.open > 0 || !this.client || this.reverse.size > 0) return;
    const p = this.client;
    this.client = undefined;
    void p.then((c) => c.end()).catch(() => undefined);
  }
}
