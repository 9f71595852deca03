/**
 * `hlab class ...`: a trainer runs a class from the terminal. `class start` makes the seats,
 * prints the links once (and writes the printable seat cards), then serves the class until
 * Ctrl-C or `hlab class end` from another terminal, which ends it the same way.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { HlabError } from '../../../shared/errors.js';
import type { ClassInfo } from '../../../shared/class.js';
import { hlabHome } from '../../core/paths.js';
import { currentClassFile } from '../../core/handlers/class.js';
import { UsageError, type Call, type Command, type Print } from './router.js';

interface CurrentClass {
  pid: number;
  url: string;
  workshop: string;
  dir: string;
}

function readCurrent(): CurrentClass | undefined {
  const file = currentClassFile(hlabHome());
  if (!existsSync(file)) return undefined;
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as Partial<CurrentClass>;
    if (typeof c.pid === 'number' && typeof c.url === 'string' && typeof c.dir === 'string')
      return { pid: c.pid, url: c.url, workshop: String(c.workshop), dir: c.dir };
  } catch {
    // damaged: reported below as no class
  }
  throw new HlabError('bad-request', `${file}: not a class record (remove it if no class is running).`);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function tilesText(info: ClassInfo): string {
  return info.seats
    .map(
      (s) =>
        `  ${s.seat.padEnd(8)} ${s.state.padEnd(12)} ${s.machine}${s.host ? ` on ${s.host}` : ''}${s.detail ? `  (${s.detail})` : ''}`,
    )
    .join('\n');
}

export function classCommands(call: Call, print: Print): Command[] {
  return [
    {
      path: ['class', 'start'],
      args: 'WORKSHOP',
      arity: [1, 1],
      summary:
        'Serve a workshop to a room: --seats N [--host H]... [--listen ADDR:PORT] [--tls-cert F --tls-key F] [--cards FILE]; runs until Ctrl-C or `hlab class end`',
      options: {
        seats: { type: 'string' },
        host: { type: 'string', multiple: true },
        listen: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        cards: { type: 'string' },
      },
      run: async (ctx) => {
        const seats = Number(ctx.values.seats);
        if (!Number.isInteger(seats) || seats < 1) throw new UsageError('--seats N is required (1-40)');
        const workshop = ctx.positionals[0] as string;
        const str = (k: string) =>
          typeof ctx.values[k] === 'string' ? (ctx.values[k] as string) : undefined;
        const hosts = Array.isArray(ctx.values.host) ? (ctx.values.host as string[]) : [];
        const r = await call(ctx, 'class.start', {
          workshop,
          seats,
          ...(hosts.length ? { hosts } : {}),
          ...(str('listen') ? { listen: str('listen') } : {}),
          ...(str('tls-cert') ? { tlsCert: str('tls-cert') } : {}),
          ...(str('tls-key') ? { tlsKey: str('tls-key') } : {}),
        });
        const cards = str('cards') ?? `seat-cards-${workshop}.html`;
        writeFileSync(cards, r.cardsHtml, { mode: 0o600 });
        print(ctx, { info: r.info, links: r.links, cards }, () =>
          [
            `Class "${r.info.title}" at ${r.info.url}`,
            `Certificate (${r.info.certificate}) SHA-256: ${r.info.fingerprint}`,
            tilesText(r.info),
            '',
            `Trainer's dashboard (keep it to yourself): ${r.links.trainer}`,
            ...r.links.seats.map((s) => `${s.seat}: ${s.url}`),
            '',
            `Seat cards to print: ${cards} (each link works once; the server keeps only their hashes).`,
            'Serving the class; Ctrl-C or `hlab class end` ends it and destroys the seats.',
          ].join('\n'),
        );
        const dir = readCurrent()?.dir ?? 'the class folder';
        await new Promise<void>((resolve) =>
          ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
        );
        const ended = await call({ ...ctx, signal: new AbortController().signal }, 'class.end', {});
        ctx.stderr(
          `class ended: ${ended.seats} seats destroyed; the final table and the audit log are in ${dir}`,
        );
        return 0;
      },
    },
    {
      path: ['class', 'status'],
      summary: 'Where the running class is served, by which process, and its folder (audit log, final table)',
      run: async (ctx) => {
        const c = readCurrent();
        if (!c || !alive(c.pid)) throw new HlabError('not-found', 'No class is running here.');
        return print(
          ctx,
          c,
          () => `class "${c.workshop}" at ${c.url}\nserved by process ${c.pid}\nfolder: ${c.dir}`,
        );
      },
    },
    {
      path: ['class', 'end'],
      summary: 'End the running class (from any terminal): links stop working, seats are destroyed',
      run: async (ctx) => {
        const c = readCurrent();
        if (!c) throw new HlabError('not-found', 'No class is running here.');
        if (!alive(c.pid))
          throw new HlabError(
            'not-found',
            `The class's process ${c.pid} is gone; remove ${currentClassFile(hlabHome())}.`,
          );
        process.kill(c.pid, 'SIGTERM');
        const file = currentClassFile(hlabHome());
        for (let i = 0; i < 600 && existsSync(file) && alive(c.pid); i += 1) await sleep(200);
        if (existsSync(file) && alive(c.pid))
          throw new HlabError('timeout', `Process ${c.pid} did not end the class within 2 minutes.`);
        ctx.stdout(`class "${c.workshop}" ended; its audit log and final table are in ${c.dir}`);
        return 0;
      },
    },
  ];
}
