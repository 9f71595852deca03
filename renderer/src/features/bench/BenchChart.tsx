import type { BenchComparison } from '../../../../shared/bench';

/**
 * Before/after bars per tool, scaled to each tool's own maximum; a count of something bad
 * (fixable CVEs) scales both bars to the larger of the two, and a drop is the improvement.
 */
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
      {comparisons.map((c, i) =>
        c.lowerIsBetter ? (
          <g key={c.tool} transform={`translate(0,${i * rowH + 6})`} data-testid="bench-chart-count">
            <text x="0" y="14">
              {c.tool}
            </text>
            <rect
              className="before"
              x="120"
              y="2"
              width={bw(c.before.score, Math.max(c.before.score, c.after.score, 1))}
              height="16"
            >
              <title>{`before ${c.before.score} ${c.unit ?? ''}`}</title>
            </rect>
            <text x={126 + bw(c.before.score, Math.max(c.before.score, c.after.score, 1))} y="15">
              {c.before.score} {c.unit}
            </text>
            <rect
              className="after"
              x="120"
              y="22"
              width={bw(c.after.score, Math.max(c.before.score, c.after.score, 1))}
              height="16"
            >
              <title>{`after ${c.after.score} ${c.unit ?? ''}`}</title>
            </rect>
            <text x={126 + bw(c.after.score, Math.max(c.before.score, c.after.score, 1))} y="35">
              {c.after.score} {c.unit} ({c.delta > 0 ? '+' : ''}
              {c.delta}, fewer is better)
            </text>
          </g>
        ) : (
          <g key={c.tool} transform={`translate(0,${i * rowH + 6})`}>
            <text x="0" y="14">
              {c.tool}
            </text>
            <rect className="before" x="120" y="2" width={bw(c.before.score, c.before.max)} height="16">
              <title>{`before ${c.before.score}/${c.before.max}`}</title>
            </rect>
            <text x={126 + bw(c.before.score, c.before.max)} y="15">
              {c.before.score}/{c.before.max}
            </text>
            <rect className="after" x="120" y="22" width={bw(c.after.score, c.after.max)} height="16">
              <title>{`after ${c.after.score}/${c.after.max}`}</title>
            </rect>
            <text x={126 + bw(c.after.score, c.after.max)} y="35">
              {c.after.score}/{c.after.max} ({c.delta >= 0 ? '+' : ''}
              {c.delta})
            </text>
          </g>
        ),
      )}
    </svg>
  );
}
