import { describe, expect, it } from 'vitest';
import { chunkInput, INPUT_CHUNK } from './session';

describe('terminal input chunking', () => {
  it('keeps small input whole and splits a large paste into frame-sized pieces, in order', () => {
    expect(chunkInput('ls\r')).toEqual(['ls\r']);
    expect(chunkInput('')).toEqual([]);
    const paste = 'x'.repeat(INPUT_CHUNK * 2 + 5);
    const pieces = chunkInput(paste);
    expect(pieces.map((p) => p.length)).toEqual([INPUT_CHUNK, INPUT_CHUNK, 5]);
    expect(pieces.join('')).toBe(paste);
  });

  it('never splits a surrogate pair', () => {
    const pieces = chunkInput('ab😀cd', 3);
    expect(pieces.join('')).toBe('ab😀cd');
    for (const p of pieces) expect(p).not.toMatch(/^[\udc00-\udfff]|[\ud800-\udbff]$/);
  });

  it('a 9 MiB paste (over the host frame limit) goes out in pieces that each fit a frame', () => {
    const paste = '\u0001'.repeat(9 * 1024 * 1024);
    for (const p of chunkInput(paste))
      expect(new TextEncoder().encode(JSON.stringify({ data: p })).length).toBeLessThan(8 * 1024 * 1024);
  });
});
