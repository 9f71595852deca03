/** `hlab workshop ...`: the trainee loop and the trainer's exports, through the same API the UI uses. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../../shared/errors.js';
import { formatIssue } from '../../../shared/steps.js';
import type { CheckResult, WorkshopStatus } from '../../../shared/workshops.js';
import { plural } from '../../../shared/words.js';
import { table } from './output.js';
import { UsageError, type Call, type Command, type CommandContext, type Print } from './router.js';

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new HlabError('not-found', `Cannot read ${file}: ${(err as Error).message}`);
  }
}

function statusText(s: WorkshopStatus): string {
  const p = s.progress;
  const lines = [
    `${s.workshop.title}  (${p.trainee} on ${p.machine})`,
    ...p.challenges.map(
      (c, i) =>
        `  ${c.status === 'passed' ? '✓' : c.status === 'current' ? '→' : ' '} ${i + 1}. ${s.workshop.challenges[i]?.title ?? c.id}` +
        (c.attempts
          ? `  (${plural(c.attempts, 'check')}${c.hintsShown ? `, ${plural(c.hintsShown, 'hint')}` : ''}${c.resets ? `, ${plural(c.resets, 'reset')}` : ''})`
          : ''),
    ),
  ];
  if (!s.current) return [...lines, '', 'All challenges passed.'].join('\n');
  return [
    ...lines,
    '',
    s.current.page.trim(),
    ...s.current.hints.map((h, i) => `\nHint ${i + 1}: ${h}`),
    '',
    `Check: hlab workshop check ${p.machine}   Hint (${s.current.hintsLeft} left): hlab workshop hint ${p.machine}   Reset: hlab workshop reset ${p.machine}`,
  ].join('\n');
}

function checkText(r: CheckResult): string {
  if (r.pass)
    return r.progress.finishedAt
      ? `PASS: ${r.challenge}. Every challenge passed: well done.`
      : `PASS: ${r.challenge}. Next: hlab workshop status ${r.progress.machine}`;
  return [`NOT YET: ${r.challenge}`, ...r.failures.map((f) => `  - ${f}`)].join('\n');
}

export function workshopCommands(call: Call, print: Print): Command[] {
  const machineArg = { args: 'MACHINE', arity: [1, 1] as [number, number] };
  const machine = (ctx: CommandContext) => ({ machine: ctx.positionals[0] as string });
  const writeOut = (ctx: CommandContext, r: { content: string; filename: string }) => {
    const out = typeof ctx.values.output === 'string' ? ctx.values.output : undefined;
    if (!out) {
      ctx.stdout(r.content.trimEnd());
      return 0;
    }
    writeFileSync(out, r.content);
    ctx.stderr(`wrote ${out}`);
    return 0;
  };
  return [
    {
      path: ['workshop', 'list'],
      summary: 'List workshops and the trainee sessions on this installation',
      run: async (ctx) => {
        const r = await call(ctx, 'workshops.list', {});
        for (const i of r.issues) ctx.stderr(formatIssue(i));
        print(ctx, r, () =>
          [
            table(
              r.workshops.map((w) => ({ ...w, minutes: w.durationMinutes, challenges: w.challenges.length })),
              ['id', 'minutes', 'challenges', 'source', 'title'],
            ),
            ...(r.sessions.length
              ? [
                  '',
                  table(
                    r.sessions.map((s) => ({
                      ...s,
                      passed: `${s.challenges.filter((c) => c.status === 'passed').length}/${s.challenges.length}`,
                    })),
                    ['machine', 'workshop', 'trainee', 'passed', 'updatedAt'],
                  ),
                ]
              : []),
          ].join('\n'),
        );
        return r.issues.length ? 1 : 0;
      },
    },
    {
      path: ['workshop', 'start'],
      args: 'WORKSHOP',
      arity: [1, 1],
      summary: 'Start (or resume) a workshop: machine, setup, a snapshot per challenge start',
      options: { trainee: { type: 'string' }, machine: { type: 'string' } },
      run: async (ctx) => {
        const s = await call(ctx, 'workshops.start', {
          workshop: ctx.positionals[0] as string,
          ...(typeof ctx.values.trainee === 'string' ? { trainee: ctx.values.trainee } : {}),
          ...(typeof ctx.values.machine === 'string' ? { machine: ctx.values.machine } : {}),
        });
        return print(ctx, s, () => statusText(s));
      },
    },
    {
      path: ['workshop', 'status'],
      ...machineArg,
      summary: "Show a session's progress and the current challenge's page",
      run: async (ctx) => {
        const s = await call(ctx, 'workshops.status', machine(ctx));
        return print(ctx, s, () => statusText(s));
      },
    },
    {
      path: ['workshop', 'check'],
      ...machineArg,
      summary: "Run the current challenge's check (exit 0 pass, 1 not yet)",
      run: async (ctx) => {
        const r = await call(ctx, 'workshops.check', machine(ctx));
        print(ctx, r, () => checkText(r));
        return r.pass ? 0 : 1;
      },
    },
    {
      path: ['workshop', 'hint'],
      ...machineArg,
      summary: 'Show the next hint of the current challenge',
      run: async (ctx) => {
        const s = await call(ctx, 'workshops.hint', machine(ctx));
        const hints = s.current?.hints ?? [];
        return print(ctx, s, () => `Hint ${hints.length}: ${hints[hints.length - 1] ?? ''}`);
      },
    },
    {
      path: ['workshop', 'reset'],
      ...machineArg,
      summary: 'Restore the machine to the start of the current challenge',
      run: async (ctx) => {
        const s = await call(ctx, 'workshops.reset', machine(ctx));
        return print(ctx, s, () => `reset to the start of "${s.current?.title ?? ''}"`);
      },
    },
    {
      path: ['workshop', 'solve'],
      ...machineArg,
      summary: "Run the current challenge's solution, then its check (recorded as solved)",
      run: async (ctx) => {
        const r = await call(ctx, 'workshops.solve', machine(ctx));
        print(ctx, r, () => checkText(r));
        return r.pass ? 0 : 1;
      },
    },
    {
      path: ['workshop', 'end'],
      ...machineArg,
      summary: 'End a session: destroys its machine and forgets its progress (export it first)',
      run: async (ctx) => {
        const r = await call(ctx, 'workshops.end', machine(ctx));
        return print(ctx, r, () => `ended ${r.ended}`);
      },
    },
    {
      path: ['workshop', 'export'],
      ...machineArg,
      summary: "Export a trainee's progress: --format json|html [-o FILE]",
      options: { format: { type: 'string' }, output: { type: 'string', short: 'o' } },
      run: async (ctx) => {
        const format = ctx.values.format ?? 'json';
        if (format !== 'json' && format !== 'html') throw new UsageError('--format must be json or html');
        return writeOut(ctx, await call(ctx, 'workshops.export', { ...machine(ctx), format }));
      },
    },
    {
      path: ['workshop', 'class'],
      args: 'EXPORT.json...',
      arity: [1, 500],
      summary: "Merge trainees' JSON exports into one class table [--html -o FILE]",
      options: { html: { type: 'boolean' }, output: { type: 'string', short: 'o' } },
      run: async (ctx) => {
        const exports = ctx.positionals.map((f) => ({ name: path.basename(f), text: readText(f) }));
        const r = await call(ctx, 'workshops.class', { exports });
        if (ctx.values.html) return writeOut(ctx, { content: r.html, filename: 'class.html' });
        return print(ctx, r.rows, () =>
          table(
            r.rows.map((x) => ({
              ...x,
              passed: `${x.passed}/${x.total}`,
              finished: x.finished ? 'yes' : '',
            })),
            [
              'workshop',
              'trainee',
              'passed',
              'attempts',
              'hints',
              'resets',
              'solveUsed',
              'minutes',
              'finished',
            ],
          ),
        );
      },
    },
    {
      path: ['workshop', 'pack'],
      args: 'WORKSHOP',
      arity: [1, 1],
      summary: 'Pack a workshop into one archive file [-o FILE]',
      options: { output: { type: 'string', short: 'o' } },
      run: async (ctx) =>
        writeOut(ctx, await call(ctx, 'workshops.pack', { workshop: ctx.positionals[0] as string })),
    },
    {
      path: ['workshop', 'import'],
      args: 'ARCHIVE',
      arity: [1, 1],
      summary: 'Import a workshop archive (checked like the step files) [--replace]',
      options: { replace: { type: 'boolean' } },
      run: async (ctx) => {
        const file = ctx.positionals[0] as string;
        const w = await call(ctx, 'workshops.import', {
          archive: readText(file),
          name: path.basename(file),
          replace: ctx.values.replace === true,
        });
        return print(ctx, w, () => `imported ${w.id}: ${w.title} (${w.challenges.length} challenges)`);
      },
    },
  ];
}
