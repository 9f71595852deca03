/**
 * The host vulnerability view, offline and honest: for every installed package this machine's apt
 * can update, and for the running kernel against the newest image of its flavour, the CVE ids the
 * candidate's own Debian changelog names in the entries after the installed version. Everything
 * comes from the machine's package mirror; the changelog of each candidate .deb is read once in the
 * guest and kept on the host by package, version and architecture, so later runs download nothing.
 */
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  VULNS_BASIS,
  type BenchResult,
  type BenchTest,
  type ChangelogSource,
  type VulnKernel,
  type VulnPackage,
} from '../../shared/bench.js';
import { HlabError } from '../../shared/errors.js';
import { kernelLine } from '../../shared/vulns-text.js';
import type { SshExecutor } from '../ssh/executor.js';
import { cvesBetween, parseChangelog } from './changelog.js';
import { controlFields } from './deb-control.js';
import { compareDebVersions } from './deb-version.js';
import { ChangelogCache, SHA256_HEX, type CachedChangelog } from './changelog-cache.js';

/** A guest's changelog.gz and what it may expand to: bounded before anything is read. */
export const CHANGELOG_GZ_MAX = 8 << 20;
export const CHANGELOG_TEXT_MAX = 32 << 20;

/** Lists older than this are refreshed first (apt-get update takes ~40 s under TCG). */
export const LISTS_MAX_AGE_MIN = 60;

const M = {
  arch: '#hlab-arch ',
  release: '#hlab-uname-r ',
  version: '#hlab-uname-v ',
  lists: '#hlab-lists ',
  refresh: '#hlab-refresh-failed',
  installed: '#hlab-installed',
  pending: '#hlab-pending',
  candidates: '#hlab-candidates',
  kernels: '#hlab-kernels',
  cpupower: '#hlab-cpupower',
  deb: '#hlab-deb ',
  none: '#hlab-no-changelog ',
  failed: '#hlab-download-failed ',
  end: '#hlab-end',
};

const FIELDS = "grep -E '^(Package|Version|Source|Size|SHA256|Architecture):|^$' || true";

export function inventoryScript(): string {
  return [
    'set -e',
    'export LC_ALL=C DEBIAN_FRONTEND=noninteractive',
    'w=$(mktemp -d)',
    'trap \'rm -rf "$w"\' EXIT',
    // List files keep the mirror's own times; the folder's time (when it holds lists at all: an
    // image is built with none) and our stamp say when apt last fetched. Sources changed since
    // then make the lists stale whatever their age.
    `stamp=/var/lib/hlab/apt-lists-refreshed`,
    `fetched_at() { t=0; ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 && t=$(stat -c %Y /var/lib/apt/lists); s=$(stat -c %Y "$stamp" 2>/dev/null || echo 0); [ "$s" -gt "$t" ] && t=$s; echo "$t"; }`,
    `sources_changed() { [ -n "$(find /etc/apt/sources.list /etc/apt/sources.list.d -newermt "@$(fetched_at)" 2>/dev/null | head -n 1)" ]; }`,
    `if [ $(( $(date +%s) - $(fetched_at) )) -gt ${LISTS_MAX_AGE_MIN * 60} ] || sources_changed; then`,
    `  if apt-get update -q >&2; then mkdir -p /var/lib/hlab && touch "$stamp"; else echo '${M.refresh}'; fi`,
    'fi',
    `echo "${M.arch}$(dpkg --print-architecture)"`,
    `echo "${M.release}$(uname -r)"`,
    `echo "${M.version}$(uname -v)"`,
    `echo "${M.lists}$(fetched_at)"`,
    `echo '${M.installed}'`,
    "dpkg-query -W -f='${db:Status-Abbrev}\\t${Package}\\t${Version}\\t${source:Package}\\t${source:Version}\\n'",
    `echo '${M.pending}'`,
    'apt-get -s -q -o Debug::NoLocking=1 dist-upgrade | sed -n \'s/^Inst \\([^ ]*\\) \\[\\([^]]*\\)\\] (\\([^ ]*\\) .*/\\1 \\2 \\3/p\' > "$w/pending"',
    'cat "$w/pending"',
    `echo '${M.candidates}'`,
    `[ ! -s "$w/pending" ] || apt-cache show $(awk '{print $1"="$3}' "$w/pending") | ${FIELDS}`,
    `echo '${M.kernels}'`,
    "fl=$(uname -r | sed 's/^[0-9.]*-[0-9]*-//')",
    'apt-cache pkgnames linux-image- | grep -E "^linux-image-[0-9.]+-[0-9]+-${fl}\\$" > "$w/k" || true',
    `[ ! -s "$w/k" ] || apt-cache show $(cat "$w/k") | ${FIELDS}`,
    `echo '${M.cpupower}'`,
    `apt-cache show linux-cpupower 2>/dev/null | ${FIELDS}`,
  ].join('\n');
}

export interface Stanza {
  package: string;
  version: string;
  source: string;
  sourceVersion: string;
  size: number;
  sha256?: string;
  arch?: string;
}

export function parseStanzas(text: string): Stanza[] {
  return text
    .split(/\n\s*\n/)
    .map((block) => {
      const fields = controlFields(block);
      const f = (k: string) => fields.get(k);
      const pkg = f('Package');
      const version = f('Version');
      if (!pkg || !version) return undefined;
      const src = /^(\S+)(?: \(([^)]+)\))?$/.exec(f('Source') ?? '');
      const sha = f('SHA256');
      const arch = f('Architecture');
      return {
        package: pkg,
        version,
        source: src?.[1] ?? pkg,
        sourceVersion: src?.[2] ?? version,
        size: Number(f('Size') ?? 0) || 0,
        ...(sha ? { sha256: sha } : {}),
        ...(arch ? { arch } : {}),
      };
    })
    .filter((s): s is Stanza => s !== undefined);
}

export interface Inventory {
  arch: string;
  release: string;
  unameVersion: string;
  listsAt?: string;
  refreshFailed: boolean;
  installed: Map<string, { version: string; source: string; sourceVersion: string }>;
  pending: Array<{ name: string; from: string; to: string }>;
  candidates: Stanza[];
  kernels: Stanza[];
  cpupower: Stanza[];
}

/** Splits the inventory script's output at its markers. */
export function parseInventory(stdout: string): Inventory {
  const lines = stdout.split('\n');
  const one = (mark: string) =>
    lines
      .find((l) => l.startsWith(mark))
      ?.slice(mark.length)
      .trim() ?? '';
  const section = (mark: string, next?: string) => {
    const a = lines.indexOf(mark);
    if (a < 0) return '';
    const b = next ? lines.indexOf(next, a + 1) : lines.length;
    return lines.slice(a + 1, b < 0 ? lines.length : b).join('\n');
  };
  const installed = new Map<string, { version: string; source: string; sourceVersion: string }>();
  for (const l of section(M.installed, M.pending).split('\n')) {
    const [status, name, version, source, sourceVersion] = l.split('\t');
    if (!status?.startsWith('ii') || !name || !version) continue;
    installed.set(name, { version, source: source || name, sourceVersion: sourceVersion || version });
  }
  const pending = section(M.pending, M.candidates)
    .split('\n')
    .map((l) => l.trim().split(' '))
    .filter((p) => p.length === 3)
    .map(([name, from, to]) => ({ name: name!, from: from!, to: to! }));
  const stamp = Number(one(M.lists));
  return {
    arch: one(M.arch) || 'amd64',
    release: one(M.release),
    unameVersion: one(M.version),
    ...(stamp > 0 ? { listsAt: new Date(stamp * 1000).toISOString() } : {}),
    refreshFailed: lines.includes(M.refresh),
    installed,
    pending,
    candidates: parseStanzas(section(M.candidates, M.kernels)),
    kernels: parseStanzas(section(M.kernels, M.cpupower)),
    cpupower: parseStanzas(section(M.cpupower)),
  };
}

/** The Debian linux version a Debian kernel names in `uname -v` ("... Debian 6.1.176-1 (2026-...)"). */
export const runningKernelVersion = (unameV: string) => /\bDebian (\S+)/.exec(unameV)?.[1];

const isKernelSource = (s: string) => s === 'linux' || s.startsWith('linux-signed-');

/** One changelog to read: the .debs that carry it, smallest first (binaries share their source's). */
export interface Want {
  key: string;
  tries: Array<{ package: string; version: string }>;
}

export interface Plan {
  groups: Array<{
    key: string;
    source: string;
    binaries: string[];
    installed: string;
    candidate: string;
  }>;
  kernel: Omit<VulnKernel, 'cves' | 'entries' | 'changelog' | 'note'> & { key?: string };
  wants: Want[];
}

export function plan(inv: Inventory): Plan {
  const byName = new Map<string, Stanza>();
  for (const s of inv.candidates)
    if (!byName.has(`${s.package}=${s.version}`)) byName.set(`${s.package}=${s.version}`, s);
  const groups = new Map<string, Plan['groups'][number] & { stanzas: Stanza[] }>();
  for (const p of inv.pending) {
    const st = byName.get(`${p.name}=${p.to}`);
    const have = inv.installed.get(p.name);
    const source = st?.source ?? have?.source ?? p.name;
    if (isKernelSource(source)) continue;
    const candidate = st?.sourceVersion ?? p.to;
    const key = `${source}=${candidate}`;
    const g = groups.get(key) ?? {
      key,
      source,
      binaries: [],
      installed: have?.sourceVersion ?? p.from,
      candidate,
      stanzas: [],
    };
    g.binaries.push(p.name);
    if (st) g.stanzas.push(st);
    // Binaries of one source can lag differently: count from the oldest installed one.
    const inst = have?.sourceVersion ?? p.from;
    if (compareDebVersions(inst, g.installed) < 0) g.installed = inst;
    groups.set(key, g);
  }
  const wants: Want[] = [...groups.values()].map((g) => ({
    key: g.key,
    tries: (g.stanzas.length
      ? [...g.stanzas].sort((a, b) => a.size - b.size)
      : g.binaries.map((b) => ({ package: b, version: inv.pending.find((p) => p.name === b)!.to }))
    ).map((s) => ({ package: s.package, version: s.version })),
  }));

  const newest = [...inv.kernels].sort((a, b) => compareDebVersions(b.version, a.version))[0];
  const running = runningKernelVersion(inv.unameVersion);
  const installedNewer = [...inv.installed.entries()]
    .filter(([n]) => inv.kernels.some((k) => k.package === n))
    .filter(([, v]) => running && compareDebVersions(v.version, running) > 0)
    .sort((a, b) => compareDebVersions(b[1].version, a[1].version))[0];
  const kernel: Plan['kernel'] = {
    release: inv.release,
    ...(running ? { running } : {}),
    ...(newest ? { newest: { package: newest.package, version: newest.version } } : {}),
    ...(installedNewer ? { rebootPending: `${installedNewer[0]} ${installedNewer[1].version}` } : {}),
  };
  if (newest && running && compareDebVersions(newest.version, running) > 0) {
    kernel.key = `linux=${newest.version}`;
    // linux-cpupower is built from the same source and carries the same changelog in 1.4 MB
    // instead of the signed image's 27 MB.
    const cpu = inv.cpupower.find((c) => c.version === newest.version);
    wants.push({
      key: kernel.key,
      tries: [
        ...(cpu ? [{ package: cpu.package, version: cpu.version }] : []),
        { package: newest.package, version: newest.version },
      ],
    });
  }
  return { groups: [...groups.values()].map(({ stanzas: _s, ...g }) => g), kernel, wants };
}

/** Downloads each wanted .deb in turn until one ships a changelog, and prints it gzip'd in base64. */
export function fetchScript(wants: Want[]): string {
  const safe = /^[A-Za-z0-9.+~:_-]+$/;
  const lines = [
    'set -u',
    'export LC_ALL=C',
    'w=$(mktemp -d)',
    'trap \'rm -rf "$w"\' EXIT',
    'cd "$w"',
    'try() {',
    '  rm -f ./*.deb',
    `  apt-get download -q -o APT::Sandbox::User=root "$1=$2" >/dev/null 2>"$w/err" || { echo "${M.failed}$1 $2 $(tail -n 1 "$w/err" | tr -d '\\n')"; return 1; }`,
    '  d=$(ls ./*.deb | head -n 1)',
    '  sum=$(sha256sum "$d" | cut -d " " -f 1)',
    `  c=$(dpkg-deb -c "$d" | awk '{print $6}' | grep -E "^\\./usr/share/doc/[^/]+/changelog\\.Debian\\.gz\\$" | head -n 1)`,
    `  [ -n "$c" ] || c=$(dpkg-deb -c "$d" | awk '{print $6}' | grep -E "^\\./usr/share/doc/[^/]+/changelog\\.gz\\$" | head -n 1)`,
    `  if [ -z "$c" ]; then echo "${M.none}$1 $2 $sum"; return 1; fi`,
    `  echo "${M.deb}$1 $2 $sum $c"`,
    '  dpkg-deb --fsys-tarfile "$d" | tar -xO "$c" | base64 -w 0',
    '  echo',
    `  echo '${M.end}'`,
    '}',
  ];
  for (const w of wants) {
    const tries = w.tries.filter((t) => safe.test(t.package) && safe.test(t.version));
    if (tries.length) lines.push(tries.map((t) => `try ${t.package} ${t.version}`).join(' || ') + ' || true');
  }
  return lines.join('\n');
}

export interface Fetched {
  package: string;
  version: string;
  sha256?: string;
  changelog?: Buffer;
  failed?: string;
}

export function parseFetch(stdout: string): Fetched[] {
  const out: Fetched[] = [];
  const lines = stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith(M.deb)) {
      const [pkg, version, sha256] = l.slice(M.deb.length).split(' ');
      const body = lines[i + 1] ?? '';
      if (lines[i + 2] !== M.end) continue;
      i += 2;
      out.push(
        body.length > (CHANGELOG_GZ_MAX / 3) * 4 + 4
          ? {
              package: pkg!,
              version: version!,
              failed: `its changelog is over ${CHANGELOG_GZ_MAX >> 20} MiB`,
            }
          : { package: pkg!, version: version!, sha256: sha256!, changelog: Buffer.from(body, 'base64') },
      );
    } else if (l.startsWith(M.none)) {
      const [pkg, version, sha256] = l.slice(M.none.length).split(' ');
      out.push({ package: pkg!, version: version!, sha256: sha256! });
    } else if (l.startsWith(M.failed)) {
      const [pkg, version, ...why] = l.slice(M.failed.length).split(' ');
      out.push({ package: pkg!, version: version!, failed: why.join(' ') });
    }
  }
  return out;
}

const debKey = (t: { package: string; version: string }) => `${t.package}=${t.version}`;

/** The SHA-256 each candidate .deb has in the machine's apt index, by package=version. */
function debHashes(inv: Inventory): Map<string, string> {
  const m = new Map<string, string>();
  for (const s of [...inv.candidates, ...inv.kernels, ...inv.cpupower])
    if (s.sha256 && SHA256_HEX.test(s.sha256)) m.set(debKey(s), s.sha256);
  return m;
}

/**
 * What the guest sent back, kept only where it answers a question the host asked: a package and
 * version it wanted, from a .deb whose SHA-256 is the one the apt index names.
 */
export function acceptedFetches(
  got: Fetched[],
  asked: Want[],
  indexSha: Map<string, string>,
  onOutput?: (text: string) => void,
): Fetched[] {
  const wanted = new Set(asked.flatMap((w) => w.tries.map(debKey)));
  const out: Fetched[] = [];
  for (const g of got) {
    const key = debKey(g);
    if (!wanted.has(key)) continue;
    if (g.failed) {
      onOutput?.(`could not download ${key}: ${g.failed.slice(0, 200)}\n`);
      continue;
    }
    if (!g.sha256 || g.sha256 !== indexSha.get(key)) {
      onOutput?.(`ignored ${key}: its .deb is not the one the apt index names\n`);
      continue;
    }
    out.push(g);
  }
  return out;
}

export interface VulnsOptions {
  /** Where changelogs are kept (under the image cache): a folder per machine, by the .deb's SHA-256. */
  cacheDir: string;
  signal?: AbortSignal;
  onOutput?: (text: string) => void;
  timeoutMs?: number;
}

function readIds(
  c: CachedChangelog | undefined,
  installed: string,
  candidate: string,
  arch: string,
  source?: string,
): { cves: string[]; entries: number; changelog?: ChangelogSource; note?: string } {
  if (!c) return { cves: [], entries: 0, note: 'no candidate .deb could be downloaded' };
  const from: ChangelogSource = { package: c.package, version: c.version, sha256: c.sha256 };
  if (!c.changelog)
    return { cves: [], entries: 0, changelog: from, note: 'its .debs ship no changelog of their own' };
  let text: string;
  try {
    // The guest chose these bytes: a few hundred KiB of gzip can expand to gigabytes.
    text = gunzipSync(c.changelog, { maxOutputLength: CHANGELOG_TEXT_MAX }).toString('utf8');
  } catch (err) {
    const over = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    return {
      cves: [],
      entries: 0,
      changelog: from,
      note: over
        ? `${c.package} ${c.version}'s changelog expands past ${CHANGELOG_TEXT_MAX >> 20} MiB; not read`
        : `${c.package} ${c.version}'s changelog is not gzip data`,
    };
  }
  try {
    const entries = parseChangelog(text);
    const r = cvesBetween(entries, installed, candidate, { arch, ...(source ? { source } : {}) });
    return { cves: r.ids, entries: r.entries, changelog: from };
  } catch (err) {
    return {
      cves: [],
      entries: 0,
      changelog: from,
      note: `its changelog could not be read: ${String(err).slice(0, 120)}`,
    };
  }
}

export async function runVulns(ex: SshExecutor, machine: string, o: VulnsOptions): Promise<BenchResult> {
  const opts = { timeoutMs: o.timeoutMs ?? 20 * 60_000, signal: o.signal, onStderr: o.onOutput };
  const inv0 = await ex.runScript(inventoryScript(), opts);
  if (inv0.exitCode !== 0)
    throw new HlabError(
      'command-failed',
      `The package inventory failed on "${machine}" (exit ${inv0.exitCode}): ${inv0.stderr.trim().split('\n').slice(-2).join(' | ')}`,
      { machine },
    );
  const inv = parseInventory(inv0.stdout);
  if (!inv.installed.size)
    throw new HlabError(
      'unavailable',
      `"${machine}" has no dpkg database: the vulns tool reads Debian guests.`,
      {
        machine,
      },
    );
  // The machine's own folder: a changelog is this guest's word and stands only in its own reports.
  const cache = new ChangelogCache(path.join(o.cacheDir, machine));
  const p = plan(inv);
  const indexSha = debHashes(inv);
  // A changelog from any of the group's .debs; else what the cache knows (a .deb without one).
  const lookup = (w: Want) => {
    const known = w.tries.flatMap((t) => cache.get(t.package, t.version, indexSha.get(debKey(t))) ?? []);
    return known.find((c) => c.changelog) ?? known[0];
  };
  const missing = p.wants.filter((w) => !lookup(w)?.changelog);
  if (missing.length) {
    o.onOutput?.(`reading the changelogs of ${missing.length} candidate package(s) on ${machine}\n`);
    const f = await ex.runScript(fetchScript(missing), opts);
    for (const got of acceptedFetches(parseFetch(f.stdout), missing, indexSha, o.onOutput))
      cache.put({
        package: got.package,
        version: got.version,
        sha256: got.sha256!,
        ...(got.changelog ? { changelog: got.changelog } : {}),
      });
  }
  const byKey = new Map(p.wants.map((w) => [w.key, lookup(w)]));

  const packages: VulnPackage[] = p.groups
    .map((g) => ({
      source: g.source,
      binaries: g.binaries.sort(),
      installed: g.installed,
      candidate: g.candidate,
      ...readIds(byKey.get(g.key), g.installed, g.candidate, inv.arch),
    }))
    .sort((a, b) => b.cves.length - a.cves.length || a.source.localeCompare(b.source));
  const { key, ...kernelBase } = p.kernel;
  const kernel: VulnKernel = {
    ...kernelBase,
    ...(key && p.kernel.running && p.kernel.newest
      ? readIds(byKey.get(key), p.kernel.running, p.kernel.newest.version, inv.arch, 'linux')
      : {
          cves: [],
          entries: 0,
          ...(p.kernel.running ? {} : { note: `"${inv.unameVersion}" names no Debian kernel version` }),
        }),
  };
  const all = new Set([...kernel.cves, ...packages.flatMap((x) => x.cves)]);
  const tests: BenchTest[] = [
    {
      id: 'kernel',
      title: `running kernel ${kernel.release}`,
      result: !kernel.running
        ? 'info'
        : kernel.cves.length
          ? 'fail'
          : kernel.newest && compareDebVersions(kernel.newest.version, kernel.running) > 0
            ? 'warn'
            : 'pass',
      details: kernelLine(kernel),
    },
    ...packages.map((x): BenchTest => ({
      id: `pkg:${x.source}`,
      title: `${x.source} ${x.installed} → ${x.candidate}`,
      result: x.cves.length ? 'fail' : 'warn',
      details: x.cves.length
        ? `${x.cves.length} CVE ids: ${x.cves.slice(0, 8).join(' ')}${x.cves.length > 8 ? ' …' : ''}`
        : (x.note ?? 'update pending; its changelog names no CVE id'),
    })),
  ];
  return {
    tool: 'vulns',
    machine,
    at: new Date().toISOString(),
    score: all.size,
    max: all.size,
    lowerIsBetter: true,
    unit: 'fixable CVEs',
    tests,
    warnings: inv.refreshFailed
      ? [
          {
            id: 'lists',
            text: `apt-get update failed on "${machine}": the package lists are from ${inv.listsAt ?? 'an unknown time'}.`,
          },
        ]
      : [],
    suggestions: [],
    meta: {
      basis: VULNS_BASIS,
      kernel: kernel.release,
      kernelCves: String(kernel.cves.length),
      packagesBehind: String(packages.reduce((n, x) => n + x.binaries.length, 0)),
      sourcesBehind: String(packages.length),
      distinctCves: String(all.size),
      ...(inv.listsAt ? { listsAt: inv.listsAt } : {}),
    },
    vulns: { kernel, packages, distinct: all.size, ...(inv.listsAt ? { listsAt: inv.listsAt } : {}) },
  };
}
