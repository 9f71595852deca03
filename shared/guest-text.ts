/**
 * Text that came from a guest (journal fields, command output shown as a line) is shown to people
 * and sent to SIEMs only without control characters: ESC and OSC sequences could rewrite the
 * operator's terminal or set its clipboard, and C1 controls act as ESC on some terminals.
 */
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** C0 and C1 controls, DEL, and the bidi overrides that reorder what a line seems to say, as "?". */
export const stripControls = (s: string): string => s.replace(CONTROLS, '?');

/**
 * The newest non-empty line of streamed guest output, to show beside a progress bar: at most
 * `max` characters, controls made visible. `carry` is the unfinished line from the chunk before.
 */
export function newestLine(carry: string, chunk: string, max = 160): { line?: string; carry: string } {
  const text = (carry + chunk).slice(-4096);
  const parts = text.split('\n');
  const rest = parts.pop() ?? '';
  const line = parts
    .map((l) => l.replace(/\r/g, '').trim())
    .filter(Boolean)
    .at(-1);
  return { ...(line ? { line: stripControls(line).slice(0, max) } : {}), carry: rest.slice(-max * 4) };
}
