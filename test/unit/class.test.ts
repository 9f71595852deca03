/** The class server's pure parts: links and sessions, rate limits, --listen, seat plans, cards, the audit cap. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClassTokens } from '../../electron/workshops/class/tokens.js';
import { RateLimiter } from '../../electron/workshops/class/limits.js';
import { parseListen } from '../../electron/workshops/class/listen.js';
import { planSeats } from '../../electron/workshops/class/provision.js';
import { seatCardsHtml } from '../../electron/workshops/class/cards.js';
import { AuditLog, AUDIT_CAP } from '../../electron/workshops/class/audit.js';
import { MachineJobs } from '../../electron/machines/machine-jobs.js';
import { Classroom, type ClassroomDeps } from '../../electron/workshops/class/classroom.js';
import { selfSignedTls, trainerTls } from '../../electron/platform/tls.js';

describe('seat links and sessions', () => {
  it('a link is 128 random bits, redeemed once for a session; only hashes are held', () => {
    const t = new ClassTokens();
    const token = t.issue({ role: 'trainee', seat: 'seat-1' });
    expect(Buffer.from(token, 'base64url')).toHaveLength(16);
    expect(JSON.stringify([...(t as unknown as { links: Map<string, unknown> }).links.keys()])).not.toContain(
      token,
    );
    const r = t.redeem(token);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(t.session(r.session)).toEqual({ role: 'trainee', seat: 'seat-1' });
    expect(t.redeem(token)).toEqual({ ok: false, reason: 'used' });
    expect(t.redeem('A'.repeat(22))).toEqual({ ok: false, reason: 'unknown' });
    expect(t.redeem({ toString: () => token })).toEqual({ ok: false, reason: 'unknown' });
    expect(t.session(`${r.session}x`)).toBeUndefined();
  });

  it('revoking or re-issuing a seat ends its sessions; other seats and the trainer keep theirs', () => {
    const t = new ClassTokens();
    const a = t.redeem(t.issue({ role: 'trainee', seat: 'seat-1' }));
    const b = t.redeem(t.issue({ role: 'trainee', seat: 'seat-2' }));
    const tr = t.redeem(t.issue({ role: 'trainer' }));
    if (!a.ok || !b.ok || !tr.ok) throw new Error('redeem failed');
    const next = t.issue({ role: 'trainee', seat: 'seat-1' });
    expect(t.session(a.session)).toBeUndefined();
    expect(t.session(b.session)).toEqual({ role: 'trainee', seat: 'seat-2' });
    expect(t.revoke({ role: 'trainee', seat: 'seat-1' })).toBe(true);
    expect(t.redeem(next)).toEqual({ ok: false, reason: 'unknown' });
    t.end();
    expect(t.session(tr.session)).toBeUndefined();
    expect(t.redeem(t.issue({ role: 'trainer' }))).toEqual({ ok: false, reason: 'ended' });
  });
});

describe('rate limits', () => {
  it('allows a burst, then refuses with the wait, and refills over time', () => {
    let now = 0;
    const l = new RateLimiter({ burst: 3, perSecond: 3 / 60 }, 10, () => now);
    expect([l.take('s'), l.take('s'), l.take('s')]).toEqual([0, 0, 0]);
    expect(l.take('s')).toBe(20);
    expect(l.take('other')).toBe(0);
    now = 20_000;
    expect(l.take('s')).toBe(0);
    expect(l.blocked('s')).toBe(true);
  });

  it('a flood of new keys cannot grow the table past its bound', () => {
    const l = new RateLimiter({ burst: 1, perSecond: 1 }, 100);
    for (let i = 0; i < 10_000; i += 1) l.take(`10.0.${i >> 8}.${i & 255}`);
    expect((l as unknown as { buckets: Map<string, unknown> }).buckets.size).toBe(100);
  });
});

describe('--listen', () => {
  it('defaults to 127.0.0.1 and takes IP literals only, never a wildcard', () => {
    expect(parseListen(undefined)).toEqual({ address: '127.0.0.1', port: 0 });
    expect(parseListen('192.168.1.20:8443')).toEqual({ address: '192.168.1.20', port: 8443 });
    expect(parseListen('[fd00::5]:8443')).toEqual({ address: 'fd00::5', port: 8443 });
    for (const bad of [
      '0.0.0.0:80',
      '[::]:80',
      'lab.example:443',
      '1.2.3.4',
      '999.1.1.1:80',
      '1.2.3.4:70000',
      'x',
    ])
      expect(() => parseListen(bad), bad).toThrow(/--listen/);
  });
});

describe('seat plans and cards', () => {
  it('spreads seats round-robin over lab servers; machine names change per try', () => {
    const p = planSeats(5, ['h1', 'h2'], 'cabc');
    expect(p.map((s) => `${s.seat}@${s.host}`)).toEqual([
      'seat-1@h1',
      'seat-2@h2',
      'seat-3@h1',
      'seat-4@h2',
      'seat-5@h1',
    ]);
    expect([p[0]!.machine(0), p[0]!.machine(2)]).toEqual(['cabc-s1', 'cabc-s1-r2']);
    expect(planSeats(1, [], 'c').map((s) => s.host)).toEqual(['']);
  });

  it('cards escape what they show and carry a QR code and the fingerprint', () => {
    const html = seatCardsHtml('<b>SSH</b>', 'AA:BB', [
      { seat: 'seat-1', url: 'https://127.0.0.1:1/#tok"en' },
    ]);
    expect(html).toContain('&lt;b&gt;SSH&lt;/b&gt;');
    expect(html).toContain('tok&quot;en');
    expect(html).toContain('<svg');
    expect(html).toContain('AA:BB');
  });
});

describe('audit log', () => {
  it('writes JSON lines with clipped fields and stops at its cap', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-audit-'));
    const file = path.join(dir, 'audit.jsonl');
    const log = new AuditLog(file);
    log.write({ who: 'seat-1', event: 'check', detail: 'x'.repeat(10_000) });
    const first = JSON.parse(readFileSync(file, 'utf8').trim()) as { detail: string };
    expect(first.detail.length).toBeLessThan(400);
    writeFileSync(file, 'y'.repeat(AUDIT_CAP));
    log.write({ who: 'seat-1', event: 'check' });
    log.write({ who: 'seat-1', event: 'check' });
    const tail = readFileSync(file, 'utf8').slice(AUDIT_CAP);
    expect(tail.trim().split('\n')).toHaveLength(1);
    expect(tail).toContain('audit-log-full');
  });
});

describe('TLS material (real openssl)', () => {
  it('makes a self-signed pair for the address and reads it back as a trainer pair', async () => {
    const tls = await selfSignedTls('127.0.0.1');
    expect(tls.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-tls-test-'));
    writeFileSync(path.join(dir, 'c.pem'), tls.cert);
    writeFileSync(path.join(dir, 'k.pem'), tls.key);
    expect(trainerTls(path.join(dir, 'c.pem'), path.join(dir, 'k.pem')).fingerprint).toBe(tls.fingerprint);
    const other = await selfSignedTls('127.0.0.1');
    writeFileSync(path.join(dir, 'k2.pem'), other.key);
    expect(() => trainerTls(path.join(dir, 'c.pem'), path.join(dir, 'k2.pem'))).toThrow(/is not the key of/);
    expect(() => trainerTls(path.join(dir, 'k.pem'), path.join(dir, 'k.pem'))).toThrow(
      /not a PEM certificate/,
    );
    expect(() => trainerTls(path.join(dir, 'none.pem'), path.join(dir, 'k.pem'))).toThrow(
      /Cannot read the TLS certificate/,
    );
  });
});

describe('a classroom (small fakes for the machines)', () => {
  const fakeRoom = (hold?: ClassroomDeps['hold']) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-room-'));
    const destroyed: string[] = [];
    const changes: number[] = [];
    let gate: (() => void) | undefined;
    const sessions = {
      status: (m: string) => ({ machine: m }),
      check: async (m: string) => {
        await new Promise<void>((r) => (gate = r));
        return {
          challenge: 'c1',
          pass: false,
          failures: [],
          exitCode: 255,
          output: '',
          durationMs: 1,
          progress: {},
          loginFailed: true,
          machine: m,
        };
      },
      hint: (m: string) => ({ machine: m }),
      reset: async (m: string) => ({ machine: m }),
      solve: async (m: string) => ({ machine: m }),
    };
    const room = new Classroom(
      {
        sessions: sessions as never,
        progress: { get: () => undefined, save: (p: unknown) => p } as never,
        knownHosts: {} as never,
        targetOf: async () => {
          throw new Error('no ssh in this test');
        },
        destroy: async (m) => void destroyed.push(m),
        audit: new AuditLog(path.join(dir, 'audit.jsonl')),
        changed: (info) => void changes.push(info.seats.length),
        ...(hold ? { hold } : {}),
      },
      {
        workshop: 'w',
        title: 'W',
        url: 'https://127.0.0.1:1/',
        fingerprint: 'AA',
        certificate: 'self-signed',
      },
    );
    return { room, destroyed, changes, open: () => gate?.(), audit: path.join(dir, 'audit.jsonl') };
  };
  const op = () => ({
    signal: new AbortController().signal,
    progress: () => undefined,
    log: () => undefined,
  });

  /** seat-1 on machine m1, made at once. */
  const oneSeat = (room: Classroom) =>
    room.provision(
      'seat-1',
      '',
      () => 'm1',
      async () => undefined,
      op(),
    );

  it('a seat that fails is destroyed and made again on a new machine; three failures mark it failed', async () => {
    const { room, destroyed } = fakeRoom();
    let tries = 0;
    const flaky = async () => {
      tries += 1;
      if (tries < 2) throw new Error('boot timed out');
    };
    expect(await room.provision('seat-1', '', (a) => `c-s1${a ? `-r${a}` : ''}`, flaky, op())).toBe(true);
    expect(destroyed).toEqual(['c-s1']);
    expect(room.tileOf('seat-1')).toMatchObject({ machine: 'c-s1-r1', state: 'ready' });
    const never = async () => {
      throw new Error('no space left');
    };
    expect(await room.provision('seat-2', '', (a) => `c-s2-${a}`, never, op())).toBe(false);
    expect(room.tileOf('seat-2')).toMatchObject({ state: 'failed', detail: 'no space left' });
    expect(() => room.status('seat-2')).toThrow(/not ready/);
  });

  it('one check per seat at a time; a failed login flags "locked out?"', async () => {
    const { room, open } = fakeRoom();
    await oneSeat(room);
    const first = room.check('seat-1', op());
    await expect(room.check('seat-1', op())).rejects.toThrow(/busy/);
    await new Promise((r) => setTimeout(r, 10));
    open();
    await first;
    expect(room.tileOf('seat-1')).toMatchObject({ lockedOut: true, state: 'ready' });
  });

  it("a seat's check and reset hold its machine across processes: another holder makes them busy", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-room-jobs-'));
    const jobs = new MachineJobs(dir);
    const { room, open } = fakeRoom((machine, job, who, fn) => jobs.hold(machine, job, who, fn));
    await oneSeat(room);
    // The CLI in another process runs a recipe on the seat's machine.
    const release = new MachineJobs(dir).acquire('m1', 'run of quick-harden', 'the CLI');
    await expect(room.reset('seat-1', op())).rejects.toThrow(
      /m1 is busy: run of quick-harden started \d\d:\d\d from the CLI/,
    );
    expect(room.tileOf('seat-1')).toMatchObject({ state: 'ready' });
    release();
    // While the class checks the seat, the CLI is the one told to wait, with whose job it is.
    const checking = room.check('seat-1', op());
    await new Promise((r) => setTimeout(r, 10));
    expect(() => new MachineJobs(dir).acquire('m1', 'restore', 'the CLI')).toThrow(
      /m1 is busy: checking \(class seat seat-1\) started \d\d:\d\d from the class, seat-1/,
    );
    open();
    await checking;
    new MachineJobs(dir).acquire('m1', 'restore', 'the CLI')();
  });

  it('resets are limited per seat and audited; revoke ends the link; end destroys every seat', async () => {
    const { room, destroyed, audit } = fakeRoom();
    await oneSeat(room);
    room.tokens.issue({ role: 'trainee', seat: 'seat-1' });
    for (let i = 0; i < 3; i += 1) await room.reset('seat-1', op(), i === 0 ? 'trainer' : 'trainee');
    await expect(room.reset('seat-1', op())).rejects.toThrow(/try again in \d+ s/);
    expect(room.tileOf('seat-1').revoked).toBe(false);
    room.revoke('seat-1');
    expect(room.tileOf('seat-1').revoked).toBe(true);
    expect(() => room.input('seat-1', 'trainee', 'x')).toThrow(/not open/);
    expect(() => room.takeover('seat-1', true)).toThrow(/watch it first/);
    await room.end();
    expect(destroyed).toEqual(['m1']);
    const events = readFileSync(audit, 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) =>
          (JSON.parse(l) as { who: string; event: string }).who +
          ':' +
          (JSON.parse(l) as { event: string }).event,
      );
    expect(events).toEqual(
      expect.arrayContaining([
        'seat-1:seat-ready',
        'trainer:reset',
        'seat-1:reset',
        'seat-1:rate-limited',
        'trainer:revoke',
        'trainer:class-ended',
      ]),
    );
  });
});
