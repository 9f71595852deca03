/** `hlab steps|run|runs`: the step library, recipe runs as they happen, and the journal of runs. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { table } from './output.js';
import { UsageError, type CliKit, type Command } from './router.js';
import { formatEvent, summaryText } from './run-output.js';
import { runOutcome } from '../../../shared/run-outcome.js';
import { loadLibrary, loadRecipe, loadStep } from '../../steps/load.js';
import { formatIssue } from '../../../shared/steps.js';
import { loadWorkshop, WORKSHOP_FILE } from '../../steps/workshop-load.js';
import { loadKubeControls } from '../../bench/kube-format.js';
import { teamLabs } from './flags.js';

export function runCommands(kit: CliKit): Command[] {
  const { call, print } = kit;
  return [
    {
      path: ['steps', 'list'],
      summary: 'List the hardening step library',
      run: async (ctx) => {
        const { steps, issues } = loadLibrary(teamLabs());
        if (issues.length) for (const i of issues) ctx.stderr(formatIssue(i));
        return (
          print(ctx, steps, () =>
            table(
              steps.map((s) => ({
                ...s,
                reboot: s.reboot ? 'yes' : '',
                lynis: s.benchmarks.lynis.join(' '),
              })),
              ['id', 'area', 'risk', 'reboot', 'lynis', 'title'],
            ),
          ) || (issues.length ? 1 : 0)
        );
      },
    },
    {
      path: ['steps', 'check'],
      args: 'FILE...',
      arity: [1, 100],
      summary: 'Validate step, recipe, workshop or kube check files (errors as file:line: field: problem)',
      run: async (ctx) => {
        const { steps } = loadLibrary(teamLabs());
        const issues = ctx.positionals.flatMap((f) => {
          if (/(^|\/)recipes\//.test(f)) return loadRecipe(f, steps).issues;
          if (/(^|\/)kube\//.test(f)) return loadKubeControls(f, f).issues;
          if (path.basename(f) === WORKSHOP_FILE) return loadWorkshop(f).issues;
          if (existsSync(path.join(f, WORKSHOP_FILE)))
            return loadWorkshop(path.join(f, WORKSHOP_FILE)).issues;
          return loadStep(f).issues;
        });
        if (ctx.json) ctx.stdout(JSON.stringify(issues, null, 2));
        else for (const i of issues) ctx.stdout(formatIssue(i));
        if (!ctx.json && issues.length === 0) ctx.stdout(`${ctx.positionals.length} file(s) ok`);
        return issues.length ? 1 : 0;
      },
    },
    {
      path: ['run'],
      args: 'RECIPE',
      arity: [1, 1],
      summary:
        'Run a recipe: snapshot, apply, verify, roll back on failure (exit 0 all validated, 1 a step rolled back)',
      options: { machine: { type: 'string' }, labs: { type: 'string' } },
      run: async (ctx) => {
        const machine = ctx.values.machine;
        if (typeof machine !== 'string') throw new UsageError('hlab run RECIPE --machine NAME');
        const off = kit.followRun(ctx);
        try {
          const s = await call(ctx, 'runs.start', {
            recipe: ctx.positionals[0] as string,
            machine,
            ...(typeof ctx.values.labs === 'string' ? { labsDir: ctx.values.labs } : {}),
          });
          print(ctx, s, () => summaryText(s, ctx.paintOut));
          return s.status === 'validated' ? 0 : s.status === 'failed' ? 1 : 2;
        } finally {
          off();
        }
      },
    },
    {
      path: ['runs', 'list'],
      summary: 'List runs from the journal (interrupted ones included)',
      run: async (ctx) => {
        const list = await call(ctx, 'runs.list', {});
        return print(ctx, list, () =>
          table(
            list.map((r) => ({
              ...r,
              // What happened in words ("completed, 1 rolled back"); --json keeps the journal's status.
              status: runOutcome(r).label,
              validated: `${r.steps.filter((s) => s.outcome === 'validated').length}/${r.steps.length}`,
            })),
            ['id', 'recipe', 'machine', 'status', 'validated', 'startedAt'],
          ),
        );
      },
    },
    {
      path: ['runs', 'show'],
      args: 'RUN',
      arity: [1, 1],
      summary: 'Show a run and its journal',
      run: async (ctx) => {
        const r = await call(ctx, 'runs.get', { id: ctx.positionals[0] as string });
        return print(ctx, r, () =>
          [
            summaryText(r.summary, ctx.paintOut),
            '',
            ...r.events
              .map((e) => formatEvent(e, r.summary.steps.length, ctx.paintOut))
              .filter((l) => l !== undefined),
          ].join('\n'),
        );
      },
    },
    {
      path: ['runs', 'recover'],
      args: 'RUN',
      arity: [1, 1],
      summary: "Restore an interrupted run's last good snapshot",
      run: async (ctx) => {
        const s = await call(ctx, 'runs.recover', { id: ctx.positionals[0] as string });
        return print(ctx, s, () => summaryText(s, ctx.paintOut));
      },
    },
  ];
}
