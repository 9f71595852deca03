/**
 * Colour for a person at a terminal, never for a pipe or a file: on only when the stream is a
 * TTY, TERM is not "dumb" and NO_COLOR (https://no-color.org) is unset or empty.
 */
export type Tone = 'ok' | 'warn' | 'bad' | 'dim';
export type Paint = (text: string, tone: Tone) => string;

const SGR: Record<Tone, string> = { ok: '32', warn: '33', bad: '31', dim: '2' };

export const plain: Paint = (text) => text;
const ansi: Paint = (text, tone) => `\x1b[${SGR[tone]}m${text}\x1b[0m`;

export function colourWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export const painter = (on: boolean): Paint => (on ? ansi : plain);
