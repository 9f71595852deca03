/**
 * Our own checks as a benchmark: every `run` check of the step library (the same scripts the
 * steps' verify blocks use, rendered with the given params) plus kernel build and command-line
 * facts. All of them go over in ONE script, so a bench costs one SSH round trip, not ~50.
 */
import type { BenchResult, BenchTest } from '../../shared/bench.js';
import type { ParamValue, StepDef } from '../../shared/steps.js';
import { HlabError } from '../../shared/errors.js';
import type { SshExecutor } from '../ssh/executor.js';
import { defaultParams } from '../steps/load.js';
import { renderScript } from '../steps/render.js';

/** Kernel options that should be built in (=y) for a hardened container host. */
export const KCONFIG_WANTED = [
  'CONFIG_STRICT_KERNEL_RWX',
  'CONFIG_RANDOMIZE_BASE',
  'CONFIG_STACKPROTECTOR_STRONG',
  'CONFIG_HARDENED_USERCOPY',
  'CONFIG_FORTIFY_SOURCE',
  'CONFIG_SECURITY_YAMA',
  'CONFIG_SECURITY_APPARMOR',
  'CONFIG_SLAB_FREELIST_RANDOM',
  'CONFIG_SECCOMP_FILTER',
  'CONFIG_VMAP_STACK',
];
/** Command-line words that switch protections off. */
export const CMDLINE_UNWANTED = ['nokaslr', 'mitigations=off', 'apparmor=0', 'selinux=0', 'nosmep', 'nopti'];

export interface CheckItem {
  id: string;
  title: string;
  script: string;
}

export function checkItems(
  steps: StepDef[],
  params: Record<string, Record<string, ParamValue>> = {},
): CheckItem[] {
  const items: CheckItem[] = [];
  for (const step of steps) {
    const p = { ...defaultParams(step), ...(params[step.id] ?? {}) };
    step.verify.forEach((c, i) => {
      if (c.run) items.push({ id: `${step.id}/${i + 1}`, title: c.name, script: renderScript(c.run, p) });
    });
  }
  for (const opt of KCONFIG_WANTED)
    items.push({
      id: `kconfig/${opt}`,
      title: `kernel built with ${opt}=y`,
      script: `grep -qx '${opt}=y' "/boot/config-$(uname -r)"`,
    });
  for (const word of CMDLINE_UNWANTED)
    items.push({
      id: `cmdline/${word}`,
      title: `kernel command line has no ${word}`,
      script: `! grep -qw -- '${word}' /proc/cmdline`,
    });
  return items;
}

export function checksScript(items: CheckItem[]): string {
  return items
    .map((it) => {
      const b64 = Buffer.from(it.script).toString('base64');
      return `out=$(echo ${b64} | base64 -d | timeout 60 bash 2>&1); rc=$?; printf '@@hlab|%s|%s|%s\\n' '${it.id}' "$rc" "$(printf '%s' "$out" | tail -n 1 | tr '|\\n' '/ ' | cut -c1-200)"`;
    })
    .join('\n');
}

export function parseChecksOutput(stdout: string, items: CheckItem[], machine: string): BenchResult {
  const seen = new Map<string, { rc: number; last: string }>();
  for (const line of stdout.split('\n')) {
    const m = /^@@hlab\|([^|]+)\|(\d+)\|(.*)$/.exec(line);
    if (m) seen.set(m[1] as string, { rc: Number(m[2]), last: m[3] as string });
  }
  const tests: BenchTest[] = items.map((it) => {
    const r = seen.get(it.id);
    return {
      id: it.id,
      title: it.title,
      result: !r ? 'skip' : r.rc === 0 ? 'pass' : 'fail',
      ...(r?.last ? { details: r.last } : {}),
    };
  });
  const scored = tests.filter((t) => t.result === 'pass' || t.result === 'fail');
  return {
    tool: 'checks',
    machine,
    at: new Date().toISOString(),
    score: tests.filter((t) => t.result === 'pass').length,
    max: scored.length,
    tests,
    warnings: [],
    suggestions: tests.filter((t) => t.result === 'fail').map((t) => ({ id: t.id, text: t.title ?? t.id })),
    meta: { checks: String(items.length) },
  };
}

/** Only the checks `ids` names (`hlab bench --tests`); an id the library does not have is an error, not a skip. */
export function pickChecks(
  items: CheckItem[],
  ids: readonly string[] | undefined,
  machine: string,
): CheckItem[] {
  if (!ids?.length) return items;
  const known = new Set(items.map((it) => it.id));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length)
    throw new HlabError(
      'bad-request',
      `checks on "${machine}": no check ${unknown.map((u) => `"${u}"`).join(', ')}. Check ids are STEP/N (the Nth verify check of a step, e.g. lock-root/1), kconfig/OPTION or cmdline/WORD; \`hlab bench ${machine} --tool checks --json\` lists them all.`,
      { machine },
    );
  const wanted = new Set(ids);
  return items.filter((it) => wanted.has(it.id));
}

export async function runChecks(
  ex: SshExecutor,
  machine: string,
  steps: StepDef[],
  o: { params?: Record<string, Record<string, ParamValue>>; tests?: string[]; signal?: AbortSignal } = {},
): Promise<BenchResult> {
  const items = pickChecks(checkItems(steps, o.params), o.tests, machine);
  const r = await ex.runScript(checksScript(items), { timeoutMs: 10 * 60_000, signal: o.signal });
  const kernel = (await ex.exec('uname -r')).stdout.trim();
  const res = parseChecksOutput(r.stdout, items, machine);
  res.meta.kernel = kernel;
  // A subset is its own scope: its score is never compared with the whole set's.
  if (o.tests?.length) res.meta.tests = items.map((it) => it.id).join(' ');
  return res;
}
