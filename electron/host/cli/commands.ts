/** The `hlab` commands. Each one is a thin call through the same API contract the UI uses. */
import type { MethodName, ReqOf, ResOf } from '../../../shared/api.js';
import { HlabError } from '../../../shared/errors.js';
import type { ApiClient } from '../../../shared/rpc.js';
import { imageSeeding, type ProviderKind } from '../../../shared/types.js';
import { formatBytes, formatProgress, table } from './output.js';
import { UsageError, type Command, type CommandContext } from './router.js';
import { formatEvent, summaryText } from './run-output.js';
import { runOutcome } from '../../../shared/run-outcome.js';
import { interactiveShell } from './shell.js';
import { loadLibrary, loadRecipe, loadStep } from '../../steps/load.js';
import { formatIssue } from '../../../shared/steps.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadWorkshop, WORKSHOP_FILE } from '../../steps/workshop-load.js';
import { workshopCommands } from './workshop-commands.js';
import { classCommands } from './class-commands.js';
import { eventCommands } from './event-commands.js';
import { egressCommands } from './egress-commands.js';
import { hostCommands } from './host-commands.js';
import path from 'node:path';
import { BENCH_TOOLS, type BenchResult, type BenchTool } from '../../../shared/bench.js';
import { PATH_SETTINGS, SETTING_KEYS, type SettingKey, type SettingsView } from '../../../shared/settings.js';
import { EXPORT_FORMATS, type ExportFormat } from '../../recipes/exports.js';
import { shQuote } from '../../ssh/executor.js';
import { doctorText } from '../../machines/doctor.js';
import { loadKubeControls } from '../../bench/kube-format.js';
import { vulnsLines } from '../../../shared/vulns-text.js';
import { surfaceLines } from '../../../shared/surface.js';

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

export interface CliDeps {
  client: ApiClient;
  serve(port: number, ctx: CommandContext): Promise<number>;
}

/** One argument is a shell command line (as with ssh); several are each kept whole (as with docker exec). */
export function execCommand(argv: string[]): string {
  return argv.length === 1 ? (argv[0] as string) : argv.map(shQuote).join(' ');
}

/** HLAB_LABS_DIR: a team's own step library instead of the bundled labs/ (as the app uses it). */
function teamLabs(): string | undefined {
  return process.env.HLAB_LABS_DIR ? path.resolve(process.env.HLAB_LABS_DIR) : undefined;
}

function parseIntFlag(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new HlabError('bad-request', `--${flag} must be a whole number, got "${String(v)}".`);
  return n;
}

export function buildCommands(deps: CliDeps): Command[] {
  const call = async <M extends MethodName>(
    ctx: CommandContext,
    method: M,
    params: ReqOf<M>,
  ): Promise<ResOf<M>> => {
    let last = '';
    const res = await deps.client.call(method, params, {
      signal: ctx.signal,
      onProgress: (p) => {
        const line = formatProgress(p);
        if (line !== last) ctx.stderr(line);
        last = line;
      },
      // stdout/stderr are a remote command's bytes, passed on as they are; info is our own lines.
      onLog: (stream, text) => {
        if (ctx.write && (stream === 'stdout' || stream === 'stderr')) ctx.write(stream, text);
        else if (stream === 'stdout') ctx.stdout(text);
        else ctx.stderr(text);
      },
    });
    if (!res.ok) throw new HlabError(res.error.code, res.error.message, res.error.details);
    return res.value;
  };
  /** Prints a run's journal events as they come (run and replay); returns the unsubscribe. */
  const followRun = (ctx: CommandContext) => {
    let total = 0;
    return deps.client.on('runs.event', ({ event }) => {
      if (event.type === 'run-started') total = event.steps.length;
      const line = formatEvent(event, total, ctx.paint);
      if (line !== undefined) ctx.stderr(line);
    });
  };
  const print = (ctx: CommandContext, value: unknown, human: () => string) => {
    ctx.stdout(ctx.json ? JSON.stringify(value, null, 2) : human());
    return 0;
  };

  return [
    {
      path: ['info'],
      summary: 'Show version, data folder and platform',
      run: async (ctx) => {
        const info = await call(ctx, 'app.info', {});
        return print(ctx, info, () =>
          Object.entries(info)
            .map(([k, v]) => `${k}: ${v}`)
            .join('\n'),
        );
      },
    },
    {
      path: ['providers', 'list'],
      summary: 'List VM providers and whether they can run here',
      run: async (ctx) => {
        const list = await call(ctx, 'providers.list', {});
        return print(ctx, list, () =>
          [
            table(
              list.map((p) => ({
                ...p,
                available: p.available ? 'yes' : 'no',
                'live-snapshots': p.capabilities.liveSnapshot,
                reboot: p.capabilities.reboot,
                'egress-filter': p.capabilities.egressFilter,
              })),
              ['kind', 'available', 'version', 'live-snapshots', 'reboot', 'egress-filter', 'reason'],
            ),
            '',
            ...list.map(
              (p) =>
                `${p.kind} guests: ${p.network ?? (p.capabilities.egressFilter ? 'filtered' : "not filtered (the hypervisor's own NAT)")}`,
            ),
          ].join('\n'),
        );
      },
    },
    {
      path: ['image', 'build'],
      summary: 'Build the base image from Debian packages (cached; --force rebuilds)',
      options: { name: { type: 'string' }, force: { type: 'boolean' } },
      run: async (ctx) => {
        const img = await call(ctx, 'images.build', {
          name: ctx.values.name as string | undefined,
          force: ctx.values.force === true,
        });
        return print(
          ctx,
          img,
          () => `${img.name}: ${img.path} (${formatBytes(img.sizeBytes)}, kernel ${img.kernel})`,
        );
      },
    },
    {
      path: ['image', 'pull'],
      args: '[NAME]',
      arity: [0, 1],
      summary: "Download Debian's official cloud image and verify it against SHA512SUMS",
      options: { from: { type: 'string' } },
      run: async (ctx) => {
        const img = await call(ctx, 'images.pull', {
          name: ctx.positionals[0] ?? 'debian-12',
          baseUrl: ctx.values.from as string | undefined,
        });
        return print(
          ctx,
          img,
          () =>
            `${img.name}: ${img.path} (${formatBytes(img.sizeBytes)}, verified against SHA512SUMS; machines from it are seeded through cloud-init)`,
        );
      },
    },
    {
      path: ['image', 'list'],
      summary: 'List base images',
      run: async (ctx) => {
        const list = await call(ctx, 'images.list', {});
        return print(ctx, list, () =>
          table(
            list.map((i) => ({
              ...i,
              size: formatBytes(i.sizeBytes),
              sha256: i.sha256.slice(0, 12),
              seeding: imageSeeding(i),
            })),
            ['name', 'kernel', 'size', 'source', 'seeding', 'builtAt', 'sha256'],
          ),
        );
      },
    },
    {
      path: ['machine', 'create'],
      args: 'NAME',
      arity: [1, 1],
      summary:
        'Create a machine (an overlay of the base image; --ready: running in seconds from a ready template)',
      options: {
        provider: { type: 'string' },
        image: { type: 'string' },
        memory: { type: 'string' },
        cpus: { type: 'string' },
        'ssh-port': { type: 'string' },
        host: { type: 'string' },
        ready: { type: 'boolean' },
      },
      run: async (ctx) => {
        const m = await call(ctx, 'machines.create', {
          ...(ctx.values.ready === true ? { ready: true } : {}),
          name: ctx.positionals[0] as string,
          provider: ctx.values.provider as ProviderKind | undefined,
          image: ctx.values.image as string | undefined,
          memoryMiB: parseIntFlag(ctx.values.memory, 'memory'),
          cpus: parseIntFlag(ctx.values.cpus, 'cpus'),
          sshPort: parseIntFlag(ctx.values['ssh-port'], 'ssh-port'),
          ...(typeof ctx.values.host === 'string' ? { host: ctx.values.host } : {}),
        });
        return print(
          ctx,
          m,
          () =>
            `created ${m.name} (${m.provider}, ${m.image}, ${m.memoryMiB} MiB, ${m.cpus} CPU)${m.host ? ` on lab server ${m.host}` : ''}`,
        );
      },
    },
    {
      path: ['machine', 'add'],
      args: 'NAME',
      arity: [1, 1],
      summary:
        'Add a machine you already have: --provider vagrant --dir PATH [--vm default], or --provider libvirt --host H --vm DOMAIN --ssh-user U --ssh-key FILE',
      options: {
        provider: { type: 'string' },
        dir: { type: 'string' },
        vm: { type: 'string' },
        host: { type: 'string' },
        'ssh-user': { type: 'string' },
        'ssh-key': { type: 'string' },
      },
      run: async (ctx) => {
        const m = await call(ctx, 'machines.add', {
          name: ctx.positionals[0] as string,
          provider: (ctx.values.provider as ProviderKind | undefined) ?? 'vagrant',
          dir: ctx.values.dir as string | undefined,
          vm: ctx.values.vm as string | undefined,
          ...(typeof ctx.values.host === 'string' ? { host: ctx.values.host } : {}),
          sshUser: ctx.values['ssh-user'] as string | undefined,
          sshKeyFile: ctx.values['ssh-key'] as string | undefined,
        });
        return print(ctx, m, () => `added ${m.name} (${m.provider}, ${m.location ?? m.image}, ${m.state})`);
      },
    },
    ...(['up', 'down'] as const).map((verb): Command => ({
      path: ['machine', verb],
      args: 'NAME',
      arity: [1, 1],
      summary:
        verb === 'up'
          ? 'Start a machine and wait until SSH answers'
          : 'Shut a machine down (ACPI, then kill)',
      options: verb === 'down' ? { force: { type: 'boolean' } } : {},
      run: async (ctx) => {
        const name = ctx.positionals[0] as string;
        const m =
          verb === 'up'
            ? await call(ctx, 'machines.up', { name })
            : await call(ctx, 'machines.down', { name, force: ctx.values.force === true });
        return print(
          ctx,
          m,
          () => `${m.name}: ${m.state}${m.ssh ? ` (ssh ${m.ssh.user}@${m.ssh.host}:${m.ssh.port})` : ''}`,
        );
      },
    })),
    {
      path: ['machine', 'rm'],
      args: 'NAME',
      arity: [1, 1],
      summary: 'Destroy a machine and its disk',
      run: async (ctx) => {
        const r = await call(ctx, 'machines.destroy', { name: ctx.positionals[0] as string });
        return print(ctx, r, () => `destroyed ${r.destroyed}`);
      },
    },
    {
      path: ['machine', 'list'],
      summary: 'List the machines of every provider with their live state and snapshots',
      run: async (ctx) => {
        const list = await call(ctx, 'machines.list', { snapshots: true });
        return print(ctx, list, () =>
          table(
            list.map((m) => ({
              ...m,
              ssh: m.ssh ? `${m.ssh.user}@${m.ssh.host}:${m.ssh.port}` : undefined,
              memory: m.memoryMiB ? `${m.memoryMiB} MiB` : undefined,
              cpus: m.cpus || undefined,
              snapshots: m.snapshots?.length ? m.snapshots.join(' ') : undefined,
            })),
            ['name', 'provider', 'state', 'image', 'memory', 'cpus', 'ssh', 'network', 'snapshots'],
          ),
        );
      },
    },
    ...egressCommands(call, print),
    ...hostCommands(call, print),
    {
      path: ['snapshot', 'take'],
      args: 'NAME SNAP',
      arity: [2, 2],
      summary: 'Take a snapshot (live when the machine runs)',
      run: async (ctx) => {
        const [machine, snapshot] = ctx.positionals as [string, string];
        const s = await call(ctx, 'snapshots.take', { machine, snapshot });
        return print(ctx, s, () => `took ${s.live ? 'live' : 'offline'} snapshot ${s.name} of ${machine}`);
      },
    },
    {
      path: ['snapshot', 'restore'],
      args: 'NAME SNAP',
      arity: [2, 2],
      summary: 'Restore a snapshot (the machine keeps running when it is live)',
      run: async (ctx) => {
        const [machine, snapshot] = ctx.positionals as [string, string];
        const s = await call(ctx, 'snapshots.restore', { machine, snapshot });
        return print(ctx, s, () => `restored ${s.name} on ${machine}`);
      },
    },
    {
      path: ['snapshot', 'rm'],
      args: 'NAME SNAP',
      arity: [2, 2],
      summary: 'Delete a snapshot',
      run: async (ctx) => {
        const [machine, snapshot] = ctx.positionals as [string, string];
        const r = await call(ctx, 'snapshots.remove', { machine, snapshot });
        return print(ctx, r, () => `deleted snapshot ${r.removed} of ${machine}`);
      },
    },
    {
      path: ['snapshot', 'list'],
      args: 'NAME',
      arity: [1, 1],
      summary: 'List the snapshots of a machine',
      run: async (ctx) => {
        const list = await call(ctx, 'snapshots.list', { machine: ctx.positionals[0] as string });
        return print(ctx, list, () =>
          table(
            list.map((s) => ({
              ...s,
              kind: s.live ? 'live' : 'disk',
              'vm-state': s.vmStateBytes ? formatBytes(s.vmStateBytes) : '-',
            })),
            ['name', 'kind', 'vm-state', 'createdAt'],
          ),
        );
      },
    },
    {
      path: ['exec'],
      args: 'NAME -- CMD...',
      arity: [1, 1],
      summary:
        'Run a command on a machine over SSH: one argument is a shell command line, several are kept whole (exit code passed through, 128+N for signal N). The connection is kept 60 s for the next call; --fresh logs in anew',
      options: { timeout: { type: 'string' }, fresh: { type: 'boolean' } },
      run: async (ctx) => {
        if (ctx.rest.length === 0)
          throw new HlabError('bad-request', 'nothing to run: hlab exec NAME -- CMD...');
        const timeoutS = parseIntFlag(ctx.values.timeout, 'timeout');
        const r = await call(ctx, 'machines.exec', {
          machine: ctx.positionals[0] as string,
          command: execCommand(ctx.rest),
          timeoutMs: timeoutS === undefined ? undefined : timeoutS * 1000,
          ...(ctx.values.fresh === true ? { fresh: true } : {}),
        });
        if (ctx.json) ctx.stdout(JSON.stringify(r, null, 2));
        return r.exitCode;
      },
    },
    {
      path: ['ssh'],
      args: 'NAME',
      arity: [1, 1],
      summary: 'Open an interactive shell on a machine (same terminal layer as the app)',
      run: (ctx) => interactiveShell(deps.client, ctx.positionals[0] as string),
    },
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
        const off = followRun(ctx);
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
        return print(ctx, r, () => benchText(r));
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
        const off = followRun(ctx);
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
    ...workshopCommands(call, print),
    ...classCommands(call, print),
    ...eventCommands(call, print),
    {
      path: ['doctor'],
      summary:
        'What this host has and lacks for labs (QEMU, acceleration, image tools, Vagrant, VirtualBox, disk), with the fix for each; exit 1 when not ready',
      run: async (ctx) => {
        const r = await call(ctx, 'app.doctor', {});
        print(ctx, r, () => doctorText(r));
        return r.ready ? 0 : 1;
      },
    },
    {
      path: ['serve'],
      summary: 'Start web mode on 127.0.0.1 and print its URL (--port 0 picks a free port)',
      options: { port: { type: 'string' } },
      run: (ctx) => deps.serve(parseIntFlag(ctx.values.port, 'port') ?? 0, ctx),
    },
  ];
}
