/**
 * Class handlers: the trainer starts and runs a class (the app, the CLI, or the trainer's link on
 * the class server); a trainee's page calls seat.* and gets only its own seat, taken from the
 * connection's principal — requests never name a seat, a machine or a path.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../../shared/errors.js';
import { MAX_SEATS, SEAT_NAME, type ClassInfo } from '../../../shared/class.js';
import { AuditLog } from '../../workshops/class/audit.js';
import { seatCardsHtml } from '../../workshops/class/cards.js';
import { Classroom } from '../../workshops/class/classroom.js';
import type { Viewer } from '../../workshops/class/seat-terminal.js';
import { planSeats, provisionSeats } from '../../workshops/class/provision.js';
import { parseListen } from '../../workshops/class/listen.js';
import { WorkshopLibrary } from '../../workshops/library.js';
import { ProgressStore } from '../../workshops/progress.js';
import { WorkshopSessions } from '../../workshops/session.js';
import { classHtml, classTable } from '../../workshops/trainer.js';
import { endpointOf } from '../../ssh/handover.js';
import { selfSignedTls, trainerTls } from '../../platform/tls.js';
import type { ClassServer, ServiceContext } from '../context.js';
import type { Handlers, OpContext } from '../dispatcher.js';
import { hostPath, requireName } from './input.js';
import { createMachine, providerKind } from './machines.js';

type ClassHandlers = Pick<
  Handlers,
  | 'class.start'
  | 'class.status'
  | 'class.end'
  | 'class.resetSeat'
  | 'class.newLink'
  | 'class.revoke'
  | 'class.watch'
  | 'class.unwatch'
  | 'class.takeover'
  | 'class.input'
  | 'class.export'
  | 'seat.whoami'
  | 'seat.status'
  | 'seat.check'
  | 'seat.hint'
  | 'seat.reset'
  | 'seat.solve'
  | 'seat.terminal'
  | 'seat.input'
  | 'seat.resize'
  | 'seat.ack'
>;

interface Running {
  room: Classroom;
  server: ClassServer;
  dir: string;
  sessions: WorkshopSessions;
}

/** Where `hlab class end` finds the process that serves the class. */
export const currentClassFile = (home: string) => path.join(home, 'classes', 'current.json');

const seatNumber = (seat: string) => Number(/(\d+)$/.exec(seat)?.[1] ?? 0);
const bySeatNumber = (a: string, b: string) => seatNumber(a) - seatNumber(b);

const classId = () => `c${Date.now().toString(36).slice(-5)}`;

function size(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1000)
    throw new HlabError('bad-request', `${field} must be a whole number between 1 and 1000.`);
  return v;
}

/** A connection as a viewer of a seat's terminal: its output goes to that client only. */
function viewer(op: OpContext, role: Viewer['role']): Viewer {
  return {
    client: op.client.id,
    role,
    data: (id, data) => op.client.emit('terminal.data', { id, data }),
    exit: (id, reason) => op.client.emit('terminal.exit', { id, reason }),
  };
}

function seatName(v: unknown): string {
  if (typeof v !== 'string' || !SEAT_NAME.test(v))
    throw new HlabError('bad-request', `seat must be seat-1 … seat-${MAX_SEATS} (got ${JSON.stringify(v)}).`);
  return v;
}

function text(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length > 64 * 1024)
    throw new HlabError('bad-request', `${field} must be a string of at most 64 KiB.`);
  return v;
}

export function classHandlers(ctx: ServiceContext): ClassHandlers {
  let running: Running | undefined;
  const library = new WorkshopLibrary(
    path.join(ctx.labsDir, 'workshops'),
    path.join(ctx.home, 'workshops', 'library'),
  );
  const progress = new ProgressStore(path.join(ctx.home, 'workshops', 'progress'));
  const placement = new Map<string, string>();

  const room = (): Classroom => {
    if (!running)
      throw new HlabError(
        'unavailable',
        'No class is running (start one: hlab class start WORKSHOP --seats N).',
      );
    return running.room;
  };
  /** The seat of a trainee's connection; a trainer or the app has none. */
  const ownSeat = (op: OpContext): string => {
    const p = op.client.principal;
    if (p?.role !== 'trainee')
      throw new HlabError('permission', 'Only a seat link can use the seat methods.');
    return p.seat;
  };
  const audit = (op: OpContext, event: string, detail?: string) =>
    running?.room.audit({
      who: op.client.principal?.role === 'trainer' ? 'trainer' : 'app',
      event,
      ...(op.client.from ? { from: op.client.from } : {}),
      ...(detail ? { detail } : {}),
    });

  const sessions = new WorkshopSessions({
    ...ctx,
    library,
    progress,
    createMachine: async (name, image, op) => {
      const host = placement.get(name) ?? '';
      const pool = ctx.machines.providers().find((p) => p.capabilities.hostPool);
      if (host && !pool)
        throw new HlabError('unavailable', 'No provider here places machines on lab servers.');
      const kind = host && pool ? pool.kind : providerKind(ctx, undefined);
      await createMachine(
        ctx,
        kind,
        { name, image, memoryMiB: 1024, cpus: 2, ready: true, ...(host ? { host } : {}) },
        op,
      );
      ctx.broadcast('machines.changed', { name });
      await ctx.machines.up(name, { signal: op.signal, progress: op.progress, timeoutMs: 300_000 });
    },
    changed: (machine) => {
      ctx.broadcast('workshops.changed', { machine });
      if (running) ctx.broadcast('class.changed', { info: running.room.info() });
    },
  });

  const destroySeat = async (machine: string) => {
    if (progress.get(machine)) await sessions.end(machine);
    else if (ctx.machines.exists(machine)) await ctx.machines.owner(machine).destroy(machine);
    placement.delete(machine);
  };

  const endClass = async (): Promise<{ ended: string; seats: number }> => {
    const r = running;
    if (!r) throw new HlabError('unavailable', 'No class is running.');
    const rows = exportRows(r.room);
    writeFileSync(path.join(r.dir, 'class.json'), JSON.stringify(rows, null, 2) + '\n', { mode: 0o600 });
    writeFileSync(path.join(r.dir, 'class.html'), classHtml(rows), { mode: 0o600 });
    running = undefined;
    await r.server.close();
    await r.room.end();
    rmSync(currentClassFile(ctx.home), { force: true });
    return { ended: r.room.meta.workshop, seats: r.room.seatNames().length };
  };

  const exportRows = (c: Classroom) =>
    classTable(
      c.seatNames().flatMap((seat) => {
        const p = progress.get(c.machineOf(seat));
        return p ? [{ name: seat, text: JSON.stringify(p) }] : [];
      }),
    );

  return {
    'class.start': async (req, op) => {
      if (running)
        throw new HlabError(
          'conflict',
          `A class is already running at ${running.room.meta.url}; end it first (hlab class end).`,
        );
      if (!ctx.serveClass) throw new HlabError('unavailable', 'This host cannot serve a class.');
      const workshop = library.get(requireName(req.workshop, 'workshop'));
      if (!Number.isInteger(req.seats) || req.seats < 1 || req.seats > MAX_SEATS)
        throw new HlabError(
          'bad-request',
          `seats must be a whole number from 1 to ${MAX_SEATS} (got ${JSON.stringify(req.seats)}).`,
        );
      const hosts = (req.hosts ?? []).map((h) => requireName(h, 'host'));
      if (hosts.length) {
        const known = new Set((await ctx.machines.hosts().list({ signal: op.signal })).map((h) => h.name));
        const unknown = hosts.filter((h) => !known.has(h));
        if (unknown.length)
          throw new HlabError(
            'not-found',
            `No lab server named ${unknown.join(', ')} (see hlab hosts list).`,
          );
      }
      const listen = parseListen(req.listen);
      if ((req.tlsCert === undefined) !== (req.tlsKey === undefined))
        throw new HlabError(
          'bad-request',
          'Give both --tls-cert and --tls-key, or neither (a self-signed certificate is made).',
        );
      const tls =
        req.tlsCert !== undefined && req.tlsKey !== undefined
          ? trainerTls(hostPath(op, req.tlsCert, 'tlsCert'), hostPath(op, req.tlsKey, 'tlsKey'))
          : await selfSignedTls(listen.address, op.signal);

      const id = classId();
      const dir = path.join(
        ctx.home,
        'classes',
        `${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}-${workshop.id}`,
      );
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const log = new AuditLog(path.join(dir, 'audit.jsonl'));
      const c = new Classroom(
        {
          sessions,
          progress,
          knownHosts: ctx.knownHosts,
          targetOf: (m) => ctx.machines.targetOf(m),
          provenLogin: (m, t) => ctx.handover.take(m, endpointOf(t)),
          destroy: destroySeat,
          audit: log,
          changed: (info: ClassInfo) => ctx.broadcast('class.changed', { info }),
          hold: (machine, job, who, fn) => ctx.jobs.hold(machine, job, who, fn),
        },
        {
          workshop: workshop.id,
          title: workshop.title,
          url: '',
          fingerprint: tls.fingerprint,
          certificate: tls.source,
        },
      );
      const server = await ctx.serveClass(c, { ...listen, tls });
      c.meta.url = server.url;
      running = { room: c, server, dir, sessions };
      writeFileSync(
        currentClassFile(ctx.home),
        JSON.stringify({ pid: process.pid, url: server.url, workshop: workshop.id, dir }) + '\n',
        { mode: 0o600 },
      );
      log.write({
        who: 'trainer',
        event: 'class-started',
        detail: `${workshop.id}, ${req.seats} seats at ${server.url}`,
      });
      try {
        const plan = planSeats(req.seats, hosts, id);
        for (const p of plan) for (let a = 0; a < 3; a += 1) placement.set(p.machine(a), p.host);
        const made = await provisionSeats(
          c,
          plan,
          async (machine, _host, o) => {
            await sessions.start({ workshop: workshop.id, trainee: 'trainee', machine }, o);
          },
          op,
        );
        if (op.signal.aborted) throw new HlabError('cancelled', 'The class start was cancelled.');
        if (made.ready.length === 0)
          throw new HlabError(
            'command-failed',
            `No seat could be made; the audit log ${path.join(dir, 'audit.jsonl')} says why per seat.`,
          );
        // Seats finish in any order (one host may be faster): links and cards go by seat number.
        const seats = [...made.ready].sort(bySeatNumber).map((seat) => ({
          seat,
          url: `${server.url}#${c.tokens.issue({ role: 'trainee', seat })}`,
        }));
        const trainer = `${server.url}#${c.tokens.issue({ role: 'trainer' })}`;
        ctx.broadcast('class.changed', { info: c.info() });
        return {
          info: c.info(),
          links: { trainer, seats },
          cardsHtml: seatCardsHtml(workshop.title, tls.fingerprint, seats),
        };
      } catch (err) {
        await endClass().catch(() => undefined);
        throw err;
      }
    },

    'class.status': async () => room().info(),
    'class.end': async () => endClass(),

    'class.resetSeat': async (req, op) => {
      const seat = seatName(req.seat);
      await room().reset(seat, op, 'trainer');
      return room().tileOf(seat);
    },
    'class.newLink': async (req, op) => {
      const c = room();
      const seat = seatName(req.seat);
      const url = `${c.meta.url}#${c.newLink(seat)}`;
      audit(op, 'link-shown', seat);
      return { seat, url, cardsHtml: seatCardsHtml(c.meta.title, c.meta.fingerprint, [{ seat, url }]) };
    },
    'class.revoke': async (req) => room().revoke(seatName(req.seat)),
    'class.watch': async (req, op) => {
      const c = room();
      const seat = seatName(req.seat);
      const id = await c.attach(seat, viewer(op, 'trainer'), {
        cols: size(req.cols, 'cols'),
        rows: size(req.rows, 'rows'),
      });
      op.client.onClose(() => running?.room.detach(seat, op.client.id));
      c.watched(seat);
      return { id };
    },
    'class.unwatch': async (req, op) => {
      room().detach(seatName(req.seat), op.client.id);
      return {};
    },
    'class.takeover': async (req) => room().takeover(seatName(req.seat), req.on === true),
    'class.input': async (req) => {
      room().input(seatName(req.seat), 'trainer', text(req.data, 'data'));
      return {};
    },
    'class.export': async () => {
      const rows = exportRows(room());
      return { rows, html: classHtml(rows) };
    },

    'seat.whoami': async (_req, op) => {
      const seat = ownSeat(op);
      const c = room();
      c.listen(seat, op.client.id, (n) => op.client.emit('seat.notice', n));
      op.client.onClose(() => running?.room.detach(seat, op.client.id));
      return c.view(seat);
    },
    'seat.status': async (_req, op) => room().status(ownSeat(op)),
    'seat.check': async (_req, op) => room().check(ownSeat(op), op),
    'seat.hint': async (_req, op) => room().hint(ownSeat(op)),
    'seat.reset': async (_req, op) => room().reset(ownSeat(op), op),
    'seat.solve': async (_req, op) => room().solve(ownSeat(op), op),
    'seat.terminal': async (req, op) => {
      const seat = ownSeat(op);
      const id = await room().attach(seat, viewer(op, 'trainee'), {
        cols: size(req.cols, 'cols'),
        rows: size(req.rows, 'rows'),
      });
      op.client.onClose(() => running?.room.detach(seat, op.client.id));
      return { id };
    },
    'seat.input': async (req, op) => {
      room().input(ownSeat(op), 'trainee', text(req.data, 'data'));
      return {};
    },
    'seat.resize': async (req, op) => {
      room().resize(ownSeat(op), size(req.cols, 'cols'), size(req.rows, 'rows'));
      return {};
    },
    'seat.ack': async (req, op) => {
      if (typeof req.chars !== 'number' || req.chars < 0)
        throw new HlabError('bad-request', 'chars must be a non-negative number.');
      room().ack(ownSeat(op), 'trainee', req.chars);
      return {};
    },
  };
}
