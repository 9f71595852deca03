/**
 * What a failed command said, for the end of an error message: its last lines of stderr, else of
 * stdout, else that it printed nothing — never an empty colon (ux review I-2).
 */
export function whatItSaid(stderr: string, stdout = '', lines = 3): string {
  const last = (text: string) =>
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .slice(-lines)
      .join(' | ');
  const err = last(stderr);
  if (err) return err;
  const out = last(stdout);
  return out ? `(on stdout) ${out}` : 'it printed nothing';
}
