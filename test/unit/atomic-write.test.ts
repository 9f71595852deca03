import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../electron/platform/atomic-write.js';

describe('replacing a file whole', () => {
  it('writes with the mode asked for, makes the folder, and leaves no temporary file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-atomic-'));
    const file = path.join(dir, 'sub', 'pins.json');
    writeFileAtomic(file, 'one', { mode: 0o600 });
    writeFileAtomic(file, 'two', { mode: 0o600 });
    expect(readFileSync(file, 'utf8')).toBe('two');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(path.dirname(file))).toEqual(['pins.json']);
  });

  it('a write that fails leaves the old content and no temporary file behind', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-atomic-'));
    const target = path.join(dir, 'a-folder');
    mkdirSync(target);
    expect(() => writeFileAtomic(target, 'x')).toThrow();
    expect(readdirSync(dir)).toEqual(['a-folder']);
  });
});
