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

/** Before/after bars per tool, scaled to each tool's own maximum (or, for counts, the larger bar). */
export function BenchChart({ comparisons }: { comparisons: BenchComparison[] }) {
  const rowH = 56;
  const w = 560;
  const bw = (v: number, max: number) => Math.max(2, Math.round((max ? v / max : 0) * (w - 220)));
  return (
    <svg
      className="bench-chart"
      role="img"
      aria-label="Scores before and after"
      width={w}
      height={comparisons.length * rowH + 24}
      data-testid="bench-chart"
    >
      {comparisons.map((c, i) => {
        const r = rowOf(c);
        return (
          <g key={c.tool} transform={`translate(0,${i * rowH + 6})`}>
            <text x="0" y="14">
              {c.tool}
            </text>
            <rect className="before" x="120" y="2" width={bw(r.before.v, r.before.top)} height="16">
              <title>{`before ${r.before.label}`}</title>
            </rect>
            <text x={126 + bw(r.before.v, r.before.top)} y="15">
              {r.before.label}
            </text>
            <rect className="after" x="120" y="22" width={bw(r.after.v, r.after.top)} height="16">
              <title>{`after ${r.after.label}`}</title>
            </rect>
            <text x={126 + bw(r.after.v, r.after.top)} y="35">
              {r.after.label} {r.change}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
