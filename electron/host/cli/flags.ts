/** Small parsers the command files share: exec's argument rule, whole-number flags, a team's labs. */
import path from 'node:path';
import { HlabError } from '../../../shared/errors.js';
import { shQuote } from '../../../shared/shell.js';

/** One argument is a shell command line (as with ssh); several are each kept whole (as with docker exec). */
export function execCommand(argv: string[]): string {
  return argv.length === 1 ? (argv[0] as string) : argv.map(shQuote).join(' ');
}

/** HLAB_LABS_DIR: a team's own step library instead of the bundled labs/ (as the app uses it). */
export function teamLabs(): string | undefined {
  return process.env.HLAB_LABS_DIR ? path.resolve(process.env.HLAB_LABS_DIR) : undefined;
}

export function parseIntFlag(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new HlabError('bad-request', `--${flag} must be a whole number, got "${String(v)}".`);
  return n;
}
