/**
 * Lynis over SSH: installed from the guest's apt if missing, run with a report file, and its
 * report parsed into the shared score model. A test is failed when Lynis raised a warning for
 * it, "warn" for a suggestion, passed otherwise; KRNL-6000-style details with a preferred value
 * become sub-tests (ID:field), so a single sysctl changing shows as its own flip.
 */
import { HlabError } from '../../shared/errors.js';
import type { BenchNote, BenchResult, BenchTest } from '../../shared/bench.js';
import type { SshExecutor } from '../ssh/executor.js';
import { shQuote } from '../ssh/executor.js';

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

export interface LynisOptions {
  tests?: string[];
  groups?: string[];
  signal?: AbortSignal;
  onOutput?: (text: string) => void;
  timeoutMs?: number;
}

export function lynisCommand(o: Pick<LynisOptions, 'tests' | 'groups'>): string {
  const subset = o.tests?.length
    ? `--tests ${shQuote(o.tests.join(' '))}`
    : `--tests-from-group ${shQuote((o.groups ?? DEFAULT_LYNIS_GROUPS).join(' '))}`;
  return [
    'set -e',
    'export DEBIAN_FRONTEND=noninteractive',
    'if [ ! -x /usr/sbin/lynis ]; then apt-get update -q && apt-get install -y -q --no-install-recommends lynis; fi',
    `rm -f ${REPORT} ${LOG}`,
    `/usr/sbin/lynis audit system --quick --no-colors --no-plugins --report-file ${REPORT} --log-file ${LOG} ${subset} >/dev/null`,
    `cat ${REPORT}`,
  ].join('\n');
}

export async function runLynis(ex: SshExecutor, machine: string, o: LynisOptions = {}): Promise<BenchResult> {
  const r = await ex.runScript(lynisCommand(o), {
    timeoutMs: o.timeoutMs ?? 20 * 60_000,
    signal: o.signal,
    onStderr: o.onOutput,
  });
  if (r.exitCode !== 0 || !r.stdout.includes('hardening_index=')) {
    throw new HlabError(
      'command-failed',
      `Lynis did not produce a report on "${machine}" (exit ${r.exitCode}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      { machine },
    );
  }
  return parseLynisReport(
    r.stdout,
    machine,
    o.tests?.length
      ? { tests: o.tests.join(' ') }
      : {
          groups: (o.groups ?? DEFAULT_LYNIS_GROUPS).join(' '),
        },
  );
}

const list = (v: string | undefined) => (v ?? '').split('|').filter(Boolean);

export function parseLynisReport(
  text: string,
  machine: string,
  meta: Record<string, string> = {},
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
