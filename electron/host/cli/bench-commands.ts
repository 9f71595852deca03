/** `hlab bench|settings|recipe|keys`: benchmarks now, settings, exports, signed evidence and replay. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../../shared/errors.js';
import { table } from './output.js';
import { UsageError, type CliKit, type Command } from './router.js';
import { BENCH_TOOLS, type BenchResult, type BenchTool } from '../../../shared/bench.js';
import { PATH_SETTINGS, SETTING_KEYS, type SettingKey, type SettingsView } from '../../../shared/settings.js';
import { EXPORT_FORMATS, type ExportFormat } from '../../recipes/exports.js';
import { vulnsLines } from '../../../shared/vulns-text.js';
import { surfaceLines } from '../../../shared/surface.js';
import { changeLine, sinceEarlier } from '../../../shared/bench-history.js';

function benchText(r: BenchResult): string {
  if (r.vulns)
    return [
      `${r.tool} on ${r.machine}:`,
      ...vulnsLines(r.vulns),
      ...r.warnings.map((w) => `  warning ${w.id}: ${w.text}`),
    ].join('\n');
  if (r.surface)
    return [
      `${r.tool} on ${r.machine}: ${r.score} ${r.unit ?? 'items'} (fewer is better)`,
      ...surfaceLines(r.surface),
      ...r.warnings.map((w) => `  not measured ${w.id}: ${w.text}`),
    ].join('\n');
  const count = (k: string) => r.tests.filter((t) => t.result === k).length;
  return [
    `${r.tool} on ${r.machine}: ${r.score}/${r.max}  (${Object.entries(r.meta)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')})`,
    `tests: ${count('pass')} pass, ${count('fail')} fail, ${count('warn')} warn, ${count('skip') + count('info')} other`,
    ...r.warnings.slice(0, 20).map((w) => `  warning ${w.id}: ${w.text}`),
    ...r.tests
      .filter((t) => t.result === 'fail')
      .slice(0, 40)
      .map((t) => `  ✗ ${t.id}${t.title ? `  ${t.title}` : ''}${t.details ? `  (${t.details})` : ''}`),
  ].join('\n');
}

/** What changed since the same bench last ran on this machine (a whole line per flipped test). */
function sinceText(history: BenchResult[], r: BenchResult): string {
  const since = sinceEarlier(history, r);
  if (!since) return `first ${r.tool} bench of this scope on ${r.machine}: nothing to compare with yet`;
  const c = since.comparison;
  return [
    `since ${since.earlier.at}: ${changeLine(c)}`,
    ...c.fixed.map((f) => `  fixed ${f.id}: ${f.from} → ${f.to}${f.title ? `  ${f.title}` : ''}`),
    ...c.regressions.map((f) => `  REGRESSION ${f.id}: ${f.from} → ${f.to}${f.title ? `  ${f.title}` : ''}`),
  ].join('\n');
}

function settingsText(v: SettingsView): string {
  const d = v.dockerBench;
  const source =
    d.kind === 'github'
      ? `fetched in the guest from ${d.repo} at ${d.commit.slice(0, 12)} (needs internet there; a filtered QEMU machine needs codeload.github.com:443 in its egress allow list)`
      : d.problem
        ? `local copy ${d.dir} (from the ${d.from}) CANNOT be used: ${d.problem}`
        : `local copy ${d.dir} (from the ${d.from}): version ${d.version}, ${d.files} files`;
  return [
    ...SETTING_KEYS.map((k) => `${k}: ${v.values[k] ?? '(not set)'}`),
    `docker-bench-security: ${source}`,
  ].join('\n');
}

export function benchCommands(kit: CliKit): Command[] {
  const { call, print } = kit;
  return [
    {
      path: ['bench'],
      args: 'MACHINE',
      arity: [1, 1],
      summary: `Benchmark a machine now: --tool ${BENCH_TOOLS.join('|')} [--tests "ID ID"] [--docker-bench DIR] [--profile ID]`,
      options: {
        tool: { type: 'string' },
        tests: { type: 'string' },
        'docker-bench': { type: 'string' },
        profile: { type: 'string' },
      },
      run: async (ctx) => {
        const tool = ctx.values.tool ?? 'checks';
        if (!BENCH_TOOLS.includes(tool as BenchTool))
          throw new UsageError(`--tool must be one of ${BENCH_TOOLS.join(', ')}`);
        const tests =
          typeof ctx.values.tests === 'string' ? ctx.values.tests.split(/[\s,]+/).filter(Boolean) : undefined;
        const r = await call(ctx, 'bench.run', {
          machine: ctx.positionals[0] as string,
          tool: tool as BenchTool,
          ...(tests ? { tests } : {}),
          ...(typeof ctx.values['docker-bench'] === 'string'
            ? { dockerBenchDir: path.resolve(ctx.values['docker-bench']) }
            : {}),
          ...(typeof ctx.values.profile === 'string' ? { profile: ctx.values.profile } : {}),
        });
        if (ctx.json) return print(ctx, r, () => '');
        const history = await call(ctx, 'bench.list', { machine: r.machine });
        return print(ctx, r, () => `${benchText(r)}\n${sinceText(history, r)}`);
      },
    },
    {
      path: ['settings'],
      args: '[get | set KEY VALUE | unset KEY]',
      arity: [0, 3],
      summary: `Show or change settings (${SETTING_KEYS.join(', ')}) and where docker-bench-security comes from`,
      run: async (ctx) => {
        const [verb = 'get', key, value] = ctx.positionals as string[];
        const known = (k: string | undefined): SettingKey => {
          if (!k || !SETTING_KEYS.includes(k as SettingKey))
            throw new UsageError(`KEY must be one of ${SETTING_KEYS.join(', ')}`);
          return k as SettingKey;
        };
        const v =
          verb === 'get'
            ? await call(ctx, 'settings.get', {})
            : verb === 'set' && value !== undefined
              ? await call(ctx, 'settings.set', {
                  key: known(key),
                  // A folder is named relative to where the user stands; an egress list is not a path.
                  value: PATH_SETTINGS.includes(known(key)) ? path.resolve(value) : value,
                })
              : verb === 'unset'
                ? await call(ctx, 'settings.set', { key: known(key) })
                : (() => {
                    throw new UsageError('use: hlab settings [get | set KEY VALUE | unset KEY]');
                  })();
        return print(ctx, v, () => settingsText(v));
      },
    },
    {
      path: ['recipe', 'export'],
      args: 'RUN',
      arity: [1, 1],
      summary: 'Export a run: --format sh|ansible|cloud-init|html|evidence [-o FILE] (stdout without -o)',
      options: { format: { type: 'string' }, output: { type: 'string', short: 'o' } },
      run: async (ctx) => {
        const format = ctx.values.format;
        if (!EXPORT_FORMATS.includes(format as ExportFormat))
          throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}`);
        const r = await call(ctx, 'recipes.export', {
          runId: ctx.positionals[0] as string,
          format: format as ExportFormat,
        });
        const out = ctx.values.output;
        if (typeof out === 'string') {
          writeFileSync(out, r.content, { mode: format === 'sh' ? 0o755 : 0o644 });
          ctx.stderr(`wrote ${out}`);
        } else ctx.stdout(r.content.replace(/\n$/, ''));
        return 0;
      },
    },
    {
      path: ['recipe', 'verify'],
      args: 'EVIDENCE',
      arity: [1, 1],
      summary:
        'Check an evidence bundle: unmodified AND signed by a trusted key (exit 1 when tampered with or signed by an unknown key)',
      run: async (ctx) => {
        const v = await call(ctx, 'recipes.verify', { file: ctx.positionals[0] as string });
        print(ctx, v, () =>
          !v.intact
            ? `TAMPERED: ${v.problems.join(', ')} no longer match (run ${v.runId})`
            : v.trusted
              ? `intact: run ${v.runId} (${v.recipe}), signed by ${v.trustedAs} (${v.signer})`
              : `NOT TRUSTED: run ${v.runId} (${v.recipe}) is intact but signed by an unknown key ${v.signer}; import the signer's key with \`hlab keys trust FILE --name NAME\` if you trust it`,
        );
        return v.trusted ? 0 : 1;
      },
    },
    {
      path: ['keys', 'export'],
      summary:
        "Print this installation's evidence public key (give it to colleagues who verify your bundles)",
      options: { output: { type: 'string', short: 'o' } },
      run: async (ctx) => {
        const k = await call(ctx, 'keys.export', {});
        if (ctx.values.output) {
          writeFileSync(String(ctx.values.output), k.publicKey);
          ctx.stderr(`wrote ${String(ctx.values.output)} (${k.fingerprint})`);
        } else print(ctx, k, () => k.publicKey.trimEnd());
        return 0;
      },
    },
    {
      path: ['keys', 'trust'],
      args: 'FILE',
      arity: [1, 1],
      summary: "Trust a colleague's evidence public key (PEM) for recipe verify and validate",
      options: { name: { type: 'string' } },
      run: async (ctx) => {
        const file = ctx.positionals[0] as string;
        let pem: string;
        try {
          pem = readFileSync(file, 'utf8');
        } catch (err) {
          throw new HlabError('not-found', `Cannot read ${file}: ${(err as Error).message}`);
        }
        const name = (ctx.values.name as string | undefined) ?? path.basename(file).replace(/\.[^.]*$/, '');
        const k = await call(ctx, 'keys.trust', { pem, name });
        return print(ctx, k, () => `trusted ${k.name}: ${k.fingerprint}`);
      },
    },
    {
      path: ['keys', 'list'],
      summary: 'List the evidence keys trusted here',
      run: async (ctx) => {
        const list = await call(ctx, 'keys.list', {});
        return print(ctx, list, () =>
          table(
            list.map((k) => ({ ...k })),
            ['name', 'fingerprint'],
          ),
        );
      },
    },
    {
      path: ['recipe', 'validate'],
      args: 'EVIDENCE',
      arity: [1, 1],
      summary: 'Replay an evidence bundle on a fresh machine from the same base and compare',
      options: { machine: { type: 'string' } },
      run: async (ctx) => {
        const machine = ctx.values.machine;
        if (typeof machine !== 'string') throw new UsageError('hlab recipe validate EVIDENCE --machine NAME');
        const off = kit.followRun(ctx);
        try {
          const r = await call(ctx, 'recipes.validate', { evidence: ctx.positionals[0] as string, machine });
          print(ctx, { runId: r.runId, match: r.match, differences: r.differences }, () =>
            r.match
              ? `replay ${r.runId} matches the evidence: same outcomes, same checks, same flips`
              : `replay ${r.runId} DIFFERS:\n${r.differences.map((d) => `  - ${d}`).join('\n')}`,
          );
          return r.match ? 0 : 1;
        } finally {
          off();
        }
      },
    },
  ];
}
