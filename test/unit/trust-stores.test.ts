/** Local stores that must fail closed or stay whole: pinned host keys (L6) and the run journal (L5). */
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  statSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HlabError } from '../../shared/errors.js';
import { Journal, readEvents } from '../../electron/engine/journal.js';
import { KnownHosts } from '../../electron/ssh/known-hosts.js';
import { privateDir } from '../../electron/core/context.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'hlab-stores-'));
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as HlabError).code;
  }
  return 'no error';
};

describe('pinned host keys', () => {
  it('a corrupt store refuses to connect instead of re-pinning any key (L6)', () => {
    const file = path.join(tmp(), 'known_hosts.json');
    const kh = new KnownHosts(file);
    kh.check('vm1', Buffer.from('key-one'));
    expect(code(() => kh.check('vm1', Buffer.from('key-two')))).toBe('host-key-changed');
    writeFileSync(file, '{"vm1": "SHA256:abc"'); // torn write
    expect(code(() => kh.check('vm1', Buffer.from('key-two')))).toBe('host-key-changed');
    writeFileSync(file, '[1,2]');
    expect(code(() => kh.check('vm1', Buffer.from('key-two')))).toBe('host-key-changed');
    expect(readFileSync(file, 'utf8')).toBe('[1,2]'); // nothing was re-pinned
  });

  it('machines named after Object members pin and connect like any other (L6)', () => {
    const kh = new KnownHosts(path.join(tmp(), 'known_hosts.json'));
    for (const name of ['constructor', 'toString', 'valueOf', '__proto__']) {
      kh.check(name, Buffer.from(`key-${name}`));
      expect(code(() => kh.check(name, Buffer.from(`key-${name}`)))).toBe('no error');
      expect(code(() => kh.check(name, Buffer.from('other')))).toBe('host-key-changed');
      kh.forget(name);
      expect(code(() => kh.check(name, Buffer.from('other')))).toBe('no error');
    }
  });
});

describe('pins from several processes at once', () => {
  it('none is lost: the read-modify-write runs under a lock (L6)', async () => {
    const file = path.join(tmp(), 'known_hosts.json');
    const mod = pathToFileURL(path.join(__dirname, '../../electron/ssh/known-hosts.ts')).href;
    const script = `const { KnownHosts } = await import(${JSON.stringify(mod)});
      const kh = new KnownHosts(process.argv[1]);
      for (let i = 0; i < 40; i++) kh.check(process.argv[2] + '-' + i, Buffer.from(process.argv[2] + i));`;
    const procs = ['a', 'b', 'c', 'd'].map(
      (p) =>
        new Promise<number | null>((resolve) =>
          spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, file, p], {
            stdio: 'inherit',
          }).on('exit', resolve),
        ),
    );
    expect(await Promise.all(procs)).toEqual([0, 0, 0, 0]);
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')) as object)).toHaveLength(160);
    expect(existsSync(`${file}.lock`)).toBe(false);
  }, 60_000);
});

describe('run journal', () => {
  it('recovery appends after a torn last line instead of merging into it (L5)', () => {
    const runs = tmp();
    const id = '20261123T000000-torn-abcdef';
    const j = Journal.create(runs, id);
    j.append({ type: 'run-started', runId: id, recipe: 'torn', machine: 'm', steps: ['a'], pid: 1 });
    j.close();
    appendFileSync(
      path.join(runs, id, 'journal.jsonl'),
      '{"type":"apply-output","index":0,"stream":"stdout","te',
    );
    const again = Journal.reopen(runs, id);
    again.append({ type: 'rollback-started', index: 0, reason: 'recovering', snapshot: 's' });
    again.close();
    expect(readEvents(runs, id).map((e) => e.type)).toEqual(['run-started', 'rollback-started']);
  });
});

describe('the data folder', () => {
  it('is private to its owner, and so are journals (L10)', () => {
    const home = path.join(tmp(), 'home');
    mkdirSync(home, { mode: 0o755 });
    chmodSync(home, 0o755);
    privateDir(home);
    expect(statSync(home).mode & 0o777).toBe(0o700);
    const runs = path.join(home, 'runs');
    const j = Journal.create(runs, '20261123T000000-m-abcdef');
    j.close();
    expect(statSync(path.join(runs, '20261123T000000-m-abcdef')).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(runs, '20261123T000000-m-abcdef', 'journal.jsonl')).mode & 0o777).toBe(0o600);
  });
});
