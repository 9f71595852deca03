/**
 * Which Lynis tests and groups to run for a set of test ids. `--tests` alone still sources every
 * test file and registers ~480 tests (7.5 min under TCG); `--tests-from-group` limits the files.
 * But a test whose prerequisites are set by an earlier test (SSH-7408 needs OPENSSHD_RUNNING from
 * SSH-7402) is silently skipped when that earlier test does not run, so the prerequisites are
 * found in Lynis's own test files and added.
 */

export interface LynisFile {
  /** Group name, e.g. "ssh" for include/tests_ssh. */
  group: string;
  text: string;
}

export interface LynisPlan {
  /** Test ids in the order Lynis runs them (requested ones plus their prerequisites). */
  tests: string[];
  /** Groups (test files) holding them, in Lynis's order. */
  groups: string[];
  /** Requested ids that no test file registers. */
  unknown: string[];
}

interface ParsedTest {
  id: string;
  group: string;
  index: number;
  needs: Set<string>;
  sets: Set<string>;
}

const REGISTER = /Register\s+--test-no\s+([A-Z]+-\d+)/;
const IGNORED = new Set(['PREQS_MET', 'SKIPTEST', 'TEST_NO']);

function parseFile(f: LynisFile, offset: number): ParsedTest[] {
  const lines = f.text.split('\n');
  const anchors: Array<{ id: string; line: number }> = [];
  lines.forEach((l, i) => {
    const m = REGISTER.exec(l);
    if (m && !l.trim().startsWith('#')) anchors.push({ id: m[1] as string, line: i });
  });
  return anchors.map((a, k) => {
    // The prerequisite block sits between the test's "# Test :" header and its Register line.
    let start = a.line - 1;
    while (
      start > 0 &&
      !/^\s*#\s*Test\s*:/.test(lines[start] as string) &&
      !/^#{20,}/.test(lines[start] as string)
    )
      start -= 1;
    const pre = lines.slice(start, a.line).join('\n');
    const needs = new Set([...pre.matchAll(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g)].map((m) => m[1] as string));
    const end = anchors[k + 1]?.line ?? lines.length;
    const body = lines.slice(a.line + 1, end).join('\n');
    const sets = new Set([...body.matchAll(/(?:^|[\s;(])([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1] as string));
    for (const v of IGNORED) needs.delete(v);
    return { id: a.id, group: f.group, index: offset + a.line, needs, sets };
  });
}

/** files must be in Lynis's include order (the INCLUDE_TESTS list of /usr/sbin/lynis). */
export function planLynis(ids: string[], files: LynisFile[]): LynisPlan {
  const all: ParsedTest[] = [];
  let offset = 0;
  for (const f of files) {
    all.push(...parseFile(f, offset));
    offset += f.text.split('\n').length;
  }
  const byId = new Map(all.map((t) => [t.id, t]));
  const chosen = new Set<ParsedTest>();
  const queue = ids.map((id) => byId.get(id)).filter((t): t is ParsedTest => !!t);
  while (queue.length) {
    const t = queue.pop() as ParsedTest;
    if (chosen.has(t)) continue;
    chosen.add(t);
    // Only earlier tests of the same file: other files' variables come from Lynis's own
    // initialisation (binaries, OS detection), which always runs.
    for (const p of all) {
      if (p.group === t.group && p.index < t.index && [...t.needs].some((v) => p.sets.has(v))) queue.push(p);
    }
  }
  const ordered = all.filter((t) => chosen.has(t));
  return {
    tests: ordered.map((t) => t.id),
    groups: files.map((f) => f.group).filter((g) => ordered.some((t) => t.group === g)),
    unknown: ids.filter((id) => !byId.has(id)),
  };
}

/** The INCLUDE_TESTS list of the lynis script (its group order). */
export function lynisGroupOrder(script: string): string[] {
  const m = /INCLUDE_TESTS="(boot_services[^"]*)"/.exec(script);
  return m ? (m[1] as string).replace(/\\\n/g, ' ').split(/\s+/).filter(Boolean) : [];
}
