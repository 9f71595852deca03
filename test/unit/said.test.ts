/** Error messages end with what the failed command said, never with an empty colon (ux review I-2). */
import { describe, expect, it } from 'vitest';
import { applyFailure } from '../../electron/engine/run.js';
import { whatItSaid } from '../../shared/said.js';

describe('what a failed command said', () => {
  it('takes the last lines of stderr, else of stdout, else says it printed nothing', () => {
    expect(whatItSaid('one\ntwo\n\nthree\nfour\n')).toBe('two | three | four');
    expect(whatItSaid('  \n', 'Lynis 3.0.8\nno report written\n')).toBe(
      '(on stdout) Lynis 3.0.8 | no report written',
    );
    expect(whatItSaid('', '')).toBe('it printed nothing');
  });
  it('names the signal behind an exit code above 128', () => {
    expect(applyFailure(141, '')).toBe(
      'apply exited 141 (killed by SIGPIPE: a reader of a pipe stopped early): it printed nothing',
    );
    expect(applyFailure(1, 'E: Unable to locate package x\n')).toBe(
      'apply exited 1: E: Unable to locate package x',
    );
  });
});

describe('the newest line of streamed guest output', () => {
  it('keeps an unfinished line for the next chunk, bounds it, and shows no control characters', async () => {
    const { newestLine } = await import('../../shared/guest-text.js');
    let r = newestLine('', '[+] Boot and services\n[+] Ker');
    expect(r).toEqual({ line: '[+] Boot and services', carry: '[+] Ker' });
    r = newestLine(r.carry, 'nel\n  - Checking \x1b]52;c;aGk=\x07 modules\r\n');
    expect(r.line).toBe('- Checking ?]52;c;aGk=? modules');
    expect(newestLine('', 'no newline yet').line).toBeUndefined();
    expect(newestLine('', `${'x'.repeat(10_000)}\n`, 160).line).toHaveLength(160);
    expect(newestLine('', 'y'.repeat(100_000)).carry.length).toBeLessThanOrEqual(640);
  });
});
