/** One word for a POSIX shell (and g_shell_parse_argv, which reads sh quoting): always single-quoted. */
export const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
