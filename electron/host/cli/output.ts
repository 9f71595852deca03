/** Human and machine output for the CLI: tables, JSON, progress lines on stderr. */
import type { ApiError } from '../../../shared/errors.js';
import type { Progress } from '../../../shared/types.js';
import { plain, type Paint } from './colour.js';

/** A column's heading: "startedAt" reads "STARTED AT", not "STARTEDAT". */
export const header = (column: string) => column.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();

export function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((r) =>
    columns.map((c) => (r[c] === undefined || r[c] === null ? '-' : String(r[c]))),
  );
  const widths = columns.map((c, i) =>
    Math.max(header(c).length, ...cells.map((row) => (row[i] ?? '').length)),
  );
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(columns.map(header)), ...cells.map(line)].join('\n');
}

export function formatProgress(p: Progress): string {
  if (p.max < 0) return `… ${p.description}`;
  const pct = p.max === 0 ? 100 : Math.round((p.current / p.max) * 100);
  return `[${String(pct).padStart(3)}%] ${p.description}`;
}

export function formatError(err: ApiError, paint: Paint = plain): string {
  const lines = [`hlab: ${paint(`error (${err.code})`, 'bad')}: ${err.message}`];
  const hint = err.details?.hint;
  if (typeof hint === 'string') lines.push(`hint: ${hint}`);
  const tail = err.details?.serialTail;
  if (typeof tail === 'string' && tail.trim()) lines.push('last serial console lines:', tail.trimEnd());
  return lines.join('\n');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
