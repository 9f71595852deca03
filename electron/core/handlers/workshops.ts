/** Workshop handlers: the trainee loop, trainer exports and workshop archives (thin: the logic is in workshops/). */
import os from 'node:os';
import path from 'node:path';
import { HlabError } from '../../../shared/errors.js';
import { summarize } from '../../../shared/workshops.js';
import { importWorkshop, packWorkshop } from '../../workshops/archive.js';
import { WorkshopLibrary } from '../../workshops/library.js';
import { ProgressStore } from '../../workshops/progress.js';
import { TRAINEE, WorkshopSessions } from '../../workshops/session.js';
import { classHtml, classTable, progressHtml } from '../../workshops/trainer.js';
import type { ServiceContext } from '../context.js';
import type { Handlers, OpContext } from '../dispatcher.js';
import { createMachine, providerKind } from './machines.js';
import { clientName, requireName } from './input.js';

type WorkshopHandlers = Pick<
  Handlers,
  | 'workshops.list'
  | 'workshops.start'
  | 'workshops.status'
  | 'workshops.check'
  | 'workshops.hint'
  | 'workshops.reset'
  | 'workshops.solve'
  | 'workshops.end'
  | 'workshops.export'
  | 'workshops.class'
  | 'workshops.pack'
  | 'workshops.import'
>;

const MAX_EXPORTS = 500;

function defaultTrainee(): string {
  const name = (() => {
    try {
      return os.userInfo().username;
    } catch {
      return '';
    }
  })();
  return TRAINEE.test(name) ? name : 'trainee';
}

export function workshopHandlers(ctx: ServiceContext): WorkshopHandlers {
  const library = new WorkshopLibrary(
    path.join(ctx.labsDir, 'workshops'),
    path.join(ctx.home, 'workshops', 'library'),
  );
  const progress = new ProgressStore(path.join(ctx.home, 'workshops', 'progress'));
  const sessions = new WorkshopSessions({
    ...ctx,
    library,
    progress,
    createMachine: async (name, image, op) => {
      // A trainee must not wait for a cold boot: resume a copy of the image's ready template.
      await createMachine(
        ctx,
        providerKind(ctx, undefined),
        { name, image, memoryMiB: 1024, cpus: 2, ready: true },
        op,
      );
      ctx.broadcast('machines.changed', { name });
      await ctx.machines.up(name, { signal: op.signal, progress: op.progress, timeoutMs: 300_000 });
      ctx.broadcast('machines.changed', { name });
    },
    changed: (machine) => ctx.broadcast('workshops.changed', { machine }),
  });
  const machineOf = (req: { machine?: unknown }) => requireName(req.machine, 'machine');
  const held = <T>(machine: string, job: string, op: OpContext, fn: (m: string) => Promise<T>) =>
    ctx.jobs.hold(machine, job, clientName(op), () => fn(machine));

  return {
    'workshops.list': async () => {
      const { workshops, issues } = library.load();
      return { workshops: workshops.map(summarize), issues, sessions: progress.list() };
    },

    'workshops.start': async (req, op) => {
      const workshop = requireName(req.workshop, 'workshop');
      const machine = req.machine === undefined ? `ws-${workshop}` : requireName(req.machine, 'machine');
      const trainee = req.trainee === undefined ? defaultTrainee() : String(req.trainee);
      return sessions.start({ workshop, trainee, machine }, op);
    },

    'workshops.status': async (req) => sessions.status(machineOf(req)),
    'workshops.check': async (req, op) =>
      held(machineOf(req), 'workshop Check', op, (m) => sessions.check(m, op)),
    'workshops.hint': async (req) => sessions.hint(machineOf(req)),
    'workshops.reset': async (req, op) =>
      held(machineOf(req), 'workshop Reset', op, (m) => sessions.reset(m, op)),
    'workshops.solve': async (req, op) =>
      held(machineOf(req), 'workshop Show me', op, (m) => sessions.solve(m, op)),

    'workshops.end': async (req) => {
      const machine = machineOf(req);
      await sessions.end(machine);
      ctx.broadcast('machines.changed', { name: machine });
      return { ended: machine };
    },

    'workshops.export': async (req) => {
      const p = progress.require(machineOf(req));
      const base = `${p.workshop}-${p.trainee.replace(/[^A-Za-z0-9._-]+/g, '_')}`;
      if (req.format === 'json')
        return { content: JSON.stringify(p, null, 2) + '\n', filename: `${base}.json` };
      if (req.format === 'html') return { content: progressHtml(p), filename: `${base}.html` };
      throw new HlabError('bad-request', `format must be json or html (got ${JSON.stringify(req.format)}).`);
    },

    'workshops.class': async (req) => {
      if (!Array.isArray(req.exports) || req.exports.length === 0 || req.exports.length > MAX_EXPORTS)
        throw new HlabError('bad-request', `exports must be a list of 1-${MAX_EXPORTS} progress exports.`);
      const files = req.exports.map((e, i) => {
        if (!e || typeof e.text !== 'string' || e.text.length > 1024 * 1024)
          throw new HlabError(
            'bad-request',
            `exports[${i}]: expected { name, text } with at most 1 MiB of text.`,
          );
        return { name: typeof e.name === 'string' ? e.name.slice(0, 200) : `exports[${i}]`, text: e.text };
      });
      const rows = classTable(files);
      return { rows, html: classHtml(rows) };
    },

    'workshops.pack': async (req) => packWorkshop(library.get(requireName(req.workshop, 'workshop'))),

    'workshops.import': async (req) => {
      if (typeof req.archive !== 'string')
        throw new HlabError('bad-request', 'archive must be the archive text.');
      const name = typeof req.name === 'string' ? req.name.slice(0, 200) : 'archive';
      const builtInIds = new Set(
        library
          .load()
          .workshops.filter((w) => w.source === 'built-in')
          .map((w) => w.id),
      );
      const id = importWorkshop(req.archive, name, library.importedDir, {
        builtInIds,
        replace: req.replace === true,
      });
      return summarize(library.get(id));
    },
  };
}
