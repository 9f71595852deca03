/** A small subcommand router: `hlab GROUP CMD [args] [--flags]`, help at every level, exit codes. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { MethodName, ReqOf, ResOf } from '../../../shared/api.js';
import type { Paint } from './colour.js';
import type { ApiClient } from '../../../shared/rpc.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | undefined>;

export interface CommandContext {
  values: Values;
  positionals: string[];
  /** Everything after a literal `--` (for `hlab exec NAME -- CMD`). */
  rest: string[];
  json: boolean;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Output exactly as a remote command wrote it (no line added): exec and step logs stream through it. */
  write?: (stream: 'stdout' | 'stderr', s: string) => void;
  signal: AbortSignal;
  /** Colour for stderr's lines and for stdout's, each on only when that stream is a terminal. */
  paint?: Paint;
  paintOut?: Paint;
}

export interface Command {
  path: string[];
  args?: string;
  summary: string;
  options?: OptionSpec;
  /** Positional count: [min, max]. */
  arity?: [number, number];
  run(ctx: CommandContext): Promise<number>;
}

export class UsageError extends Error {}

/** One API call from a command (progress and logs printed), and its result printed (or as JSON). */
export type Call = <M extends MethodName>(
  ctx: CommandContext,
  method: M,
  params: ReqOf<M>,
) => Promise<ResOf<M>>;
export type Print = (ctx: CommandContext, value: unknown, human: () => string) => number;

/** What every command file is given: the call and print helpers, a run follower, the client. */
export interface CliKit {
  call: Call;
  print: Print;
  /** Prints a run's journal events as they come; returns the unsubscribe. */
  followRun(ctx: CommandContext): () => void;
  client: ApiClient;
}

const GLOBAL: OptionSpec = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } };

export function usageOf(cmd: Command): string {
  const flags = Object.entries(cmd.options ?? {})
    .map(([k, o]) => (o.type === 'boolean' ? `[--${k}]` : `[--${k} ${k.toUpperCase()}]`))
    .join(' ');
  return ['hlab', ...cmd.path, cmd.args ?? '', flags].filter(Boolean).join(' ');
}

export function helpText(commands: Command[], prefix: string[] = []): string {
  const shown = commands.filter((c) => prefix.every((p, i) => c.path[i] === p));
  const width = Math.max(...shown.map((c) => [...c.path, c.args ?? ''].join(' ').length));
  const lines = shown.map((c) => `  ${[...c.path, c.args ?? ''].join(' ').padEnd(width)}  ${c.summary}`);
  return [
    `Usage: hlab ${prefix.length ? prefix.join(' ') + ' ' : ''}COMMAND [options]`,
    '',
    'Hardening Lab: snapshot, apply a hardening step over SSH, verify, roll back on failure.',
    '',
    'Commands:',
    ...lines,
    '',
    'Every listing takes --json. Exit codes: 0 ok, 1 a check failed, 2 usage or runtime error.',
    'Data lives in $HLAB_HOME (default: the app-data folder of hardening-lab).',
  ].join('\n');
}

export function findCommand(commands: Command[], argv: string[]): { cmd?: Command; consumed: number } {
  let best: Command | undefined;
  for (const c of commands) {
    if (c.path.every((p, i) => argv[i] === p) && (!best || c.path.length > best.path.length)) best = c;
  }
  return { cmd: best, consumed: best?.path.length ?? 0 };
}

export function parseFor(
  cmd: Command,
  argv: string[],
): { values: Values; positionals: string[]; rest: string[] } {
  const dash = argv.indexOf('--');
  const mine = dash >= 0 ? argv.slice(0, dash) : argv;
  const rest = dash >= 0 ? argv.slice(dash + 1) : [];
  let parsed;
  try {
    parsed = parseArgs({
      args: mine,
      options: { ...GLOBAL, ...cmd.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^TypeError \[\w+\]: /, ''));
  }
  const [min, max] = cmd.arity ?? [0, 0];
  if (!parsed.values.help && (parsed.positionals.length < min || parsed.positionals.length > max)) {
    throw new UsageError(`expected ${min === max ? min : `${min}-${max}`} argument(s): ${usageOf(cmd)}`);
  }
  return { values: parsed.values as Values, positionals: parsed.positionals, rest };
}

/** Edits (insert, delete, replace, swap two neighbours) between two words: "lsit" is 1 from "list". */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      row[j] = Math.min(
        (up[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (up[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  return (d[a.length] as number[])[b.length] as number;
}

/**
 * The command a mistyped one most likely meant ("machine lsit" → "machine list"), or undefined when
 * nothing is close: within 2 edits, and fewer than half the word's letters.
 */
export function didYouMean(commands: Command[], argv: string[]): string | undefined {
  const inGroup = commands.filter((c) => c.path.length > 1 && c.path[0] === argv[0]);
  const [pool, word, depth] =
    inGroup.length > 0 && argv[1] !== undefined ? [inGroup, argv[1], 1] : [commands, argv[0] ?? '', 0];
  let best: { path: string[]; d: number } | undefined;
  for (const c of pool) {
    const candidate = c.path[depth];
    if (candidate === undefined) continue;
    const d = editDistance(word, candidate);
    if (d <= 2 && d * 2 < Math.max(word.length, 2) && (!best || d < best.d))
      best = { path: c.path.slice(0, depth + 1), d };
  }
  return best?.path.join(' ');
}
