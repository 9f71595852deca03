/**
 * A class on REAL VMs, through the real CLI and the real TLS server: `hlab class start` makes two
 * seats and prints the links; trainees and the trainer connect as browsers would (pinned
 * certificate, the redeem POST, a WebSocket with the cookie). Trainee A then tries to reach B's
 * seat every way a page can — other methods, B's machine name, a forged or replayed cookie, a
 * cross-origin socket, a revoked link — and B's seat is unchanged. `hlab class end` from another
 * process ends it: links die, the seats' machines are gone, the audit log holds what happened.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MethodName } from '../../shared/api.js';
import type { SeatTile } from '../../shared/class.js';
import {
  ClassSocket,
  redeem,
  request,
  splitLink,
  startClassCli,
  type ClassLinksOut,
} from './class-client.js';
import { IMAGE_DIR, newHome } from './vm-env.js';

let home: string;
let child: ChildProcess;
let out: ClassLinksOut;
const fp = () => out.info.fingerprint;
const origin = () => splitLink(out.info.url).origin;
const sockets: ClassSocket[] = [];

const hlab = (...args: string[]) =>
  spawnSync(process.execPath, ['electron/host/hlab.mjs', ...args], {
    env: { ...process.env, HLAB_HOME: home, HLAB_IMAGE_DIR: IMAGE_DIR },
    encoding: 'utf8',
    timeout: 300_000,
  });

/** Each browser at its own loopback address, as in a room (the limits are per address). */
const AT = { a: '127.0.0.11', b: '127.0.0.12', trainer: '127.0.0.13' };

async function join(link: string, name: string, local: string) {
  const r = await redeem(link, fp(), { name, local });
  expect(r.status, r.body).toBe(200);
  expect(r.headers['set-cookie']?.[0]).toMatch(/HttpOnly; Secure; SameSite=Strict/);
  const s = await ClassSocket.open(origin(), fp(), r.cookie as string, { local });
  sockets.push(s);
  return { socket: s, cookie: r.cookie as string };
}

const tile = (s: ClassSocket, seat: string) =>
  s
    .call('class.status', {})
    .then((r) => (r.ok ? r.value.seats.find((t) => t.seat === seat) : undefined) as SeatTile);

beforeAll(async () => {
  home = newHome('class');
  ({ child, out } = await startClassCli(home, IMAGE_DIR));
}, 660_000);

afterAll(() => {
  for (const s of sockets) s.close();
  if (child.exitCode === null) child.kill('SIGTERM');
});

describe('a class on real VMs', { timeout: 600_000 }, () => {
  it('makes every seat before handing out links, and prints the cards and the fingerprint', () => {
    expect(out.info.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    expect(out.info.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(out.info.seats.map((s) => [s.seat, (s as SeatTile).state])).toEqual([
      ['seat-1', 'ready'],
      ['seat-2', 'ready'],
    ]);
    expect(out.links.seats.map((s) => s.seat)).toEqual(['seat-1', 'seat-2']);
    for (const l of [...out.links.seats.map((s) => s.url), out.links.trainer])
      expect(splitLink(l).token).toMatch(/^[A-Za-z0-9_-]{22}$/); // 128 bits
    const cards = readFileSync(out.cards, 'utf8');
    expect(cards).toContain(out.info.fingerprint);
    expect(cards).toContain('<svg');
    expect(statSync(out.cards).mode & 0o077).toBe(0);
    // Only hashes are kept: no token is in any file of the class's home.
    const grep = spawnSync('grep', ['-rl', splitLink(out.links.seats[0]!.url).token, home], {
      encoding: 'utf8',
    });
    expect(grep.stdout.split('\n').filter(Boolean)).toEqual([out.cards]);
  });

  it('trainee A sees only seat-1; every way to reach B is refused and B is unchanged', async () => {
    const [linkA, linkB] = out.links.seats.map((s) => s.url) as [string, string];
    // A link from a foreign page (Origin) is refused before it is spent.
    expect(
      (await redeem(linkA, fp(), { name: 'Ana', origin: 'https://evil.example', local: AT.a })).status,
    ).toBe(403);
    const { socket: a, cookie } = await join(linkA, 'Ana', AT.a);
    // A link works once.
    const replay = await redeem(linkA, fp(), { name: 'Ana', local: AT.a });
    expect(replay.status).toBe(410);
    expect(replay.body).toMatch(/already used/);

    const me = await a.call('seat.whoami', {});
    expect(me.ok && me.value).toMatchObject({ seat: 'seat-1', trainee: 'Ana', fingerprint: fp() });
    const st = await a.call('seat.status', {});
    const machineA = st.ok ? st.value.progress.machine : '';
    expect(st.ok && st.value.progress.trainee).toBe('Ana');
    const machineB = out.info.seats[1]!.machine;

    const forbidden: Array<[MethodName, object]> = [
      ['machines.list', {}],
      ['terminal.open', { machine: machineB, cols: 80, rows: 24 }],
      ['machines.exec', { name: machineB, command: 'id' }],
      ['workshops.status', { machine: machineB }],
      ['workshops.reset', { machine: machineB }],
      ['snapshots.restore', { machine: machineB, snapshot: 'challenge-0' }],
      ['class.status', {}],
      ['class.resetSeat', { seat: 'seat-2' }],
      ['class.watch', { seat: 'seat-2', cols: 80, rows: 24 }],
      ['class.input', { seat: 'seat-2', data: 'id\r' }],
      ['class.newLink', { seat: 'seat-2' }],
    ];
    for (const [m, p] of forbidden) {
      const r = await a.call(m, p as never);
      expect(r.ok, m).toBe(false);
      if (!r.ok) expect(r.error.code, m).toBe('permission');
    }
    // Seat methods take no seat: a seat or machine named in the request is ignored.
    const sneaky = await a.call('seat.status', { seat: 'seat-2', machine: machineB } as never);
    expect(sneaky.ok && sneaky.value.progress.machine).toBe(machineA);

    // Forged, foreign-origin and missing cookies cannot open a socket.
    await expect(
      ClassSocket.open(origin(), fp(), 'hlab_class=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', {
        local: AT.a,
      }),
    ).rejects.toThrow(/401/);
    await expect(
      ClassSocket.open(origin(), fp(), cookie, { origin: 'https://evil.example', local: AT.a }),
    ).rejects.toThrow(/403/);
    await expect(ClassSocket.open(origin(), fp(), '', { local: AT.a })).rejects.toThrow(/401/);
    expect((await request(`${origin()}/class/me`, fp(), { headers: { cookie } })).body).toContain('seat-1');

    // A's terminal is A's machine.
    const t = await a.call('seat.terminal', { cols: 100, rows: 30 });
    expect(t.ok).toBe(true);
    const id = t.ok ? t.value.id : '';
    await a.call('seat.input', { data: 'echo "host=$(hostname) n=$((6*7))"\r' });
    await expect.poll(() => a.output(id), { timeout: 30_000 }).toContain(`host=${machineA} n=42`);

    // From A's guest, neither B's SSH forward nor the class server itself (host services) answers.
    const machines = JSON.parse(hlab('machine', 'list', '--json').stdout) as Array<{
      name: string;
      ssh?: { port: number };
    }>;
    const portB = machines.find((m) => m.name === machineB)?.ssh?.port;
    expect(portB).toBeGreaterThan(0);
    const classPort = new URL(out.info.url).port;
    // The typed line echoes back: the answer is computed (tag=1 open, tag=0 closed) so only output matches.
    const probe = (port: string | number, tag: string) =>
      `timeout 5 bash -c '</dev/tcp/10.0.2.2/${port}' 2>/dev/null && echo ${tag}=$((1)) || echo ${tag}=$((0))\r`;
    await a.call('seat.input', { data: probe(portB!, 'seatB') + probe(classPort, 'server') });
    await expect.poll(() => a.output(id), { timeout: 30_000 }).toMatch(/server=[01]/);
    expect(a.output(id)).toMatch(/seatB=0/);
    expect(a.output(id)).toMatch(/server=0/);
    expect(a.output(id)).not.toMatch(/(seatB|server)=1/);

    // A wrong check is counted on A only; B's link still works and B's seat never moved.
    const check = await a.call('seat.check', {});
    expect(check.ok && check.value.pass).toBe(false);
    const { socket: b } = await join(linkB, 'Ben', AT.b);
    const bs = await b.call('seat.status', {});
    expect(bs.ok && bs.value.progress.machine).toBe(machineB);
    expect(bs.ok && bs.value.progress.challenges.map((c) => c.attempts + c.resets + c.hintsShown)).toEqual([
      0, 0, 0,
    ]);
  });

  it('the trainer sees the room live, watches and takes over a terminal with a notice, resets a seat', async () => {
    const { socket: tr } = await join(out.links.trainer, '', AT.trainer);
    const a = sockets[0]!;
    const before = await tile(tr, 'seat-1');
    expect(before).toMatchObject({ trainee: 'Ana', joined: true, attempts: 1, lockedOut: false });
    // A check by the trainee reaches the trainer's tile as a pushed event within 2 s of its answer.
    const check = await a.call('seat.check', {});
    expect(check.ok).toBe(true);
    const answered = Date.now();
    await tr.waitFor(
      'class.changed',
      (e) => e.info.seats.some((s) => s.seat === 'seat-1' && s.attempts === 2),
      2000,
    );
    expect(Date.now() - answered).toBeLessThan(2000);

    const w = await tr.call('class.watch', { seat: 'seat-1', cols: 100, rows: 30 });
    expect(w.ok).toBe(true);
    const wid = w.ok ? w.value.id : '';
    await expect.poll(() => tr.output(wid), { timeout: 10_000 }).toContain('n=42'); // the replay
    // Read-only until the trainer takes over.
    expect((await tr.call('class.input', { seat: 'seat-1', data: 'x' })).ok).toBe(false);
    expect((await tr.call('class.takeover', { seat: 'seat-1', on: true })).ok).toBe(true);
    await a.waitFor('seat.notice', (n) => n.kind === 'take-over' && n.takenOver);
    const typed = await a.call('seat.input', { data: 'x' });
    expect(!typed.ok && typed.error.message).toMatch(/taken over/);
    await tr.call('class.input', { seat: 'seat-1', data: 'echo trainer-$((7*6))\r' });
    const aId = a.events.find((e) => e.name === 'terminal.data')!.payload as { id: string };
    await expect.poll(() => a.output(aId.id), { timeout: 30_000 }).toContain('trainer-42');
    await tr.call('class.takeover', { seat: 'seat-1', on: false });
    await a.waitFor('seat.notice', (n) => n.kind === 'hand-back');
    expect((await a.call('seat.input', { data: 'echo back\r' })).ok).toBe(true);

    // The trainer's reset: the seat's start snapshot comes back and the trainee is told.
    await a.call('seat.input', { data: 'touch /tmp/mark && echo mark=$((2+3))\r' });
    await expect.poll(() => a.output(aId.id), { timeout: 30_000 }).toContain('mark=5');
    const reset = await tr.call('class.resetSeat', { seat: 'seat-1' });
    expect(reset.ok && reset.value.resets).toBe(1);
    await a.waitFor('seat.notice', (n) => n.kind === 'reset');
    const t2 = await a.call('seat.terminal', { cols: 100, rows: 30 });
    const id2 = t2.ok ? t2.value.id : '';
    await a.call('seat.input', { data: 'test -e /tmp/mark && echo still || echo gone-$((40+2))\r' });
    await expect.poll(() => a.output(id2), { timeout: 30_000 }).toContain('gone-42');
  });

  it('limits resets per seat, and a revoked link cuts its sockets and sessions at once', async () => {
    const a = sockets[0]!;
    const tr = sockets[2]!;
    // The trainer's reset above took one of seat-1's three; two more go, the next is refused.
    for (let i = 0; i < 2; i += 1) expect((await a.call('seat.reset', {})).ok).toBe(true);
    const limited = await a.call('seat.reset', {});
    expect(!limited.ok && limited.error).toMatchObject({ code: 'busy' });
    expect(!limited.ok && limited.error.message).toMatch(/try again in \d+ s/);

    expect((await tr.call('class.revoke', { seat: 'seat-2' })).ok).toBe(true);
    const b = sockets[1]!;
    await expect.poll(() => b.closed?.code, { timeout: 5000 }).toBe(4401);
    const fresh = await tr.call('class.newLink', { seat: 'seat-2' });
    expect(fresh.ok).toBe(true);
    if (fresh.ok) {
      expect(fresh.value.cardsHtml).toContain(fp());
      const again = await redeem(fresh.value.url, fp(), { name: 'Ben', local: AT.b });
      expect(again.status).toBe(200);
    }
  });

  it('hlab class end from another process ends the class: links dead, seats destroyed, audit kept', async () => {
    const dir = JSON.parse(readFileSync(path.join(home, 'classes', 'current.json'), 'utf8')) as {
      dir: string;
    };
    const ended = hlab('class', 'end');
    expect(ended.status, ended.stderr).toBe(0);
    await expect.poll(() => child.exitCode, { timeout: 60_000 }).toBe(0);
    expect(existsSync(path.join(home, 'classes', 'current.json'))).toBe(false);
    const list = hlab('machine', 'list', '--json');
    expect(JSON.parse(list.stdout)).toEqual([]);
    const events = readFileSync(path.join(dir.dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { who: string; event: string });
    const seen = new Set(events.map((e) => `${e.who}:${e.event}`));
    for (const e of [
      'seat-1:joined',
      'seat-1:check',
      'trainer:watch',
      'trainer:take-over',
      'trainer:reset',
      'trainer:revoke',
      '-:ws-refused',
      '-:redeem-refused',
      'trainer:class-ended',
    ])
      expect(seen, e).toContain(e);
    expect(readFileSync(path.join(dir.dir, 'class.html'), 'utf8')).toContain('Ana');
  });
});
