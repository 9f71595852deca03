/** Machine and snapshot names end up in file names and command lines: keep them tame. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/i;

/** Why `v` is not a usable name, in words for the field it came from; undefined when it is. */
export function nameProblem(v: unknown, field: string): string | undefined {
  if (typeof v === 'string' && NAME_PATTERN.test(v)) return undefined;
  if (typeof v !== 'string' || v === '') return `${field} is required.`;
  if (v.length > 63) return `${field} has at most 63 characters (got ${v.length}).`;
  return `${field} must be a name of letters, digits, ".", "_" or "-", starting with a letter or digit (got ${JSON.stringify(v)}).`;
}
