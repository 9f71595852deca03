/** Checks of request parameters that every handler file shares: machine names and host paths. */
import path from 'node:path';
import { HlabError } from '../../../shared/errors.js';
import { nameProblem } from '../../../shared/names.js';
import type { OpContext } from '../dispatcher.js';

/** A path of the host, from the local CLI only: the window and the web page never name host files. */
export function hostPath(op: Pick<OpContext, 'client'>, v: unknown, field: string): string {
  if (!op.client.hostPaths)
    throw new HlabError(
      'permission',
      `${field} names a file or folder of the host, which only the hlab CLI may do.`,
    );
  if (typeof v !== 'string' || !v.trim() || v.includes('\0') || v.length > 4096)
    throw new HlabError('bad-request', `${field} must be a path (got ${JSON.stringify(v)}).`);
  return path.resolve(v);
}

export function requireName(v: unknown, field: string): string {
  const problem = nameProblem(v, field);
  // The field travels with the error, so a form can put the message next to the field.
  if (problem !== undefined) throw new HlabError('bad-request', problem, { field });
  return v as string;
}

/** Who a call came from, as a busy machine names its holder. */
export function clientName(op: Pick<OpContext, 'client'>): string {
  const p = op.client.principal;
  if (p) return p.role === 'trainer' ? 'the class trainer' : `seat ${p.seat}`;
  return op.client.hostPaths ? 'the CLI' : 'the app';
}
