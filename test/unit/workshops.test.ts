/** Workshops without a VM: the loader's errors, progress transitions, start's order, trainer exports and archives. */
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssue } from '../../shared/steps.js';
import { LABS_DIR } from '../../electron/steps/load.js';
import { loadWorkshop, loadWorkshops } from '../../electron/steps/workshop-load.js';
import { checkArchive, importWorkshop, packWorkshop } from '../../electron/workshops/archive.js';
import {
  newProgress,
  parseProgress,
  recordCheck,
  recordHint,
  recordReset,
  recordSolve,
} from '../../electron/workshops/progress.js';
import {
  failLines,
  WorkshopSessions,
  type WorkshopContext,
  type WorkshopOp,
} from '../../electron/workshops/session.js';
import { HlabError } from '../../shared/errors.js';
import { classHtml, classTable, progressHtml } from '../../electron/workshops/trainer.js';

const GOOD = `id: demo
title: Demo
audience: testers
duration: 10
base: debian-12
challenges:
  - id: one
    title: First
    page: one.md
    hints: [look]
    check: test -e /tmp/one
    solve: touch /tmp/one
  - id: two
    title: Second
    page: two.md
    check: test -e /tmp/two
`;

function folder(
  yaml: string,
  pages: Record<string, string> = { 'one.md': '# One', 'two.md': '# Two' },
): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'hlab-ws-'));
  const dir = path.join(root, 'demo');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'workshop.yaml'), yaml);
  for (const [n, t] of Object.entries(pages)) writeFileSync(path.join(dir, n), t);
  return dir;
}

const issuesOf = (yaml: string, pages?: Record<string, string>) =>
  loadWorkshop(path.join(folder(yaml, pages), 'workshop.yaml')).issues.map(formatIssue);

describe('workshop files', () => {
  it('the built-in workshops load, at least six, each challenge with a page, a check and a solve', () => {
    const { workshops, issues } = loadWorkshops(path.join(LABS_DIR, 'workshops'), 'built-in');
    expect(issues.map(formatIssue)).toEqual([]);
    expect(workshops.length).toBeGreaterThanOrEqual(6);
    for (const w of workshops)
      for (const c of w.challenges) {
        expect(c.page.length, `${w.id}/${c.id}`).toBeGreaterThan(100);
        expect(c.solve, `${w.id}/${c.id} has a solve (the test proves its check)`).toBeTruthy();
      }
  });

  it('loads a good file', () => {
    const r = loadWorkshop(path.join(folder(GOOD), 'workshop.yaml'));
    expect(r.issues).toEqual([]);
    expect(r.workshop?.challenges.map((c) => [c.id, c.page, c.hints.length])).toEqual([
      ['one', '# One', 1],
      ['two', '# Two', 0],
    ]);
    expect(r.workshop?.setupTimeoutSeconds).toBe(600);
  });

  it('names file, line and field for what is wrong', () => {
    const bad = issuesOf(
      GOOD.replace('duration: 10', 'duration: ten').replace('    check: test -e /tmp/two\n', '    chek: x\n'),
    );
    expect(bad).toEqual([
      expect.stringMatching(/demo\/workshop\.yaml:4: duration: expected integer$/),
      expect.stringMatching(/workshop\.yaml:16: challenges\[1\]\.chek: unknown field/),
      expect.stringMatching(/workshop\.yaml:13: challenges\[1\]\.check: required field is missing/),
    ]);
  });

  it('refuses pages outside the folder, missing pages and duplicate challenge ids', () => {
    expect(issuesOf(GOOD.replace('page: one.md', 'page: ../../etc/passwd'))).toEqual([
      expect.stringMatching(/:9: challenges\[0\]\.page: expected a \.md file name in the workshop folder/),
    ]);
    expect(issuesOf(GOOD, { 'one.md': '# One' })).toEqual([
      expect.stringMatching(/:15: challenges\[1\]\.page: cannot read two\.md: no such file$/),
    ]);
    expect(issuesOf(GOOD.replace('  - id: two', '  - id: one'))).toEqual([
      expect.stringMatching(/:13: challenges\[1\]\.id: "one" is used by an earlier challenge/),
    ]);
    expect(issuesOf(GOOD.replace('id: demo', 'id: other'))).toEqual([
      expect.stringMatching(/:1: id: must match the folder name \("demo"\)/),
    ]);
  });
});

describe('progress', () => {
  const w = loadWorkshop(path.join(folder(GOOD), 'workshop.yaml')).workshop!;
  const t0 = new Date('2026-01-01T10:00:00Z');
  const at = (min: number) => new Date(t0.getTime() + min * 60_000);

  it('a failed check counts an attempt and keeps the FAIL: lines; a pass opens the next challenge', () => {
    let p = newProgress(w, 'ana', 'ws-demo', t0);
    p = recordCheck(p, false, ['nope'], at(1));
    p = recordHint(p, at(2));
    p = recordReset(p, at(3));
    expect(p.challenges[0]).toMatchObject({ attempts: 1, hintsShown: 1, resets: 1, status: 'current' });
    p = recordCheck(p, true, [], at(4));
    expect(p.current).toBe(1);
    expect(p.challenges.map((c) => c.status)).toEqual(['passed', 'current']);
    p = recordSolve(p, at(5));
    p = recordCheck(p, true, [], at(6));
    expect(p.finishedAt).toBe(at(6).toISOString());
    expect(() => recordCheck(p, true, [], at(7))).toThrow(/has passed/);
    expect(parseProgress(JSON.stringify(p), 'x')).toEqual(p);
  });

  it('only lines starting FAIL: reach the trainee', () => {
    expect(failLines('ok\nFAIL: one\n FAIL: not this\nFAIL:two')).toEqual(['one', 'two']);
  });

  it('refuses files that are not progress records', () => {
    expect(() => parseProgress('{', 'a.json')).toThrow(/a\.json: not JSON/);
    expect(() => parseProgress('{"format":"x"}', 'a.json')).toThrow(/a\.json: format/);
    const p = newProgress(w, 'ana', 'ws-demo', t0);
    expect(() => parseProgress(JSON.stringify({ ...p, current: 9 }), 'b.json')).toThrow(/b\.json: current/);
  });

  it('merges exports into a class table (newest per trainee) and escapes every value in HTML', () => {
    const evil = '<img src=x onerror=alert(1)>';
    let a = newProgress(w, 'ana', 'm1', t0);
    a = recordCheck(a, true, [], at(10));
    const a2 = recordCheck(a, false, ['x'], at(12));
    let b = newProgress(w, evil, 'm2', t0);
    b = recordSolve(b, at(3));
    b = recordCheck(b, true, [], at(5));
    const rows = classTable([
      { name: 'a.json', text: JSON.stringify(a) },
      { name: 'a2.json', text: JSON.stringify(a2) },
      { name: 'b.json', text: JSON.stringify(b) },
    ]);
    expect(rows.map((r) => [r.trainee, r.passed, r.attempts, r.perChallenge.one])).toEqual([
      [evil, 1, 1, 'solved'],
      ['ana', 1, 2, 'passed'],
    ]);
    expect(rows[1]?.minutes).toBe(12);
    const html = classHtml(rows) + progressHtml(b);
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(() => classTable([{ name: 'c.json', text: '[]' }])).toThrow(/c\.json/);
  });
});

describe('workshop archives', () => {
  const dir = folder(GOOD);
  const w = loadWorkshop(path.join(dir, 'workshop.yaml')).workshop!;

  it('pack and import round-trip; import refuses built-in ids and silent replacement', () => {
    const { content, filename } = packWorkshop(w);
    expect(filename).toBe('demo.hlab-workshop.json');
    const target = mkdtempSync(path.join(os.tmpdir(), 'hlab-wsimp-'));
    expect(importWorkshop(content, filename, target, { builtInIds: new Set() })).toBe('demo');
    expect(readFileSync(path.join(target, 'demo', 'one.md'), 'utf8')).toBe('# One');
    expect(() => importWorkshop(content, filename, target, { builtInIds: new Set() })).toThrow(/--replace/);
    expect(importWorkshop(content, filename, target, { builtInIds: new Set(), replace: true })).toBe('demo');
    expect(() => importWorkshop(content, filename, target, { builtInIds: new Set(['demo']) })).toThrow(
      /built-in/,
    );
  });

  it('packs workshop.yaml and the pages it names, read like lab files: a stray file or a link to a host file stays out (W1)', () => {
    const d = folder(GOOD);
    writeFileSync(path.join(d, 'zz-notes.md'), 'team notes');
    symlinkSync('/etc/passwd', path.join(d, 'passwd.md'));
    const ws = loadWorkshop(path.join(d, 'workshop.yaml')).workshop!;
    const files = (JSON.parse(packWorkshop(ws).content) as { files: Record<string, string> }).files;
    expect(Object.keys(files).sort()).toEqual(['one.md', 'two.md', 'workshop.yaml']);
    // A page that is itself a link out of the labs folder is refused, naming it.
    rmSync(path.join(d, 'two.md'));
    symlinkSync('/etc/passwd', path.join(d, 'two.md'));
    expect(() => packWorkshop(ws)).toThrow(/two\.md: cannot pack: a symlink out of the labs folder/);
  });

  it('refuses hostile or broken archives before writing anything', () => {
    const base = JSON.parse(packWorkshop(w).content) as { files: Record<string, string> };
    const arch = (patch: object) => JSON.stringify({ ...base, ...patch });
    const target = mkdtempSync(path.join(os.tmpdir(), 'hlab-wsbad-'));
    const tries: Array<[string, RegExp]> = [
      ['not json', /not JSON/],
      [arch({ format: 'zip' }), /format/],
      [arch({ id: '../x' }), /id:/],
      [arch({ files: { ...base.files, '../../evil.md': 'x' } }), /not a plain/],
      [arch({ files: { ...base.files, 'run.sh': 'x' } }), /not a plain/],
      [arch({ files: { 'one.md': 'x' } }), /no workshop\.yaml/],
      [
        arch({ files: { ...base.files, 'workshop.yaml': GOOD.replace('duration: 10', 'duration: -1') } }),
        /demo\/workshop\.yaml:4: duration: must be at least 1/,
      ],
      [arch({ files: { ...base.files, 'two.md': undefined } }), /two\.md: no such file/],
      // W2: a file the loader would refuse, and two names that one case-insensitive disk sees as one.
      [
        arch({ files: { ...base.files, 'big.md': 'x'.repeat(1024 * 1024 + 1) } }),
        /big\.md: 1048577 bytes, over/,
      ],
      [arch({ files: { ...base.files, 'WORKSHOP.yaml': 'x: 1' } }), /differs from it only in case/],
    ];
    for (const [text, msg] of tries) {
      expect(() => checkArchive(text, 'a.json')).toThrow(msg);
      expect(() => importWorkshop(text, 'a.json', target, { builtInIds: new Set() })).toThrow();
    }
    expect(existsSync(path.join(target, 'demo'))).toBe(false);
  });
});

/**
 * Start's order without a VM (the real one is in test/integration/workshops-vm.test.ts): the
 * setup, then a fresh login, then the snapshot; a setup that breaks SSH fails the start.
 */
describe('workshop start', () => {
  const w = loadWorkshop(
    path.join(
      folder(GOOD.replace('challenges:', 'setup: systemctl reload ssh\nchallenges:')),
      'workshop.yaml',
    ),
  ).workshop!;
  const op: WorkshopOp = { signal: new AbortController().signal, progress: () => {}, log: () => {} };

  function fakeContext(login: () => Promise<void>) {
    const calls: string[] = [];
    const ctx = {
      library: { get: () => w },
      progress: { get: () => undefined, save: () => calls.push('progress saved') },
      changed: () => {},
      createMachine: async () => void calls.push('created'),
      knownHosts: { forget: (m: string) => calls.push(`forgot ${m}`) },
      machines: {
        exists: () => false,
        executor: () => ({
          runScript: async () => (calls.push('setup'), { exitCode: 0, stdout: '', stderr: '' }),
          reset: () => {},
        }),
        waitReady: async (_m: string, o: { proveSudo?: boolean }) => {
          calls.push(`fresh login${o.proveSudo ? ' + sudo' : ''}`);
          await login();
        },
        owner: () => ({
          snapshots: {
            list: async () => [],
            take: async (_m: string, s: string) => calls.push(`snapshot ${s}`),
          },
          destroy: async (m: string) => calls.push(`destroyed ${m}`),
        }),
      },
    };
    return { calls, sessions: new WorkshopSessions(ctx as unknown as WorkshopContext) };
  }

  it('proves a fresh login with sudo after the setup, before the snapshot Reset returns to', async () => {
    const { calls, sessions } = fakeContext(async () => {});
    await sessions.start({ workshop: 'demo', trainee: 'ana', machine: 'ws1' }, op);
    expect(calls).toEqual([
      'created',
      'setup',
      'fresh login + sudo',
      'snapshot ws-start-1',
      'progress saved',
    ]);
  });

  it('a setup that breaks SSH fails the start, naming workshop and machine, and leaves no machine', async () => {
    const { calls, sessions } = fakeContext(async () => {
      throw new HlabError('ssh-auth', 'sshd refused the key of machine "ws1".', { machine: 'ws1' });
    });
    const err = await sessions
      .start({ workshop: 'demo', trainee: 'ana', machine: 'ws1' }, op)
      .catch((e) => e);
    expect(err).toBeInstanceOf(HlabError);
    expect(err).toMatchObject({ code: 'ssh-auth' });
    expect((err as Error).message).toBe(
      'After the setup of workshop "demo", machine "ws1" does not take a fresh SSH login with sudo: sshd refused the key of machine "ws1".',
    );
    expect(calls).toEqual(['created', 'setup', 'fresh login + sudo', 'destroyed ws1', 'forgot ws1']);
  });
});
