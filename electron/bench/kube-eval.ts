/**
 * kube-bench's test semantics over audit output: a flag's value read from the command line, a
 * `{.a.b}` path read from the config, compared with eq/noteq/gt/…/bitmask, items joined with
 * and/or. The output is the guest's: it is only searched with indexOf and parsed as data, never
 * turned into a pattern; only the check file's own `regex` values are compiled.
 */
import { parse } from 'yaml';
import type { KubeCheck, KubeTestItem } from '../../shared/kube.js';

/** How much of a guest value a check file's `regex` is run against. */
export const REGEX_INPUT_CHARS = 1024;

export interface ItemResult {
  pass: boolean;
  /** What the test wanted, in kube-bench's words ("'permissions' is 600 or more restrictive"). */
  expected: string;
}

/** `--flag=v`, `--flag: v`, `flag: v`, `--flag v` (when a value is compared), bare `--flag`. */
export function flagValue(out: string, flag: string, wantsValue: boolean): { found: boolean; value: string } {
  const at = out.indexOf(flag);
  if (!flag || at < 0) return { found: false, value: '' };
  let rest = out.slice(at + flag.length);
  for (;;) {
    if (rest.startsWith('=')) rest = rest.slice(1);
    else if (rest.startsWith(':')) rest = rest.slice(1).replace(/^ */, '');
    else break;
  }
  const direct = /^\S*/.exec(rest)?.[0] ?? '';
  if (direct) return { found: true, value: direct };
  const spaced = wantsValue ? /^\s+([^\s-]\S*)/.exec(rest)?.[1] : undefined;
  if (spaced) return { found: true, value: spaced };
  return { found: true, value: flag.startsWith('--') ? 'true' : flag };
}

/** `{.a.b.c}` in YAML or JSON text; "" when the text does not parse or the key is absent. */
export function pathValue(text: string, p: string): string {
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 50 });
  } catch {
    return '';
  }
  let cur: unknown = doc;
  for (const key of p.slice(2, -1).split('.')) {
    if (!cur || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, key)) return '';
    cur = (cur as Record<string, unknown>)[key];
  }
  if (cur === null || cur === undefined) return '';
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

function envValue(out: string, name: string): { found: boolean; value: string } {
  for (const line of out.split('\n'))
    for (const word of line.split(/\s+/))
      if (word.startsWith(`${name}=`)) return { found: true, value: word.slice(name.length + 1) };
  return { found: false, value: '' };
}

export function compareOp(op: string, actual: string, want: string): boolean {
  const lower = actual.toLowerCase();
  const bool = lower === 'true' || lower === 'false';
  switch (op) {
    case 'eq':
      return bool ? lower === want : actual === want;
    case 'noteq':
      return bool ? lower !== want : actual !== want;
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const a = Number.parseInt(actual.trim(), 10);
      const b = Number.parseInt(want.trim(), 10);
      if (!/^-?\d+$/.test(actual.trim()) || Number.isNaN(b)) return false;
      return op === 'gt' ? a > b : op === 'gte' ? a >= b : op === 'lt' ? a < b : a <= b;
    }
    case 'has':
      return actual.includes(want);
    case 'nothave':
      return !actual.includes(want);
    case 'regex':
      // The pattern is the check file's (validated when loaded); the text is the guest's, so it
      // is cut short: a slow pattern must not get 64 KiB of hostile input to backtrack over.
      return new RegExp(want).test(actual.slice(0, REGEX_INPUT_CHARS));
    case 'valid_elements': {
      const split = (s: string) =>
        s
          .trim()
          .replace(/,+$/, '')
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean);
      const have = split(actual);
      const allowed = split(want);
      if (!have.length || !allowed.length) return have.length === allowed.length;
      return have.every((x) => allowed.includes(x));
    }
    case 'bitmask': {
      if (!/^[0-7]{1,4}$/.test(actual.trim())) return false;
      const mode = Number.parseInt(actual.trim(), 8);
      const max = Number.parseInt(want, 8);
      return (max & mode) === mode;
    }
    default:
      return false;
  }
}

export function evaluateItem(t: KubeTestItem, audit: string, config: string | undefined): ItemResult {
  const name = t.env ?? t.flag ?? t.path ?? '';
  let found: { found: boolean; value: string };
  if (t.env) found = envValue(audit, t.env);
  else if (t.flag && audit.includes(t.flag)) found = flagValue(audit, t.flag, !!t.compare);
  else if (t.path && config !== undefined) {
    const value = pathValue(config, t.path);
    found = { found: value !== '', value };
  } else found = flagValue(audit, t.flag ?? '', !!t.compare);
  if (!t.set) return { pass: !found.found, expected: `'${name}' is not present` };
  if (!t.compare) return { pass: found.found, expected: `'${name}' is present` };
  const { op, value } = t.compare;
  const words: Record<string, string> = {
    eq: 'is equal to',
    noteq: 'is not equal to',
    gt: 'is greater than',
    gte: 'is greater or equal to',
    lt: 'is lower than',
    lte: 'is lower or equal to',
    has: 'has',
    nothave: 'does not have',
    regex: 'is matched by',
    valid_elements: 'holds only elements of',
    bitmask: 'is at most',
  };
  return {
    pass: found.found && compareOp(op, found.value, value),
    expected: `'${name}' ${words[op] ?? op} '${value}'${found.found ? ` (found ${found.value.slice(0, 80)})` : ' (not found)'}`,
  };
}

/** All items of a check, joined by its bin_op (and when absent). */
export function evaluateCheck(c: KubeCheck, audit: string, config: string | undefined): ItemResult {
  const items = (c.tests?.items ?? []).map((t) => evaluateItem(t, audit.replace(/[ \n]+$/, ''), config));
  const pass = c.tests?.binOp === 'or' ? items.some((r) => r.pass) : items.every((r) => r.pass);
  return { pass, expected: items.map((r) => r.expected).join(c.tests?.binOp === 'or' ? ' or ' : ' and ') };
}
