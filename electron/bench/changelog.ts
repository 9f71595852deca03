/**
 * Debian changelogs as the vulnerability view reads them: entries (source, version, suite), and the
 * CVE ids named in the entries between an installed and a candidate version. Items that a kernel
 * entry marks for another architecture (`- [arm*] ...`) do not count on an amd64 guest.
 */
import { compareDebVersions } from './deb-version.js';

export interface ChangelogEntry {
  source: string;
  version: string;
  suite: string;
  /** The lines between the header and the trailer. */
  body: string[];
}

const HEADER = /^(\S+) \(([^)\s]+)\) ([^;]+);/;
export const CVE_ID = /CVE-\d{4}-\d{4,}/g;

/** Year, then number: CVE-2024-8176 before CVE-2024-50602. */
export function byCve(a: string, b: string): number {
  const [, ya = '0', na = '0'] = a.split('-');
  const [, yb = '0', nb = '0'] = b.split('-');
  return Number(ya) - Number(yb) || Number(na) - Number(nb);
}

/** A changelog comes from the guest: its lines and their lengths are bounded before anything reads them. */
export const CHANGELOG_MAX_LINES = 1_000_000;
const MAX_LINE = 4096;

export function parseChangelog(text: string): ChangelogEntry[] {
  const out: ChangelogEntry[] = [];
  let cur: ChangelogEntry | undefined;
  // Line by line without splitting the whole text: a text of newlines alone must not become an
  // array of a hundred million strings (a fatal V8 error, not an exception).
  for (let at = 0, n = 0; at < text.length && n < CHANGELOG_MAX_LINES; n++) {
    const nl = text.indexOf('\n', at);
    const end = nl < 0 ? text.length : nl;
    const line = text.slice(at, Math.min(end, at + MAX_LINE));
    at = end + 1;
    const h = HEADER.exec(line);
    if (h) {
      cur = { source: h[1]!, version: h[2]!, suite: h[3]!.trim(), body: [] };
      out.push(cur);
    } else if (cur && !line.startsWith(' -- ')) cur.body.push(line);
  }
  return out;
}

/** An architecture pattern as Debian changelogs write them: a name, `*` as the only wildcard. */
const ARCH_PATTERN = /^[A-Za-z0-9_*-]{1,100}$/;

/** Architectures an item's `[x86]`-style prefix allows (undefined: every architecture). */
function itemArches(firstLine: string): string[] | undefined {
  const m = /^\s*[-*+]\s+\[([^\]]{1,200})\]/.exec(firstLine);
  if (!m) return undefined;
  const arches = m[1]!.split(/[,\s]+/).filter(Boolean);
  // Anything else is not an architecture list: the item counts everywhere.
  return arches.length && arches.every((a) => ARCH_PATTERN.test(a)) ? arches : undefined;
}

/**
 * A literal glob match, `*` for any run of characters: the pattern comes from the guest and is
 * never turned into a RegExp (`****…b` was a catastrophic backtrack). Greedy left to right, linear.
 */
export function globMatches(pattern: string, name: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === name;
  const first = parts[0]!;
  const last = parts.at(-1)!;
  if (!name.startsWith(first) || name.length < first.length + last.length) return false;
  let at = first.length;
  for (const mid of parts.slice(1, -1)) {
    if (!mid) continue;
    const i = name.indexOf(mid, at);
    if (i < 0 || i + mid.length > name.length - last.length) return false;
    at = i + mid.length;
  }
  return name.endsWith(last);
}

function archMatches(patterns: string[], arch: string): boolean {
  const names = arch === 'amd64' ? ['amd64', 'x86', 'x86_64'] : [arch];
  return patterns.some((p) => names.some((n) => globMatches(p, n)));
}

/**
 * CVE ids in one entry's items that apply to `arch` (every item when no arch is given); an item
 * runs until the next one at its depth or less.
 */
export function entryCves(entry: ChangelogEntry, arch?: string): string[] {
  const ids = new Set<string>();
  const excluded: number[] = []; // indents of open items for another architecture
  for (const line of entry.body) {
    const item = /^(\s*)[-*+]\s/.exec(line);
    if (item) {
      const depth = item[1]!.length;
      while (excluded.length && excluded.at(-1)! >= depth) excluded.pop();
      const arches = itemArches(line);
      if (arch && arches && !archMatches(arches, arch)) excluded.push(depth);
    } else if (line.trim() && /^\S/.test(line)) excluded.length = 0;
    if (excluded.length) continue;
    for (const id of line.match(CVE_ID) ?? []) ids.add(id);
  }
  return [...ids];
}

/**
 * The ids named in entries newer than `installed` and no newer than `candidate`, for one source
 * (entries of a wrapper source, such as linux-signed-amd64 around linux, are left out when `source`
 * is given).
 */
export function cvesBetween(
  entries: ChangelogEntry[],
  installed: string,
  candidate: string,
  o: { source?: string; arch?: string } = {},
): { ids: string[]; entries: number } {
  const ids = new Set<string>();
  let n = 0;
  for (const e of entries) {
    if (o.source && e.source !== o.source) continue;
    if (compareDebVersions(e.version, installed) <= 0) continue;
    if (compareDebVersions(e.version, candidate) > 0) continue;
    n++;
    for (const id of entryCves(e, o.arch)) ids.add(id);
  }
  return { ids: [...ids].sort(byCve), entries: n };
}
