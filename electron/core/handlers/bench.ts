/** Bench runs, step library listing, recipe saving, evidence exports and replay. */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { BENCH_TOOLS, PICKS_TESTS } from '../../../shared/bench.js';
import { HlabError } from '../../../shared/errors.js';
import { egressEntries } from '../../../shared/egress.js';
import { loadBenches, runBench, runBenches, runClaims, saveBench } from '../../bench/index.js';
import { readEvents } from '../../engine/journal.js';
import { buildEvidence, readEvidence, sealEvidence, verifyEvidence } from '../../recipes/evidence.js';
import { EXPORT_FORMATS, toAnsible, toCloudInit, toShell } from '../../recipes/exports.js';
import { toHtml } from '../../recipes/html-report.js';
import { replayEvidence } from '../../recipes/replay.js';
import { loadLibrary, loadRecipe } from '../../steps/load.js';
import type { ServiceContext } from '../context.js';
import { clientName, hostPath, requireName } from './input.js';
import { PATH_SETTINGS, SETTING_KEYS } from '../../../shared/settings.js';
import { readDockerBenchCopy } from '../../bench/docker-bench-copy.js';
import { dockerBenchSource, readSettings, writeSetting } from '../settings.js';
import type { Handlers } from '../dispatcher.js';
import { APP_VERSION } from './app.js';
import { runId } from './runs.js';
import { listRecipes, recipeDirs, userRecipesDir } from '../../recipes/recipe-files.js';
import { writeFileAtomic } from '../../platform/atomic-write.js';

type BenchHandlers = Pick<
  Handlers,
  | 'bench.run'
  | 'bench.list'
  | 'runs.bench'
  | 'steps.list'
  | 'recipes.save'
  | 'recipes.export'
  | 'recipes.verify'
  | 'recipes.validate'
  | 'settings.get'
  | 'settings.set'
>;

const EXT: Record<(typeof EXPORT_FORMATS)[number], string> = {
  sh: 'sh',
  ansible: 'yml',
  'cloud-init': 'cloud-init.yaml',
  html: 'html',
  evidence: 'evidence.json',
};

export function benchHandlers(ctx: ServiceContext): BenchHandlers {
  const benchDir = (machine: string) => path.join(ctx.home, 'bench', machine);
  return {
    'bench.run': async (req, op) => {
      if (!BENCH_TOOLS.includes(req.tool))
        throw new HlabError(
          'bad-request',
          `Unknown bench tool "${String(req.tool)}": use ${BENCH_TOOLS.join(', ')}.`,
        );
      const info = await ctx.machines.get(requireName(req.machine, 'machine'));
      if (info.state !== 'running')
        throw new HlabError('vm-state', `Machine "${info.name}" is ${info.state}; start it first.`, {
          machine: info.name,
        });
      op.progress({ current: 0, max: -1, description: `${req.tool} on ${info.name}` });
      const release = ctx.jobs.acquire(info.name, `${req.tool} bench`, clientName(op));
      const ex = ctx.machines.executor(info.name);
      try {
        const flag =
          req.dockerBenchDir !== undefined ? hostPath(op, req.dockerBenchDir, 'dockerBenchDir') : undefined;
        const copy = req.tool === 'docker-bench' ? ctx.dockerBench(flag) : undefined;
        if (copy)
          op.log(
            'stderr',
            `docker-bench-security ${copy.version} from ${copy.dir} (${copy.files.length} files)\n`,
          );
        if (req.profile !== undefined && (req.tool !== 'openscap' || typeof req.profile !== 'string'))
          throw new HlabError('bad-request', 'profile is a string, and only the openscap tool takes one.');
        if (
          req.tests !== undefined &&
          !(Array.isArray(req.tests) && req.tests.every((t) => typeof t === 'string'))
        )
          throw new HlabError('bad-request', 'tests must be a list of test ids.');
        // Said, not ignored: a subset that silently runs the whole set is measured as something else.
        if (req.tests?.length && !PICKS_TESTS.includes(req.tool))
          throw new HlabError(
            'bad-request',
            `The ${req.tool} bench always runs its whole set; only ${PICKS_TESTS.join(', ')} take test ids.`,
          );
        const r = await runBench(ex, info.name, req.tool, {
          tests: req.tests,
          labsDir: ctx.labsDir,
          ...(req.profile ? { profile: req.profile } : {}),
          ssgContent: ctx.ssgContent,
          changelogCache: ctx.changelogCache,
          ...(copy ? { dockerBench: copy } : {}),
          library: loadLibrary(ctx.labsDir).steps,
          signal: op.signal,
          onOutput: (t) => op.log('stderr', t),
        });
        saveBench(benchDir(info.name), `${r.at.replace(/[:.]/g, '-')}-${r.tool}`, r);
        return r;
      } finally {
        ex.reset();
        release();
      }
    },
    'settings.get': async () => ({
      values: readSettings(ctx.home),
      dockerBench: dockerBenchSource(ctx.home, ctx.env).source,
    }),
    'settings.set': async (req, op) => {
      if (!SETTING_KEYS.includes(req.key))
        throw new HlabError(
          'bad-request',
          `Unknown setting "${String(req.key)}": use ${SETTING_KEYS.join(', ')}.`,
        );
      // Checked now, not when used: a folder that holds docker-bench-security (only the CLI may
      // name host paths), or HOST:PORT entries.
      const value =
        req.value === undefined || req.value === ''
          ? undefined
          : PATH_SETTINGS.includes(req.key)
            ? hostPath(op, req.value, req.key)
            : egressEntries(String(req.value)).join(' ');
      if (value && req.key === 'docker-bench-dir') readDockerBenchCopy(value);
      return {
        values: writeSetting(ctx.home, req.key, value),
        dockerBench: dockerBenchSource(ctx.home, ctx.env).source,
      };
    },
    'bench.list': async (req) => {
      const root = path.join(ctx.home, 'bench');
      const machines =
        req.machine !== undefined
          ? [requireName(req.machine, 'machine')]
          : existsSync(root)
            ? readdirSync(root)
            : [];
      return machines.flatMap((m) => loadBenches(benchDir(m)));
    },
    'runs.bench': async (req) => {
      const id = runId(req.id);
      const events = readEvents(ctx.paths.runs, id);
      const benches = runBenches(path.join(ctx.paths.runs, id), events);
      return { ...benches, claims: runClaims(events, benches) };
    },
    'steps.list': async (req, op) => {
      const labs = req.labsDir !== undefined ? hostPath(op, req.labsDir, 'labsDir') : ctx.labsDir;
      const lib = loadLibrary(labs);
      const { recipes, issues } = listRecipes(recipeDirs(labs, ctx.home), lib.steps);
      return { steps: lib.steps, recipes, issues: [...lib.issues, ...issues] };
    },
    'recipes.save': async (req, op) => {
      const labs = req.labsDir !== undefined ? hostPath(op, req.labsDir, 'labsDir') : ctx.labsDir;
      const lib = loadLibrary(labs);
      const idMatch = /^id:\s*([a-z0-9][a-z0-9-]*)\s*$/m.exec(String(req.yaml));
      // The user's folder, never the app's own labs: those are read-only in an installed app and
      // replaced by every update.
      const file = path.join(userRecipesDir(ctx.home), `${idMatch?.[1] ?? 'unnamed'}.yaml`);
      const { recipe, issues } = loadRecipe(file, lib.steps, String(req.yaml));
      if (!recipe || !req.save) return { ...(recipe ? { recipe } : {}), issues };
      writeFileAtomic(file, String(req.yaml));
      return { recipe: { ...recipe, file }, issues, file };
    },
    'recipes.export': async (req) => {
      const id = runId(req.runId);
      if (!EXPORT_FORMATS.includes(req.format))
        throw new HlabError(
          'bad-request',
          `Unknown export format "${String(req.format)}": use ${EXPORT_FORMATS.join(', ')}.`,
        );
      const bundle = sealEvidence(buildEvidence(ctx.paths.runs, id, APP_VERSION), ctx.home);
      const content =
        req.format === 'evidence'
          ? `${JSON.stringify(bundle, null, 1)}\n`
          : req.format === 'sh'
            ? toShell(bundle)
            : req.format === 'ansible'
              ? toAnsible(bundle)
              : req.format === 'cloud-init'
                ? toCloudInit(bundle)
                : toHtml(bundle);
      return { content, filename: `${bundle.body.recipe.id}-${id.slice(0, 15)}.${EXT[req.format]}` };
    },
    'recipes.verify': async (req, op) => {
      const b = readEvidence(hostPath(op, req.file, 'file'));
      return { ...verifyEvidence(b, ctx.home), runId: b.body.run.id, recipe: b.body.recipe.id };
    },
    'recipes.validate': async (req, op) => {
      const b = readEvidence(hostPath(op, req.evidence, 'evidence'));
      return replayEvidence(ctx, b, requireName(req.machine, 'machine'), APP_VERSION, {
        signal: op.signal,
        onEvent: (event, rid) => ctx.broadcast('runs.event', { runId: rid, event }),
      });
    },
  };
}
