/**
 * The attack-surface bench: installed packages, SUID/SGID files, listening sockets with their
 * process, enabled and running services, loaded modules, accounts that can log in, world-writable
 * paths in system folders and writable disk mounts — counted from plain commands (surface.sh) in
 * one SSH round trip. Fewer is better. Every line is the guest's: cut short, stripped of control
 * characters, capped per category, and only ever compared as text.
 */
import { readFileSync } from 'node:fs';
import type { BenchResult } from '../../shared/bench.js';
import {
  SURFACE_CATEGORIES,
  SURFACE_TITLES,
  type SurfaceCategory,
  type SurfaceCategoryId,
  type SurfaceReport,
} from '../../shared/surface.js';
import { stripControls } from '../../shared/guest-text.js';
import { appPath } from '../platform/app-root.js';
import type { SshExecutor } from '../ssh/executor.js';

const SCRIPT = appPath('electron', 'bench', 'surface.sh');
/** Items kept per category; the count goes on past it (a guest may list 100 000 SUID files). */
export const SURFACE_ITEMS_KEPT = 2000;
const ITEM_CHARS = 200;

/** Kernel and runtime filesystems: writable by design, never where the host's state persists. */
const PSEUDO_FS = new Set([
  'proc',
  'sysfs',
  'devtmpfs',
  'devpts',
  'tmpfs',
  'securityfs',
  'cgroup',
  'cgroup2',
  'pstore',
  'bpf',
  'debugfs',
  'tracefs',
  'mqueue',
  'hugetlbfs',
  'configfs',
  'fusectl',
  'autofs',
  'binfmt_misc',
  'efivarfs',
  'nsfs',
  'rpc_pipefs',
  'ramfs',
  'selinuxfs',
  'overlay',
]);

const clean = (line: string): string => stripControls(line.trim()).slice(0, ITEM_CHARS);

/** The raw lines of each section, as the script printed them. */
function sections(text: string): Map<SurfaceCategoryId, { lines: string[]; missing?: string }> {
  const out = new Map<SurfaceCategoryId, { lines: string[]; missing?: string }>();
  let cur: { lines: string[]; missing?: string } | undefined;
  for (const raw of text.split('\n')) {
    if (raw.startsWith('@@hlab-surface ')) {
      const id = raw.slice('@@hlab-surface '.length).trim();
      cur = (SURFACE_CATEGORIES as readonly string[]).includes(id) ? { lines: [] } : undefined;
      if (cur) out.set(id as SurfaceCategoryId, cur);
    } else if (cur && raw.startsWith('@@hlab-missing ')) {
      cur.missing = clean(raw.slice('@@hlab-missing '.length)) || 'not measured';
    } else if (cur && raw.trim()) cur.lines.push(raw);
  }
  return out;
}

/**
 * A loopback listener on a port the kernel picked (containerd's stream server binds 127.0.0.1:0)
 * gets a new number every boot: named by its range, so before/after compares the listener.
 */
function ephemeral(local: string): string {
  const m = /^(127\.0\.0\.1|\[::1\]):(\d{1,5})$/.exec(local);
  return m && Number(m[2]) >= 32768 ? `${m[1]}:ephemeral` : local;
}

/** `tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=1,fd=3))` → `tcp 0.0.0.0:22 sshd`. */
export function listeningItem(line: string): string | undefined {
  const f = line.trim().split(/\s+/);
  if (f.length < 5 || !/^(tcp|udp|raw|sctp)/.test(f[0] as string)) return undefined;
  const proc = /\(\("([^"]{1,64})"/.exec(line)?.[1];
  return `${f[0]} ${ephemeral(f[4] as string)}${proc ? ` ${proc}` : ''}`;
}

/** `/ /dev/vda1 ext4 rw,relatime` → `/ (ext4 on /dev/vda1)` when writable and on a disk. */
export function writableMountItem(line: string): string | undefined {
  const [target, source, fstype, options] = line.trim().split(/\s+/);
  if (!target || !source || !fstype || !options) return undefined;
  if (PSEUDO_FS.has(fstype) || !options.split(',').includes('rw')) return undefined;
  // findmnt -r escapes spaces as \x20; shown as the guest wrote it.
  return `${target} (${fstype} on ${source})`;
}

/** `/usr|/ /dev/vda1 ext4 rw,relatime` → `/usr (ext4 on /dev/vda1)` when that mount is writable. */
export function writableFolderItem(line: string): string | undefined {
  const bar = line.indexOf('|');
  if (bar <= 0) return undefined;
  const [, source, fstype, options] = line
    .slice(bar + 1)
    .trim()
    .split(/\s+/);
  if (!source || !fstype || !options || !options.split(',').includes('rw')) return undefined;
  return `${line.slice(0, bar)} (${fstype} on ${source})`;
}

function itemsOf(id: SurfaceCategoryId, lines: string[]): string[] {
  switch (id) {
    case 'listening':
      return lines.flatMap((l) => listeningItem(l) ?? []);
    case 'services-enabled':
    case 'services-running':
      return lines.flatMap((l) => {
        const unit = l.trim().split(/\s+/)[0] ?? '';
        return /^[\w@:.\\-]+\.service$/.test(unit) ? [unit] : [];
      });
    case 'modules':
      return lines.filter((l) => /^[A-Za-z0-9_-]{1,64}$/.test(l.trim())).map((l) => l.trim());
    case 'writable-mounts':
      return lines.flatMap((l) => writableMountItem(l) ?? []);
    case 'writable-folders':
      return lines.flatMap((l) => writableFolderItem(l) ?? []);
    case 'login-accounts':
      return lines.flatMap((l) => {
        const [name, shell, pw, key] = l.trim().split('|');
        if (!name || !shell || !pw || !key) return [];
        // Only an account with a way in counts: a usable or empty password, or an SSH key.
        if (pw === 'L' && key !== 'yes') return [];
        const ways = [
          pw === 'P' ? 'password' : pw === 'NP' ? 'EMPTY password' : '',
          key === 'yes' ? 'SSH key' : '',
        ]
          .filter(Boolean)
          .join(' + ');
        return [`${name} (${shell}, ${ways})`];
      });
    case 'suid-sgid':
    case 'world-writable':
      return lines.flatMap((l) => {
        const [p, a, b] = l.trim().split('|');
        return p && a && b ? [`${p} (${a} ${b})`] : [];
      });
    default:
      return lines.map((l) => l.trim());
  }
}

export function parseSurface(text: string): SurfaceReport {
  const found = sections(text);
  const categories: SurfaceCategory[] = SURFACE_CATEGORIES.map((id) => {
    const s = found.get(id);
    const base = { id, title: SURFACE_TITLES[id] };
    if (!s) return { ...base, count: 0, items: [], missing: 'the guest printed nothing for it' };
    if (s.missing) return { ...base, count: 0, items: [], missing: s.missing };
    const all = [...new Set(itemsOf(id, s.lines).map(clean))];
    return {
      ...base,
      count: all.length,
      items: all.slice(0, SURFACE_ITEMS_KEPT),
      ...(all.length > SURFACE_ITEMS_KEPT ? { truncated: true } : {}),
    };
  });
  return { categories, total: categories.reduce((n, c) => n + (c.missing ? 0 : c.count), 0) };
}

export function surfaceResult(report: SurfaceReport, machine: string, kernel?: string): BenchResult {
  return {
    tool: 'surface',
    machine,
    at: new Date().toISOString(),
    score: report.total,
    max: report.total,
    lowerIsBetter: true,
    unit: 'surface items',
    tests: report.categories.map((c) => ({
      id: `surface/${c.id}`,
      title: c.title,
      result: c.missing ? 'skip' : 'info',
      details: c.missing ?? String(c.count),
    })),
    warnings: report.categories
      .filter((c) => c.missing)
      .map((c) => ({ id: `surface/${c.id}`, text: `${c.title}: ${c.missing ?? ''}` })),
    suggestions: [],
    meta: { ...(kernel ? { kernel } : {}), categories: String(report.categories.length) },
    surface: report,
  };
}

export async function runSurface(
  ex: SshExecutor,
  machine: string,
  o: { signal?: AbortSignal } = {},
): Promise<BenchResult> {
  const r = await ex.runScript(readFileSync(SCRIPT, 'utf8'), { timeoutMs: 10 * 60_000, signal: o.signal });
  const kernel = clean((await ex.exec('uname -r', { signal: o.signal })).stdout);
  return surfaceResult(parseSurface(r.stdout), machine, kernel);
}
