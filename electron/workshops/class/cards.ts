/**
 * The printable seat cards: per seat its link as text and as a QR code, and the certificate
 * fingerprint to compare. The links carry their tokens, so this page exists only in the answer to
 * the trainer's start (or a new link) — the server keeps hashes.
 */
import { renderSVG } from 'uqr';
import { escapeHtml } from '../../../shared/html.js';
import type { ClassLinks } from '../../../shared/class.js';

export function seatCardsHtml(title: string, fingerprint: string, links: ClassLinks['seats']): string {
  const cards = links
    .map(
      (l) => `<section class="card">
<h2>${escapeHtml(title)} — ${escapeHtml(l.seat)}</h2>
<div class="qr">${renderSVG(l.url, { border: 2 })}</div>
<p>Open this link in a browser (or scan the code):</p>
<p class="link">${escapeHtml(l.url)}</p>
<p>Your browser will warn about the certificate unless your trainer installed it. Accept it only if
its SHA-256 fingerprint is:</p>
<p class="fp">${escapeHtml(fingerprint)}</p>
<p class="small">The link works once, on one browser. Lost it? Ask your trainer for a new one.</p>
</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Seat cards — ${escapeHtml(title)}</title>
<style>
body{font-family:sans-serif;margin:0}
.card{page-break-after:always;padding:2em;max-width:40em}
.qr svg{width:14em;height:14em}
.link,.fp{font-family:monospace;word-break:break-all;font-size:1.05em}
.small{color:#555;font-size:.9em}
</style></head>
<body>
${cards}
</body></html>
`;
}
