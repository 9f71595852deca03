/**
 * A trainee's or trainer's browser, as the class server sees it: HTTPS with the printed
 * certificate pinned by its fingerprint, the redeem POST, and the WebSocket with the cookie.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import https from 'node:https';
import path from 'node:path';
import type { PeerCertificate } from 'node:tls';
import WebSocket from 'ws';
import type { ApiEvents, EventName, MethodName, ReqOf, ResOf } from '../../shared/api.js';
import type { Result } from '../../shared/errors.js';

export interface ClassLinksOut {
  info: { url: string; fingerprint: string; seats: Array<{ seat: string; machine: string }> };
  links: { trainer: string; seats: Array<{ seat: string; url: string }> };
  cards: string;
}

/** Accepts exactly the certificate whose SHA-256 fingerprint the trainer was shown. */
export function pinned(fingerprint: string) {
  return {
    rejectUnauthorized: false,
    checkServerIdentity: (_host: string, cert: PeerCertificate) =>
      cert.fingerprint256 === fingerprint
        ? undefined
        : new Error(`certificate ${cert.fingerprint256} is not the pinned one`),
  };
}

export function splitLink(link: string): { origin: string; token: string } {
  const u = new URL(link);
  return { origin: u.origin, token: u.hash.slice(1) };
}

export function request(
  url: string,
  fingerprint: string,
  o: { method?: string; body?: string; headers?: Record<string, string>; local?: string } = {},
): Promise<{
  status: number;
  body: string;
  cookie?: string;
  headers: Record<string, string | string[] | undefined>;
}> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: o.method ?? 'GET',
        headers: o.headers,
        ...(o.local ? { localAddress: o.local } : {}),
        ...pinned(fingerprint),
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          const set = res.headers['set-cookie']?.[0];
          resolve({
            status: res.statusCode ?? 0,
            body,
            headers: res.headers,
            ...(set ? { cookie: set.split(';')[0] } : {}),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

/** `local`: the browser's own address (127.x.y.z here), so the server's per-address limits see one browser each. */
export function redeem(
  link: string,
  fingerprint: string,
  o: { name?: string; origin?: string; local?: string } = {},
) {
  const { origin: own, token } = splitLink(link);
  return request(`${own}/class/redeem`, fingerprint, {
    method: 'POST',
    body: JSON.stringify({ token, name: o.name ?? '' }),
    headers: { 'content-type': 'application/json', origin: o.origin ?? own },
    ...(o.local ? { local: o.local } : {}),
  });
}

export class ClassSocket {
  private next = 0;
  private readonly pending = new Map<number, (r: Result<unknown>) => void>();
  readonly events: Array<{ name: string; payload: unknown }> = [];
  closed?: { code: number; reason: string };

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      const m = JSON.parse(d.toString()) as {
        t: string;
        id?: number;
        result?: Result<unknown>;
        name?: string;
        payload?: unknown;
      };
      if (m.t === 'result' && m.id !== undefined) this.pending.get(m.id)?.(m.result as Result<unknown>);
      else if (m.t === 'event') this.events.push({ name: m.name as string, payload: m.payload });
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const fn of this.pending.values())
        fn({ ok: false, error: { code: 'unavailable', message: 'closed' } });
    });
  }

  /** Opens the socket; rejects with the HTTP status when the upgrade is refused. */
  static open(
    origin: string,
    fingerprint: string,
    cookie: string,
    o: { origin?: string; local?: string } = {},
  ): Promise<ClassSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${origin.replace('https:', 'wss:')}/class/ws`, {
        headers: { cookie, origin: o.origin ?? origin },
        ...(o.local ? { localAddress: o.local } : {}),
        ...pinned(fingerprint),
      });
      ws.once('open', () => resolve(new ClassSocket(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  call<M extends MethodName>(method: M, params: ReqOf<M>): Promise<Result<ResOf<M>>> {
    this.next += 1;
    const id = this.next;
    return new Promise((resolve) => {
      this.pending.set(id, resolve as (r: Result<unknown>) => void);
      this.ws.send(JSON.stringify({ t: 'call', id, method, params, opId: `t-${id}` }));
    });
  }

  /** Waits until an event of that name satisfies `ok`, for at most `ms`. */
  async waitFor<E extends EventName>(
    name: E,
    ok: (p: ApiEvents[E]) => boolean,
    ms = 10_000,
  ): Promise<ApiEvents[E]> {
    const end = Date.now() + ms;
    for (;;) {
      const hit = this.events.find((e) => e.name === name && ok(e.payload as ApiEvents[E]));
      if (hit) return hit.payload as ApiEvents[E];
      if (Date.now() > end) throw new Error(`no ${name} event matched within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Everything the terminal with this id printed so far. */
  output(id: string): string {
    return this.events
      .filter((e) => e.name === 'terminal.data' && (e.payload as { id: string }).id === id)
      .map((e) => (e.payload as { data: string }).data)
      .join('');
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * `hlab class start WORKSHOP --seats N --json` as a trainer runs it, in its own process: resolves
 * with the printed links once every seat is ready; the process then serves the class.
 */
export async function startClassCli(
  home: string,
  imageDir: string,
  seats = 2,
  workshop = 'ssh-lockdown',
): Promise<{ child: ChildProcess; out: ClassLinksOut }> {
  const child = spawn(
    process.execPath,
    [
      'electron/host/hlab.mjs',
      'class',
      'start',
      workshop,
      '--seats',
      String(seats),
      '--json',
      '--cards',
      path.join(home, 'cards.html'),
    ],
    { env: { ...process.env, HLAB_HOME: home, HLAB_IMAGE_DIR: imageDir }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const out = await new Promise<ClassLinksOut>((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (d: Buffer) => {
      text += d.toString();
      try {
        resolve(JSON.parse(text) as ClassLinksOut);
      } catch {
        // not the whole JSON yet
      }
    });
    child.on('exit', (code) => reject(new Error(`hlab class start exited ${code}: ${stderr}`)));
  });
  return { child, out };
}
