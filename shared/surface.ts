/**
 * The attack-surface bench's model: what a host exposes, counted per category. Fewer is better;
 * the categories are the ones a thin container host (Bottlerocket, Flatcar) shrinks.
 */
export const SURFACE_CATEGORIES = [
  'packages',
  'suid-sgid',
  'listening',
  'services-enabled',
  'services-running',
  'modules',
  'login-accounts',
  'world-writable',
  'writable-mounts',
  'writable-folders',
] as const;
export type SurfaceCategoryId = (typeof SURFACE_CATEGORIES)[number];

export const SURFACE_TITLES: Record<SurfaceCategoryId, string> = {
  packages: 'installed packages',
  'suid-sgid': 'SUID/SGID files',
  listening: 'listening sockets',
  'services-enabled': 'enabled services',
  'services-running': 'running services',
  modules: 'loaded kernel modules',
  'login-accounts': 'accounts that can log in',
  'world-writable': 'world-writable paths in system folders',
  'writable-mounts': 'writable disk mounts',
  'writable-folders': 'system folders on a writable mount',
};

export interface SurfaceCategory {
  id: SurfaceCategoryId;
  title: string;
  count: number;
  /** What was counted, one line each (cut short and capped: they come from the guest). */
  items: string[];
  /** More were counted than are listed. */
  truncated?: boolean;
  /** The category could not be measured (its command is missing): not counted as zero. */
  missing?: string;
}

export interface SurfaceReport {
  categories: SurfaceCategory[];
  /** Sum over the measured categories: the bench's headline score. */
  total: number;
}

/** Per category: before, after, and what went and came. */
export interface SurfaceDiff {
  id: SurfaceCategoryId;
  title: string;
  before?: number;
  after?: number;
  removed: string[];
  added: string[];
}

export function diffSurface(
  before: SurfaceReport | undefined,
  after: SurfaceReport | undefined,
): SurfaceDiff[] {
  return SURFACE_CATEGORIES.map((id) => {
    const b = before?.categories.find((c) => c.id === id);
    const a = after?.categories.find((c) => c.id === id);
    const inA = new Set(a?.items ?? []);
    const inB = new Set(b?.items ?? []);
    return {
      id,
      title: SURFACE_TITLES[id],
      ...(b && !b.missing ? { before: b.count } : {}),
      ...(a && !a.missing ? { after: a.count } : {}),
      removed: b && a ? [...inB].filter((x) => !inA.has(x)) : [],
      added: b && a ? [...inA].filter((x) => !inB.has(x)) : [],
    };
  });
}

/** One line per category, for the CLI and the report: "listening sockets: 3 → 1 (−2)". */
export function surfaceLines(r: SurfaceReport, before?: SurfaceReport): string[] {
  const diffs = diffSurface(before ?? r, r);
  return diffs.map((d) => {
    const c = r.categories.find((x) => x.id === d.id);
    if (!c || c.missing) return `  ${d.title}: not measured (${c?.missing ?? 'no output'})`;
    if (!before) return `  ${d.title}: ${c.count}`;
    const delta =
      d.before === undefined
        ? ''
        : ` (${c.count - d.before >= 0 ? '+' : '−'}${Math.abs(c.count - d.before)})`;
    return `  ${d.title}: ${d.before ?? '?'} → ${c.count}${delta}`;
  });
}
