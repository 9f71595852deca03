import type { BenchComparison } from '../../../../shared/bench';

/** What one row shows: each bar's length against its own top, and the words beside it. */
function rowOf(c: BenchComparison) {
  if (c.lowerIsBetter) {
    // A count of something bad (fixable CVEs): both bars on one scale, and a drop is the improvement.
    const top = Math.max(c.before.score, c.after.score, 1);
    const unit = c.unit ?? '';
    return {
      before: { v: c.before.score, top, label: `${c.before.score} ${unit}` },
      after: { v: c.after.score, top, label: `${c.after.score} ${unit}` },
      change: `(${c.delta > 0 ? '+' : ''}${c.delta}, fewer is better)`,
    };
  }
  return {
    before: { v: c.before.score, top: c.before.max, label: `${c.before.score}/${c.before.max}` },
    after: { v: c.after.score, top: c.after.max, label: `${c.after.score}/${c.after.max}` },
    change: `(${c.delta >= 0 ? '+' : ''}${c.delta})`,
  };
}

/**
 * A run's bench measures what the recipe's steps declare, not the tool's full set: "checks 19/19"
 * is 19 of the recipe's checks, not "fully hardened". The label says so (ux review I-11).
 */
export function scopeOf(c: BenchComparison): string | undefined {
  if (c.lowerIsBetter) return undefined;
  // Lynis scores a hardening index out of 100 over the tests the recipe's steps name.
  if (c.tool === 'lynis') return "the recipe's tests";
  return `recipe's ${c.after.max}`;
}

/**
 * Before/after bars per tool, scaled to each tool's own maximum (or, for counts, the larger bar).
 * A run compares before and after its steps; two benches of a machine now compare an earlier one
 * with the newest (`labels`), over what those benches measured (`scope`: "whole machine").
 */
export function BenchChart({
  comparisons,
  labels = { before: 'before', after: 'after' },
  scope,
}: {
  comparisons: BenchComparison[];
  labels?: { before: string; after: string };
  /** What every row measured, instead of the recipe's scope. */
  scope?: string;
}) {
  const rowH = 56;
  const legendY = comparisons.length * rowH + 12;
  const w = 560;
  // The second legend entry starts after the first one's words, however long they are.
  const legendGap = Math.max(80, 30 + labels.before.length * 7);
  const bw = (v: number, max: number) => Math.max(2, Math.round((max ? v / max : 0) * (w - 220)));
  return (
    <svg
      className="bench-chart"
      role="img"
      aria-label={`Scores ${labels.before} and ${labels.after}`}
      width={w}
      height={comparisons.length * rowH + 32}
      data-testid="bench-chart"
    >
      {comparisons.map((c, i) => {
        const r = rowOf(c);
        const rowScope = scope ?? scopeOf(c);
        return (
          <g key={c.tool} transform={`translate(0,${i * rowH + 6})`}>
            <text x="0" y="14">
              {c.tool}
            </text>
            {rowScope && (
              <text x="0" y="32" className="muted-svg">
                {rowScope}
              </text>
            )}
            <rect className="before" x="120" y="2" width={bw(r.before.v, r.before.top)} height="16">
              <title>{`${labels.before} ${r.before.label}`}</title>
            </rect>
            <text x={126 + bw(r.before.v, r.before.top)} y="15">
              {r.before.label}
            </text>
            <rect className="after" x="120" y="22" width={bw(r.after.v, r.after.top)} height="16">
              <title>{`${labels.after} ${r.after.label}`}</title>
            </rect>
            <text x={126 + bw(r.after.v, r.after.top)} y="35">
              {r.after.label} {r.change}
            </text>
          </g>
        );
      })}
      <g transform={`translate(120,${legendY})`} aria-hidden>
        <rect className="before" x="0" y="0" width="12" height="12" />
        <text x="18" y="11">
          {labels.before}
        </text>
        <rect className="after" x={legendGap} y="0" width="12" height="12" />
        <text x={legendGap + 18} y="11">
          {labels.after}
        </text>
      </g>
    </svg>
  );
}
