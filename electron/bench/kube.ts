/**
 * The kube-node bench: every controls file of labs/kube/ run against a machine in one script.
 * Variables (`$kubeletconf`, `$dockersock`) resolve to the first candidate that exists or runs;
 * a check that needs one that did not resolve is "not applicable (no kubelet)" — skipped, never
 * passed. Audits run as root with a 30 s limit each; their output (64 KiB at most) comes back
 * base64-encoded and is judged here (kube-eval.ts).
 */
import type { BenchResult, BenchTest } from '../../shared/bench.js';
import type { KubeCheck, KubeControls } from '../../shared/kube.js';
import { stripControls } from '../../shared/guest-text.js';
import type { SshExecutor } from '../ssh/executor.js';
import { evaluateCheck } from './kube-eval.js';

const OUT_BYTES = 65536;
const b64 = (s: string) => Buffer.from(s).toString('base64');

interface Planned {
  controls: KubeControls;
  check: KubeCheck;
  index: number;
}

function plan(all: KubeControls[]): Planned[] {
  let index = 0;
  return all.flatMap((controls) =>
    controls.groups.flatMap((g) => g.checks.map((check) => ({ controls, check, index: index++ }))),
  );
}

/** One variable per controls file and name (two files may name different candidates). */
const shellVar = (fileIndex: number, name: string) => `hv${fileIndex}_${name}`;

export function kubeScript(all: KubeControls[]): string {
  const lines = ['set -u', 'export LC_ALL=C'];
  lines.push(
    `run() { printf '%s' "$2" | base64 -d > /tmp/hlab-kube-audit.$$; timeout 30 bash /tmp/hlab-kube-audit.$$ 2>&1 | head -c ${OUT_BYTES} | base64 -w0; }`,
  );
  all.forEach((c, fi) => {
    for (const [name, v] of Object.entries(c.variables)) {
      const sv = shellVar(fi, name);
      // Candidates are checked against [A-Za-z0-9/._-] by the loader: safe inside single quotes.
      const test = v.kind === 'file' ? `[ -e "$x" ]` : `pgrep -x "$x" >/dev/null 2>&1`;
      lines.push(
        `${sv}=''; for x in ${v.candidates.map((x) => `'${x}'`).join(' ')}; do if ${test}; then ${sv}=$x; break; fi; done`,
      );
    }
  });
  for (const p of plan(all)) {
    const fi = all.indexOf(p.controls);
    if (p.check.type || !p.check.audit) continue;
    const need = p.check.needs.map((n) => `[ -n "$${shellVar(fi, n)}" ]`).join(' && ') || 'true';
    // The audit sees the file's own variable names, exported with their resolved values.
    const env = p.check.needs.map((n) => `${n}="$${shellVar(fi, n)}"`).join(' ');
    const exportLine = env ? `export ${env}; ` : '';
    lines.push(
      `if ${need}; then (${exportLine}printf '@@audit|${p.index}|%s\\n' "$(run x ${b64(p.check.audit)})"${
        p.check.auditConfig
          ? `; printf '@@config|${p.index}|%s\\n' "$(run x ${b64(p.check.auditConfig)})"`
          : ''
      }); else echo '@@na|${p.index}'; fi`,
    );
  }
  lines.push('rm -f /tmp/hlab-kube-audit.$$');
  return lines.join('\n');
}

function decode(s: string): string {
  return Buffer.from(s.slice(0, (OUT_BYTES * 4) / 3 + 8), 'base64').toString('utf8');
}

export function parseKubeOutput(stdout: string, all: KubeControls[], machine: string): BenchResult {
  const audit = new Map<number, string>();
  const config = new Map<number, string>();
  const na = new Set<number>();
  for (const line of stdout.split('\n')) {
    const m = /^@@(audit|config|na)\|(\d{1,6})(?:\|([A-Za-z0-9+/=]*))?$/.exec(line);
    if (!m) continue;
    const i = Number(m[2]);
    if (m[1] === 'na') na.add(i);
    else (m[1] === 'audit' ? audit : config).set(i, decode(m[3] ?? ''));
  }
  const tests: BenchTest[] = plan(all).map(({ controls, check, index }) => {
    const base = { id: check.id, title: check.text };
    if (check.type === 'skip') return { ...base, result: 'info', details: 'skipped by the check file' };
    if (check.type === 'manual')
      return { ...base, result: 'warn', details: 'manual: a person judges this one' };
    if (na.has(index)) {
      const comps = [...new Set(check.needs.map((n) => controls.variables[n]?.component ?? n))];
      return { ...base, result: 'skip', details: `not applicable (no ${comps.join(', no ')})` };
    }
    const out = audit.get(index);
    if (out === undefined) return { ...base, result: 'skip', details: 'the audit did not report' };
    const r = evaluateCheck(check, out, config.get(index));
    const shown = stripControls(out.trim().split('\n')[0] ?? '').slice(0, 160);
    return {
      ...base,
      result: r.pass ? 'pass' : check.scored ? 'fail' : 'warn',
      details: `${r.expected}${shown ? `; audit said: ${shown}` : ''}`,
    };
  });
  const scored = tests.filter((t) => t.result === 'pass' || t.result === 'fail');
  return {
    tool: 'kube-node',
    machine,
    at: new Date().toISOString(),
    score: tests.filter((t) => t.result === 'pass').length,
    max: scored.length,
    tests,
    warnings: tests.filter((t) => t.result === 'fail').map((t) => ({ id: t.id, text: t.title ?? t.id })),
    suggestions: tests.filter((t) => t.result === 'warn').map((t) => ({ id: t.id, text: t.title ?? t.id })),
    meta: {
      files: all.map((c) => `${c.file} (${c.version})`).join(', '),
      notApplicable: String(tests.filter((t) => t.details?.startsWith('not applicable')).length),
    },
  };
}

export async function runKube(
  ex: SshExecutor,
  machine: string,
  controls: KubeControls[],
  o: { signal?: AbortSignal } = {},
): Promise<BenchResult> {
  const r = await ex.runScript(kubeScript(controls), { timeoutMs: 15 * 60_000, signal: o.signal });
  return parseKubeOutput(r.stdout, controls, machine);
}
