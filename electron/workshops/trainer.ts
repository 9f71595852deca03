/**
 * What a trainer gets: one trainee's progress as JSON and as a printable HTML page, and several
 * trainees' exports merged into one class table. Exports come from other people's machines:
 * they are parsed and checked, and every value is escaped on its way into HTML.
 */
import { escapeHtml as esc } from '../../shared/html.js';
import type { ClassRow, WorkshopProgress } from '../../shared/workshops.js';
import { parseProgress } from './progress.js';

const minutesBetween = (a: string, b: string) => {
  const ms = Date.parse(b) - Date.parse(a);
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms / 60_000) : 0;
};

export function classRow(p: WorkshopProgress): ClassRow {
  const sum = (f: (c: WorkshopProgress['challenges'][number]) => number) =>
    p.challenges.reduce((n, c) => n + f(c), 0);
  return {
    trainee: p.trainee,
    workshop: p.workshop,
    passed: p.challenges.filter((c) => c.status === 'passed').length,
    total: p.challenges.length,
    attempts: sum((c) => c.attempts),
    hints: sum((c) => c.hintsShown),
    resets: sum((c) => c.resets),
    solveUsed: p.challenges.filter((c) => c.solveUsed).length,
    minutes: minutesBetween(p.startedAt, p.finishedAt ?? p.updatedAt),
    finished: Boolean(p.finishedAt),
    perChallenge: Object.fromEntries(
      p.challenges.map((c) => [c.id, c.status !== 'passed' ? 'open' : c.solveUsed ? 'solved' : 'passed']),
    ),
  };
}

/** Merges exports (JSON texts, named for errors); one row per trainee and workshop, the newest wins. */
export function classTable(exports: Array<{ name: string; text: string }>): ClassRow[] {
  const newest = new Map<string, WorkshopProgress>();
  for (const e of exports) {
    const p = parseProgress(e.text, e.name);
    const key = `${p.workshop}\u0000${p.trainee}`;
    const seen = newest.get(key);
    if (!seen || seen.updatedAt < p.updatedAt) newest.set(key, p);
  }
  return [...newest.values()]
    .map(classRow)
    .sort((a, b) => a.workshop.localeCompare(b.workshop) || a.trainee.localeCompare(b.trainee));
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#111}table{border-collapse:collapse;margin:1rem 0}
th,td{border:1px solid #bbb;padding:.3rem .6rem;text-align:left}th{background:#eee}.passed{background:#d8f0d8}
.solved{background:#fff2c6}.open{background:#f6dada}.muted{color:#666}@media print{body{margin:0}}`;

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>\n`;

export function progressHtml(p: WorkshopProgress): string {
  const r = classRow(p);
  const rows = p.challenges
    .map((c, i) => {
      const mins = c.startedAt && c.passedAt ? `${minutesBetween(c.startedAt, c.passedAt)} min` : '—';
      const cls = c.status !== 'passed' ? 'open' : c.solveUsed ? 'solved' : 'passed';
      return `<tr class="${cls}"><td>${i + 1}</td><td><code>${esc(c.id)}</code></td><td>${esc(c.status)}${c.solveUsed ? ' (solution used)' : ''}</td><td>${c.attempts}</td><td>${c.hintsShown}</td><td>${c.resets}</td><td>${mins}</td></tr>`;
    })
    .join('\n');
  return page(
    `${p.workshopTitle} — ${p.trainee}`,
    `<h1>${esc(p.workshopTitle)}</h1>
<p><b>${esc(p.trainee)}</b> · machine <code>${esc(p.machine)}</code> · started ${esc(p.startedAt)} · ${r.finished ? `finished ${esc(p.finishedAt)}` : 'not finished'} · ${r.minutes} min</p>
<p>${r.passed} of ${r.total} challenges passed, ${r.attempts} checks, ${r.hints} hints, ${r.resets} resets.</p>
<table><thead><tr><th>#</th><th>challenge</th><th>status</th><th>checks</th><th>hints</th><th>resets</th><th>time</th></tr></thead><tbody>
${rows}
</tbody></table>`,
  );
}

export function classHtml(rows: ClassRow[]): string {
  const byWorkshop = new Map<string, ClassRow[]>();
  for (const r of rows) byWorkshop.set(r.workshop, [...(byWorkshop.get(r.workshop) ?? []), r]);
  const sections = [...byWorkshop.entries()]
    .map(([w, rs]) => {
      const ids = Object.keys(rs[0]?.perChallenge ?? {});
      const head = ids.map((id) => `<th><code>${esc(id)}</code></th>`).join('');
      const body = rs
        .map(
          (r) =>
            `<tr><td>${esc(r.trainee)}</td>${ids.map((id) => `<td class="${esc(r.perChallenge[id] ?? 'open')}">${esc(r.perChallenge[id] ?? 'open')}</td>`).join('')}<td>${r.passed}/${r.total}</td><td>${r.attempts}</td><td>${r.hints}</td><td>${r.resets}</td><td>${r.minutes}</td></tr>`,
        )
        .join('\n');
      return `<h2>${esc(w)}</h2><table><thead><tr><th>trainee</th>${head}<th>passed</th><th>checks</th><th>hints</th><th>resets</th><th>min</th></tr></thead><tbody>
${body}
</tbody></table>`;
    })
    .join('\n');
  return page(
    'Class progress',
    `<h1>Class progress</h1><p class="muted">${rows.length} trainee records</p>${sections}`,
  );
}
