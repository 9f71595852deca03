/** A self-contained HTML report (no scripts, no external assets): charts are inline SVG. */
import { VULNS_BASIS, type BenchComparison, type BenchResult } from '../../shared/bench.js';
import { kernelLine } from '../../shared/vulns-text.js';
import { diffSurface, type SurfaceReport } from '../../shared/surface.js';
import { claimText, stepClaims, type StepClaim } from '../../shared/claims.js';
import type { EvidenceBody, EvidenceBundle } from '../../shared/evidence.js';
import { escapeHtml } from '../../shared/html.js';

const esc = escapeHtml;

/** Scores come from the guest (docker-bench's JSON log): only finite numbers reach the markup. */
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function chart(cs: BenchComparison[]): string {
  if (!cs.length) return '<p class="muted">No benchmark ran before and after this run.</p>';
  const rowH = 56;
  const w = 560;
  const bars = cs
    .map((c, i) => {
      const y = i * rowH + 10;
      const bw = (v: number, max: number) => Math.max(2, Math.round((max ? v / max : 0) * (w - 200)));
      const [b, bm, a, am, d] = [c.before.score, c.before.max, c.after.score, c.after.max, c.delta].map(
        num,
      ) as [number, number, number, number, number];
      if (c.lowerIsBetter === true) {
        // A count of something bad: both bars on one scale, and a drop is the good news.
        const top = Math.max(b, a, 1);
        const unit = esc(String(c.unit ?? ''));
        return `<g transform="translate(0,${y})">
  <text x="0" y="14" class="label">${esc(c.tool)}</text>
  <rect x="120" y="2" width="${bw(b, top)}" height="16" class="before"><title>before ${b} ${unit}</title></rect>
  <text x="${126 + bw(b, top)}" y="15" class="val">${b} ${unit}</text>
  <rect x="120" y="22" width="${bw(a, top)}" height="16" class="after"><title>after ${a} ${unit}</title></rect>
  <text x="${126 + bw(a, top)}" y="35" class="val">${a} ${unit} (${d > 0 ? '+' : ''}${d}, fewer is better)</text>
</g>`;
      }
      return `<g transform="translate(0,${y})">
  <text x="0" y="14" class="label">${esc(c.tool)}</text>
  <rect x="120" y="2" width="${bw(b, bm)}" height="16" class="before"><title>before ${b}/${bm}</title></rect>
  <text x="${126 + bw(b, bm)}" y="15" class="val">${b}/${bm}</text>
  <rect x="120" y="22" width="${bw(a, am)}" height="16" class="after"><title>after ${a}/${am}</title></rect>
  <text x="${126 + bw(a, am)}" y="35" class="val">${a}/${am} (${d >= 0 ? '+' : ''}${d})</text>
</g>`;
    })
    .join('\n');
  return `<svg role="img" aria-label="Scores before and after" width="${w}" height="${cs.length * rowH + 30}" viewBox="0 0 ${w} ${cs.length * rowH + 30}">
${bars}
<g transform="translate(120,${cs.length * rowH + 14})"><rect width="12" height="10" class="before"/><text x="16" y="9" class="val">before</text><rect x="80" width="12" height="10" class="after"/><text x="96" y="9" class="val">after</text></g>
</svg>`;
}

/** Which version of each tool ran, and for user-supplied copies every file's hash. */
function toolRows(results: BenchResult[]): string {
  if (!results.length) return '<p class="muted">No benchmark ran.</p>';
  return results
    .map((r) => {
      const meta = Object.entries(r.meta ?? {})
        .map(([k, v]) => `${esc(k)} ${esc(String(v))}`)
        .join(' · ');
      // A bundle from elsewhere may carry anything here: only arrays of files are listed.
      const files = (Array.isArray(r.inputs) ? r.inputs : [])
        .map(
          (f) =>
            `<tr><td><code>${esc(String(f.path))}</code></td><td><code>${esc(String(f.sha256))}</code></td><td>${num(f.bytes)}</td></tr>`,
        )
        .join('\n');
      return `<p><b>${esc(r.tool)}</b> <span class="muted">${esc(r.at)}</span><br><span class="muted">${meta}</span></p>${
        files
          ? `<table><thead><tr><th>file it ran</th><th>sha256</th><th>bytes</th></tr></thead><tbody>\n${files}\n</tbody></table>`
          : ''
      }`;
    })
    .join('\n');
}

/** The vulns bench before and after: the kernel line and each package behind, with the honest label. */
function vulnRows(bench: EvidenceBundle['body']['bench']): string {
  const pick = (rs: BenchResult[]) =>
    rs.find((r) => r.tool === 'vulns' && r.vulns && typeof r.vulns === 'object');
  const before = pick(bench.before);
  const after = pick(bench.after);
  if (!before && !after) return '<p class="muted">No vulnerability bench ran in this run.</p>';
  const list = (v: unknown): string[] =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  const ids = (l: string[]) =>
    l.length ? `<details><summary>${l.length} ids</summary><code>${esc(l.join(' '))}</code></details>` : '0';
  const phase = (name: string, r: BenchResult | undefined) => {
    if (!r?.vulns) return '';
    const v = r.vulns;
    const pkgs = Array.isArray(v.packages) ? v.packages : [];
    const rows = pkgs
      .map(
        (p) =>
          `<tr><td>${name}</td><td>${esc(String(p.source))}</td><td><code>${esc(String(p.installed))}</code> → <code>${esc(String(p.candidate))}</code></td><td>${p.note ? esc(String(p.note)) : ids(list(p.cves))}</td></tr>`,
      )
      .join('\n');
    return `<tr><td>${name}</td><td>kernel</td><td>${esc(kernelLine(v.kernel))}</td><td>${ids(list(v.kernel?.cves))}</td></tr>\n${rows}`;
  };
  return `<p class="muted">${esc(VULNS_BASIS)}</p>
<table><thead><tr><th>phase</th><th>package</th><th>versions</th><th>CVE ids</th></tr></thead><tbody>
${phase('before', before)}
${phase('after', after)}
</tbody></table>`;
}

/** A surface report read from a bundle that may come from elsewhere: only a well-formed one is used. */
function surfaceOf(rs: BenchResult[]): SurfaceReport | undefined {
  const r = rs.find((x) => x.tool === 'surface');
  const s = r?.surface;
  if (!s || typeof s !== 'object' || !Array.isArray(s.categories)) return undefined;
  const categories = s.categories
    .filter((c) => c && typeof c === 'object' && typeof c.id === 'string')
    .map((c) => ({
      ...c,
      count: num(c.count),
      items: Array.isArray(c.items) ? c.items.filter((x): x is string => typeof x === 'string') : [],
    }));
  return { categories, total: num(s.total) };
}

/** The attack surface before and after, per category, with what went and what came. */
function surfaceRows(bench: EvidenceBundle['body']['bench']): string {
  const before = surfaceOf(bench.before);
  const after = surfaceOf(bench.after);
  if (!before && !after) return '';
  const list = (l: string[], what: string) =>
    l.length
      ? `<details><summary>${l.length} ${what}</summary><code>${esc(l.slice(0, 300).join('\n'))}</code></details>`
      : '';
  const rows = diffSurface(before, after)
    .map(
      (d) =>
        `<tr><td>${esc(d.title)}</td><td>${d.before ?? '–'}</td><td>${d.after ?? '–'}</td><td>${list(d.removed, 'removed')}${list(d.added, 'added')}</td></tr>`,
    )
    .join('\n');
  return `<h2>Attack surface (fewer is better)</h2>
<table><thead><tr><th>category</th><th>before</th><th>after</th><th>what changed</th></tr></thead><tbody>
${rows}
</tbody></table>`;
}

/** Logins and login attempts during the steps: people's first, the app's own counted. */
/**
 * The engine's own fresh logins that failed, from the run's record: a rollback rewinds the
 * guest's journal, and a login sshd dropped may never have reached it (ux review I-7).
 */
export function refusedFreshLogins(steps: EvidenceBody['steps']): string {
  const lines = steps.flatMap((s) => {
    const probes = new Set(s.checks.filter((c) => c.probe === 'fresh-ssh-login').map((c) => c.name)).add(
      'health: fresh-ssh-login',
    );
    return s.results
      .filter((r) => !r.pass && probes.has(r.name))
      .map(
        (r) =>
          `<li>step ${s.index + 1} <code>${esc(s.id)}</code> (${esc(s.outcome)}): ${esc(r.output.slice(0, 300))}</li>`,
      );
  });
  return lines.length
    ? `<p><b>This app's own fresh login failed</b> (from the run's record; the rollback rewound the guest's journal):</p><ul>${lines.join('')}</ul>`
    : '';
}

function loginRows(l: EvidenceBody['logins'], steps: EvidenceBody['steps']): string {
  const refused = refusedFreshLogins(steps);
  if (!l || typeof l !== 'object') return `${refused}<p class="muted">This run kept no login events.</p>`;
  const all = Array.isArray(l.events) ? l.events.filter((e) => e && typeof e === 'object') : [];
  const own = all.filter((e) => e.operator === true);
  const others = all.filter((e) => e.operator !== true);
  const level = typeof l.sshdLogLevel === 'string' ? l.sshdLogLevel : undefined;
  const warn =
    level && !/^(VERBOSE|DEBUG\d?)$/i.test(level)
      ? `<p><b>sshd LogLevel ${esc(level)}</b>: failed key attempts are not logged at this level (sshd-hardening's logLevel VERBOSE logs them).</p>`
      : '';
  const rows = others
    .slice(0, 500)
    .map(
      (e) =>
        `<tr><td>${esc(String(e.time))}</td><td>${esc(String(e.action))}</td><td>${esc(String(e.outcome))}</td><td>${esc(String(e.user ?? ''))}</td><td>${esc(String(e.method ?? ''))}</td><td><code>${esc(String(e.raw ?? '').slice(0, 300))}</code></td></tr>`,
    )
    .join('\n');
  const errors = Array.isArray(l.errors)
    ? l.errors.map((x) => `<p class="muted">journal not read: ${esc(String(x))}</p>`).join('')
    : '';
  const failed = others.filter((e) => e.outcome === 'failure').length;
  return `${refused}<p>${num(l.total)} events: ${own.length} of this app's own (logins with its key, its own sudo command lines); ${others.length} others (sudo, sessions, other logins and attempts), ${failed} of them failed.</p>${warn}${errors}${
    rows
      ? `<table><thead><tr><th>time</th><th>action</th><th>outcome</th><th>user</th><th>method</th><th>line</th></tr></thead><tbody>\n${rows}\n</tbody></table>`
      : ''
  }`;
}

function claimRows(claims: StepClaim[]): string {
  if (!claims.length)
    return '<p class="muted">No step declared benchmark ids that a bench of this run measured.</p>';
  const rows = claims
    .map(
      (c) =>
        `<tr class="${c.regressions.length ? 'regression' : ''}"><td><code>${esc(c.step)}</code>${c.outcome && c.outcome !== 'validated' ? ` <span class="muted">(${esc(c.outcome)})</span>` : ''}</td><td>${esc(c.tool)}</td><td>${c.claimed.map((id) => `<code>${esc(id)}</code>`).join(' ')}</td>
<td>${c.fixed.length}${c.regressions.length ? ` · <b>${c.regressions.length} regressions</b>` : ''}</td><td>${c.unchanged.length}</td><td>${c.newlyMeasured.map((id) => `<code>${esc(id)}</code>`).join(' ') || '—'}</td><td>${c.unmeasured.length ? c.unmeasured.map((id) => `<code>${esc(id)}</code>`).join(' ') : '—'}</td></tr>`,
    )
    .join('\n');
  return `<table><thead><tr><th>step</th><th>tool</th><th>claims</th><th>fixed</th><th>unchanged</th><th>measured only after</th><th>not measured</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

/** Values where standards disagree: which ones each chosen value satisfies. */
function standardRows(steps: EvidenceBundle['body']['steps']): string {
  const rows = steps.flatMap((s) =>
    (s.standards ?? []).map(
      (v) =>
        `<tr><td><code>${esc(s.id)}</code></td><td><code>${esc(v.param)} = ${esc(String(v.value))}</code></td><td>${v.satisfies.map(esc).join('<br>') || '—'}</td><td>${v.contradicts.length ? `<b>${v.contradicts.map(esc).join('<br>')}</b>` : '—'}</td></tr>`,
    ),
  );
  return rows.length
    ? `<table><thead><tr><th>step</th><th>value</th><th>satisfies</th><th>does not satisfy</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`
    : '<p class="muted">No value in this run is one that standards disagree on.</p>';
}

/** Declared exceptions, and what the named tests showed after the last step (failing by design). */
function exceptionRows(body: EvidenceBundle['body']): string {
  const ex = body.recipe.exceptions ?? [];
  if (!ex.length) return '<p class="muted">The recipe declares no exceptions.</p>';
  const resultOf = (id: string) =>
    body.bench.after.flatMap((r) => r.tests.filter((t) => t.id === id).map((t) => `${r.tool}: ${t.result}`));
  const rows = ex.map(
    (e) =>
      `<tr><td><code>${esc(e.id)}</code>${e.step ? `<br><span class="muted">${esc(e.step)}</span>` : ''}</td><td>${esc(e.reason)}</td><td>${(e.tests ?? []).map((t) => `<code>${esc(t)}</code> ${esc(resultOf(t).join(', ') || 'not measured')}`).join('<br>') || '—'}</td></tr>`,
  );
  return `<table><thead><tr><th>exception</th><th>reason</th><th>tests it leaves failing (after)</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

export function toHtml(b: EvidenceBundle): string {
  const { body } = b;
  const cs = body.bench.comparisons;
  const flips = cs.flatMap((c) => [
    ...c.fixed.map((f) => ({ ...f, tool: c.tool, kind: 'fixed', note: 'fixed' })),
    ...c.regressions.map((f) => ({ ...f, tool: c.tool, kind: 'regression', note: '' })),
    ...c.accepted.map((f) => ({
      ...f,
      tool: c.tool,
      kind: 'accepted',
      note: `accepted: exception ${f.exception} — ${f.reason}`,
    })),
  ]);
  const steps = body.steps
    .map(
      (
        s,
      ) => `<tr class="${esc(s.outcome)}"><td>${s.index + 1}</td><td><code>${esc(s.id)}</code><br><span class="muted">${esc(s.title)}</span></td>
<td class="outcome">${esc(s.outcome === 'rolled-back' ? 'ROLLED BACK' : s.outcome)}${s.reason ? `<br><span class="muted">${esc(s.reason.slice(0, 300))}</span>` : ''}</td>
<td>${s.results.filter((r) => r.pass).length}/${s.results.length}${s.persistent === undefined ? '' : s.persistent ? ' · persists' : ' · <b>lost at reboot</b>'}</td>
<td>${(s.durationMs / 1000).toFixed(1)} s</td><td><code>${esc(s.scriptSha256.slice(0, 12))}</code></td></tr>`,
    )
    .join('\n');
  const flipRows = flips
    .map(
      (f) =>
        `<tr class="${f.kind}"><td>${esc(f.tool)}</td><td><code>${esc(f.id)}</code>${f.title ? ` <span class="muted">${esc(f.title)}</span>` : ''}</td><td>${esc(f.from)} → ${esc(f.to)}</td><td>${f.kind === 'regression' ? '<b>regression</b>' : esc(f.note)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hardening Lab report — ${esc(body.recipe.id)} (${esc(body.run.id)})</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:980px;padding:0 1rem;color:#1d2230;background:#fff}
h1{font-size:1.5rem;margin:0 0 .25rem} h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #dde;padding-bottom:.25rem}
table{border-collapse:collapse;width:100%} td,th{border-bottom:1px solid #eef;padding:.35rem .5rem;text-align:left;vertical-align:top}
.muted{color:#667} code{font-size:.9em} .validated .outcome{color:#137333;font-weight:600} .rolled-back .outcome{color:#b3261e;font-weight:700}
.regression{background:#fde8e6} .accepted{background:#fff8e1} .fixed td:nth-child(3){color:#137333}
svg .before{fill:#9aa4b8} svg .after{fill:#2e7d32} svg text{font:12px system-ui,sans-serif;fill:#1d2230}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:1rem;background:${body.run.status === 'validated' ? '#e6f4ea;color:#137333' : '#fde8e6;color:#b3261e'};font-weight:600}
</style></head><body>
<h1>${esc(body.recipe.id)} <span class="badge">${esc(body.run.status)}</span></h1>
<div class="facts">
<span class="muted">run</span><span><code>${esc(body.run.id)}</code> on machine ${esc(body.run.machine)}, ${esc(body.run.startedAt)}</span>
<span class="muted">base image</span><span>${esc(body.base.image)} <code>${esc(body.base.sha256.slice(0, 16))}</code></span>
<span class="muted">kernel</span><span>${esc(body.kernel.before)} → ${esc(body.kernel.after)}</span>
<span class="muted">after final reboot</span><span>${body.run.persistent === undefined ? 'not rebooted' : body.run.persistent ? 'every check still holds' : '<b>some checks no longer hold</b>'}</span>
<span class="muted">app</span><span>${esc(body.app.name)} ${esc(body.app.version)}</span>
<span class="muted">evidence root</span><span><code>${esc(b.root)}</code></span>
</div>
<h2>Scores before and after</h2>
${chart(cs)}
<h2>Host vulnerabilities (fixable CVEs)</h2>
${vulnRows(body.bench)}
${surfaceRows(body.bench)}
<h2>Steps</h2>
<table><thead><tr><th>#</th><th>step</th><th>outcome</th><th>checks</th><th>time</th><th>script</th></tr></thead><tbody>
${steps}
</tbody></table>
<h2>What each step claimed</h2>
${claimRows(
  stepClaims(
    body.steps.map((s) => ({
      step: s.id,
      outcome: s.outcome,
      text: claimText(s.script, s.checks),
      ...(s.benchmarks ? { benchmarks: s.benchmarks } : {}),
    })),
    body.bench,
  ),
)}
<h2>Where standards disagree</h2>
${standardRows(body.steps)}
<h2>Declared exceptions</h2>
${exceptionRows(body)}
<h2>Logins during the run</h2>
${loginRows(body.logins, body.steps)}
<h2>Tools that ran (after the last step)</h2>
${toolRows(body.bench.after)}
<h2>Flipped tests (${flips.filter((f) => f.kind === 'fixed').length} fixed, ${flips.filter((f) => f.kind === 'regression').length} regressions, ${flips.filter((f) => f.kind === 'accepted').length} accepted by exceptions)</h2>
${flips.length ? `<table><thead><tr><th>tool</th><th>test</th><th>change</th><th></th></tr></thead><tbody>\n${flipRows}\n</tbody></table>` : '<p class="muted">No test changed result.</p>'}
</body></html>
`;
}
