import { existsSync } from 'node:fs';
import { HlabError } from '../../../shared/errors.js';
import { listRuns, readEvents, summarize } from '../../engine/journal.js';
import { recoverRun } from '../../engine/recover.js';
import { runRecipe } from '../../engine/run.js';
import { assertNoIssues, loadLibrary, loadRecipe } from '../../steps/load.js';
import type { ServiceContext } from '../context.js';
import { clientName, hostPath, requireName } from './input.js';
import type { Handlers } from '../dispatcher.js';
import { recipeDirs, recipeFile } from '../../recipes/recipe-files.js';

type RunHandlers = Pick<Handlers, 'runs.start' | 'runs.list' | 'runs.get' | 'runs.recover'>;

const RUN_ID = /^[0-9TZ]+-[a-z0-9-]+$/;

export function runId(v: unknown): string {
  if (typeof v !== 'string' || !RUN_ID.test(v))
    throw new HlabError('bad-request', `Not a run id: ${JSON.stringify(v)}.`);
  return v;
}

export function runHandlers(ctx: ServiceContext): RunHandlers {
  return {
    'runs.start': async (req, op) => {
      const labs = req.labsDir !== undefined ? hostPath(op, req.labsDir, 'labsDir') : ctx.labsDir;
      const library = loadLibrary(labs);
      assertNoIssues(library.issues);
      const file = /[/\\]|\.ya?ml$/.test(String(req.recipe))
        ? hostPath(op, req.recipe, 'recipe')
        : recipeFile(recipeDirs(labs, ctx.home), requireName(req.recipe, 'recipe'));
      if (file === undefined || !existsSync(file))
        throw new HlabError(
          'not-found',
          `No recipe ${file ?? `"${String(req.recipe)}" in ${recipeDirs(labs, ctx.home).join(' or ')}`}.`,
        );
      const { recipe, issues } = loadRecipe(file, library.steps);
      assertNoIssues(issues);
      const machine = requireName(req.machine, 'machine');
      return ctx.jobs.hold(machine, `run of ${recipe!.id}`, clientName(op), () =>
        runRecipe({
          ctx,
          recipe: recipe!,
          library: library.steps,
          machine,
          signal: op.signal,
          onEvent: (event) =>
            ctx.broadcast('runs.event', { runId: event.type === 'run-started' ? event.runId : '', event }),
        }),
      );
    },
    'runs.list': async () => listRuns(ctx.paths.runs),
    'runs.get': async (req) => {
      const id = runId(req.id);
      const events = readEvents(ctx.paths.runs, id);
      return { summary: summarize(id, events), events };
    },
    'runs.recover': async (req) =>
      recoverRun(ctx, runId(req.id), (event) => ctx.broadcast('runs.event', { runId: req.id, event })),
  };
}
