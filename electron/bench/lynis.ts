/**
 * Lynis over SSH: installed from the guest's apt if missing, run with a report file, and its
 * report parsed into the shared score model. A test is failed when Lynis raised a warning for
 * it, "warn" for a suggestion, passed otherwise; KRNL-6000-style details with a preferred value
 * become sub-tests (ID:field), so a single sysctl changing shows as its own flip.
 */
import { whatItSaid } from '../../shared/said.js';
import { HlabError } from '../../shared/errors.js';
import type { BenchNote, BenchResult, BenchTest } from '../../shared/bench.js';
import type { SshExecutor } from '../ssh/executor.js';
import { shQuote } from '../ssh/executor.js';
import { lynisGroupOrder, planLynis, type LynisFile } from './lynis-plan.js';

/** The groups the step library touches; a full --quick run takes over 5 minutes under TCG. */
export const DEFAULT_LYNIS_GROUPS = [
  'kernel',
  'kernel_hardening',
  'ssh',
  'storage',
  'usb',
  'networking',
  'authentication',
  'mac_frameworks',
  'accounting',
  'containers',
];

const REPORT = '/var/tmp/hlab-lynis-report.dat';
const LOG = '/var/tmp/hlab-lynis.log';
const LOG_MARKER = '#hlab-lynis-log';

export interface LynisOptions {
  tests?: string[];
  groups?: string[];
  signal?: AbortSignal;
  onOutput?: (text: string) => void;
  timeoutMs?: number;
}

const INSTALL =
  'if [ ! -x /usr/sbin/lynis ]; then apt-get update -q && apt-get install -y -q --no-install-recommends lynis; fi';
const FILE_MARKER = '#hlab-lynis-file ';

/** Installs Lynis if missing, then prints its group order and the test files holding the ids. */
export function lynisPrepareCommand(tests: string[]): string {
  const pattern = shQuote(`--test-no (${tests.join('|')}) `);
  return [
    'set -e',
    'export DEBIAN_FRONTEND=noninteractive',
    INSTALL,
    `sed -n '/INCLUDE_TESTS="boot_services/,/hardening"/p' /usr/sbin/lynis`,
    `for f in $(grep -l -E -- ${pattern} /usr/share/lynis/include/tests_* || true); do`,
    `  echo "${FILE_MARKER}\${f##*/tests_}"; cat "$f"`,
    'done',
  ].join('\n');
}

export function parsePrepared(stdout: string): { order: string[]; files: LynisFile[] } {
  const [head = '', ...parts] = stdout.split(FILE_MARKER);
  const byGroup = new Map(
    parts.map((p) => {
      const nl = p.indexOf('\n');
      return [p.slice(0, nl).trim(), p.slice(nl + 1)] as const;
    }),
  );
  const order = lynisGroupOrder(head);
  return {
    order,
    files: order.filter((g) => byGroup.has(g)).map((g) => ({ group: g, text: byGroup.get(g) as string })),
  };
}

export function lynisCommand(o: { tests?: string[]; groups?: string[] }): string {
  const subset = o.tests?.length
    ? `--tests ${shQuote(o.tests.join(' '))} --tests-from-group ${shQuote((o.groups ?? []).join(' '))}`
    : `--tests-from-group ${shQuote((o.groups ?? DEFAULT_LYNIS_GROUPS).join(' '))}`;
  return [
    'set -e',
    'export DEBIAN_FRONTEND=noninteractive',
    INSTALL,
    `rm -f ${REPORT} ${LOG}`,
    // Its screen goes to stderr: streamed as progress ("[+] Kernel"), never mixed into the report.
    `/usr/sbin/lynis audit system --quick --no-colors --no-plugins --report-file ${REPORT} --log-file ${LOG} ${subset} >&2`,
    `cat ${REPORT}`,
    // Lynis reports only the settings that DIFFER from its profile; the ones that match are
    // only in its log, and without them a fixed setting would vanish instead of flipping.
    `echo '${LOG_MARKER}'`,
    `grep -a -E '${POSITIVE.map((p) => p.grep).join('|')}' ${LOG} || true`,
  ].join('\n');
}

export async function runLynis(ex: SshExecutor, machine: string, o: LynisOptions = {}): Promise<BenchResult> {
  const opts = { timeoutMs: o.timeoutMs ?? 20 * 60_000, signal: o.signal, onStderr: o.onOutput };
  let run: { tests?: string[]; groups?: string[] } = { groups: o.groups ?? DEFAULT_LYNIS_GROUPS };
  let meta: Record<string, string> = { groups: (run.groups ?? []).join(' ') };
  if (o.tests?.length) {
    const prep = await ex.runScript(lynisPrepareCommand(o.tests), opts);
    if (prep.exitCode !== 0) {
      throw new HlabError(
        'command-failed',
        `Lynis could not be installed on "${machine}" (exit ${prep.exitCode}): ${whatItSaid(prep.stderr, prep.stdout)}`,
        { machine },
      );
    }
    const plan = planLynis(o.tests, parsePrepared(prep.stdout).files);
    if (plan.tests.length === 0) {
      throw new HlabError(
        'bad-request',
        `Lynis on "${machine}" has none of the tests ${o.tests.join(', ')}`,
        {
          machine,
        },
      );
    }
    run = { tests: plan.tests, groups: plan.groups };
    meta = {
      tests: o.tests.join(' '),
      ran: plan.tests.join(' '),
      ...(plan.unknown.length ? { unknown: plan.unknown.join(' ') } : {}),
    };
  }
  const r = await ex.runScript(lynisCommand(run), opts);
  if (r.exitCode !== 0 || !r.stdout.includes('hardening_index=')) {
    throw new HlabError(
      'command-failed',
      `Lynis did not produce a report on "${machine}" (exit ${r.exitCode}): ${whatItSaid(r.stderr, r.stdout)}`,
      { machine },
    );
  }
  const [report = '', log = ''] = r.stdout.split(`${LOG_MARKER}\n`);
  return parseLynisReport(report, machine, meta, log);
}

/** Log lines Lynis writes for a setting that matches its profile, and the sub-test they prove. */
const POSITIVE: Array<{ grep: string; re: RegExp; test: string }> = [
  {
    grep: 'Result: sysctl key .* contains equal expected and current value',
    re: /Result: sysctl key (\S+) contains equal expected and current value/g,
    test: 'KRNL-6000',
  },
  {
    grep: 'Result: OpenSSH option .* is configured very well',
    re: /Result: OpenSSH option (\S+) is configured very well/g,
    test: 'SSH-7408',
  },
];

/** Sub-tests (ID:field) that Lynis's log shows as matching its profile. */
export function matchingSettings(log: string): string[] {
  return POSITIVE.flatMap((p) => [...log.matchAll(p.re)].map((m) => `${p.test}:${m[1] as string}`));
}

const list = (v: string | undefined) => (v ?? '').split('|').filter(Boolean);

export function parseLynisReport(
  text: string,
  machine: string,
  meta: Record<string, string> = {},
  log = '',
): BenchResult {
  const single = new Map<string, string>();
  const arrays = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key.endsWith('[]')) arrays.set(key.slice(0, -2), [...(arrays.get(key.slice(0, -2)) ?? []), value]);
    else single.set(key, value);
  }
  const note = (raw: string): BenchNote => {
    const [id = '', text = '', ...rest] = raw.split('|');
    const extra = rest.filter((x) => x && x !== '-').join(' — ');
    return { id, text: extra ? `${text} (${extra})` : text };
  };
  const warnings = (arrays.get('warning') ?? []).map(note);
  const suggestions = (arrays.get('suggestion') ?? []).map(note);
  const warned = new Set(warnings.map((w) => w.id));
  const suggested = new Set(suggestions.map((s) => s.id));
  const tests: BenchTest[] = list(single.get('tests_executed')).map((id) => ({
    id,
    result: warned.has(id) ? 'fail' : suggested.has(id) ? 'warn' : 'pass',
  }));
  for (const id of list(single.get('tests_skipped'))) tests.push({ id, result: 'skip' });
  for (const raw of arrays.get('details') ?? []) {
    const [id = '', component = '', data = ''] = raw.split('|');
    const fields = Object.fromEntries(
      data
        .split(';')
        .map((kv) => kv.split(':'))
        .filter((kv) => kv.length >= 2)
        .map(([k, ...v]) => [k as string, v.join(':')]),
    );
    if (fields.field && fields.prefval !== undefined && fields.value !== undefined) {
      tests.push({
        id: `${id}:${fields.field}`,
        title: fields.desc ?? `${component} ${fields.field}`,
        // A preferred value can list several acceptable ones ("1 2 3" for ptrace_scope).
        result: fields.prefval.split(' ').includes(fields.value) ? 'pass' : 'fail',
        details: `value ${fields.value}, preferred ${fields.prefval}`,
      });
    }
  }
  const executed = new Set(list(single.get('tests_executed')));
  for (const id of matchingSettings(log)) {
    if (!executed.has(id.split(':')[0] as string) || tests.some((t) => t.id === id)) continue;
    tests.push({ id, title: id.split(':')[1], result: 'pass', details: 'matches the Lynis profile' });
  }
  const index = Number(single.get('hardening_index'));
  return {
    tool: 'lynis',
    machine,
    at: new Date().toISOString(),
    score: Number.isFinite(index) ? index : 0,
    max: 100,
    tests,
    warnings,
    suggestions,
    meta: {
      version: single.get('lynis_version') ?? 'unknown',
      kernel: single.get('os_kernel_version_full') ?? single.get('os_kernel_version') ?? 'unknown',
      testsExecuted: String(list(single.get('tests_executed')).length),
      ...meta,
    },
  };
}
