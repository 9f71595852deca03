/**
 * Debian's rsyslogd as a SIEM's syslog receiver on 127.0.0.1: run in the foreground with its own
 * config, work folder and pid file (nothing of the host's logging is touched), imtcp on a given
 * port (it takes octet-counted and LF-framed input alike), every message written as one JSON line
 * with the fields rsyslog's own RFC 5424 parser found.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface SyslogReceived {
  pri: string;
  host: string;
  app: string;
  procid: string;
  msgid: string;
  sd: string;
  msg: string;
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export class Rsyslog {
  private proc?: ChildProcess;
  readonly out: string;

  constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    mkdirSync(dir, { recursive: true });
    this.out = path.join(dir, 'received.jsonl');
    writeFileSync(
      path.join(dir, 'rsyslog.conf'),
      [
        `global(workDirectory="${dir}")`,
        'module(load="imtcp")',
        'template(name="siemJson" type="string" string="{\\"pri\\":\\"%pri%\\",\\"host\\":\\"%hostname:::json%\\",\\"app\\":\\"%app-name:::json%\\",\\"procid\\":\\"%procid:::json%\\",\\"msgid\\":\\"%msgid:::json%\\",\\"sd\\":\\"%structured-data:::json%\\",\\"msg\\":\\"%msg:::json%\\"}\\n")',
        'ruleset(name="siem") { action(type="omfile" file="' +
          this.out +
          '" template="siemJson" flushOnTXEnd="on" asyncWriting="off") }',
        `input(type="imtcp" address="127.0.0.1" port="${port}" ruleset="siem")`,
        '',
      ].join('\n'),
    );
  }

  async start(): Promise<void> {
    this.proc = spawn(
      '/usr/sbin/rsyslogd',
      ['-n', '-f', path.join(this.dir, 'rsyslog.conf'), '-i', path.join(this.dir, 'rsyslogd.pid')],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    this.proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    // Listening once a connection is accepted.
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      if (this.proc.exitCode !== null) throw new Error(`rsyslogd exited: ${stderr}`);
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port: this.port }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`rsyslogd did not listen on ${this.port}: ${stderr}`);
  }

  /** SIGKILL: the receiver dies as a crashed SIEM collector would, without draining anything. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
    // A killed rsyslogd leaves its pid file, and refuses to start while one is there.
    rmSync(path.join(this.dir, 'rsyslogd.pid'), { force: true });
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  }

  received(): SyslogReceived[] {
    if (!existsSync(this.out)) return [];
    return readFileSync(this.out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as SyslogReceived);
  }
}
