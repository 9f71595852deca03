import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../electron/host/cli.js';
import { execCommand } from '../../electron/host/cli/commands.js';
import { sealEvidence } from '../../electron/recipes/evidence.js';
import { evidenceKey } from '../../electron/recipes/trust.js';
import { EVIDENCE_FORMAT } from '../../shared/evidence.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s) } };
}

describe('hlab exec arguments', () => {
  it('one argument is a command line; several are each kept whole', () => {
    expect(execCommand(['echo a; exit 3'])).toBe('echo a; exit 3');
    expect(execCommand(['sh', '-c', 'echo out; exit 7'])).toBe("'sh' '-c' 'echo out; exit 7'");
    expect(execCommand(['printf', '%s\n', "it's"])).toBe("'printf' '%s\n' 'it'\\''s'");
  });
});

describe('hlab CLI', () => {
  const saved = process.env.HLAB_HOME;
  beforeAll(() => {
    process.env.HLAB_HOME = mkdtempSync(path.join(os.tmpdir(), 'hlab-cli-'));
  });
  afterAll(() => {
    process.env.HLAB_HOME = saved;
  });

  it('sets egress-allow as HOST:PORT entries (not as a path) and refuses a bad one with exit 2', async () => {
    const o = io();
    expect(await main(['settings', 'set', 'egress-allow', '10.0.2.2:3142, Mirror.example:80'], o.io)).toBe(0);
    expect(o.out.join('\n')).toContain('egress-allow: 10.0.2.2:3142 mirror.example:80');
    const bad = io();
    expect(await main(['settings', 'set', 'egress-allow', 'mirror.example'], bad.io)).toBe(2);
    expect(bad.err.join('\n')).toMatch(
      /^hlab: error \(bad-request\): Egress entry "mirror\.example" is not HOST:PORT/,
    );
    expect(await main(['settings', 'unset', 'egress-allow'], io().io)).toBe(0);
  });

  it('prints help with every command and exits 0', async () => {
    const o = io();
    expect(await main(['--help'], o.io)).toBe(0);
    const text = o.out.join('\n');
    for (const c of ['machine create', 'snapshot restore', 'image build', 'exec', 'serve'])
      expect(text).toContain(c);
  });

  it('prints group help', async () => {
    const o = io();
    expect(await main(['snapshot', '--help'], o.io)).toBe(0);
    expect(o.out.join('\n')).toContain('snapshot take NAME SNAP');
    expect(o.out.join('\n')).not.toContain('machine create');
  });

  it('exits 2 with a clear message (no stack) on usage errors', async () => {
    for (const argv of [
      ['frobnicate'],
      ['machine', 'create'],
      ['machine', 'list', '--bogus'],
      ['machine', 'create', 'x', '--memory', 'lots'],
    ]) {
      const o = io();
      expect(await main(argv, o.io)).toBe(2);
      const err = o.err.join('\n');
      expect(err).toMatch(/^hlab: /);
      expect(err).not.toMatch(/\n\s+at /);
    }
  });

  it('suggests the command a typo meant, and nothing for a word that is not close', async () => {
    const cases: Array<[string[], string | undefined]> = [
      [['machine', 'lsit'], 'machine list'],
      [['snapshto', 'list'], 'snapshot'],
      [['machine', 'frobnicate'], undefined],
      [['xyz'], undefined],
    ];
    for (const [argv, guess] of cases) {
      const o = io();
      expect(await main(argv, o.io)).toBe(2);
      const err = o.err.join('\n');
      expect(err).toContain(`unknown command "${argv.join(' ')}"`);
      if (guess) expect(err).toContain(`did you mean "hlab ${guess}"?`);
      else expect(err).not.toContain('did you mean');
    }
  });

  it('colours outcomes only for a terminal that wants it (NO_COLOR, TERM=dumb, a pipe)', async () => {
    const { colourWanted, painter } = await import('../../electron/host/cli/colour.js');
    const tty = { isTTY: true };
    expect(colourWanted(tty, {})).toBe(true);
    expect(colourWanted(tty, { NO_COLOR: '1' })).toBe(false);
    expect(colourWanted(tty, { NO_COLOR: '' })).toBe(true);
    expect(colourWanted(tty, { TERM: 'dumb' })).toBe(false);
    expect(colourWanted({ isTTY: false }, {})).toBe(false);
    const o = io();
    expect(await main(['machine', 'up', 'ghost'], { ...o.io, paint: painter(true) })).toBe(2);
    expect(o.err.join('\n')).toContain('hlab: \x1b[31merror (vm-not-found)\x1b[0m: No machine named');
    const { formatEvent } = await import('../../electron/host/cli/run-output.js');
    const line = formatEvent(
      { type: 'step-finished', index: 0, outcome: 'rolled-back', reason: 'x', durationMs: 1, at: '', seq: 1 },
      1,
      painter(true),
    );
    expect(line).toBe('  = \x1b[33mROLLED-BACK\x1b[0m: x');
  });

  it('names columns in words: STARTED AT, not STARTEDAT', async () => {
    const { table } = await import('../../electron/host/cli/output.js');
    expect(table([{ id: 'r1', startedAt: 'now' }], ['id', 'startedAt']).split('\n')[0]).toBe(
      'ID  STARTED AT',
    );
  });

  it('answers --json listings with one JSON document', async () => {
    const o = io();
    expect(await main(['machine', 'list', '--json'], o.io)).toBe(0);
    expect(JSON.parse(o.out.join('\n'))).toEqual([]);
    const p = io();
    expect(await main(['providers', 'list', '--json'], p.io)).toBe(0);
    const providers = JSON.parse(p.out.join('\n')) as Array<{ kind: string }>;
    expect(providers.map((x) => x.kind)).toEqual(['qemu', 'vagrant', 'virtualbox', 'libvirt']);
  });

  it('reports runtime errors with their code and exits 2', async () => {
    const o = io();
    expect(await main(['machine', 'up', 'ghost'], o.io)).toBe(2);
    expect(o.err.join('\n')).toContain('error (vm-not-found): No machine named "ghost".');
  });

  it('steps check prints file:line errors and exits 1; steps list --json lists the library', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-cli-steps-'));
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'id: bad\ntitle: Bad\narea: ssh\nrisk: none\napply: x\nverify:\n  - name: v\n    run: 3\n',
    );
    const o = io();
    expect(await main(['steps', 'check', bad], o.io)).toBe(1);
    expect(o.out.join('\n')).toContain('bad.yaml:8: verify[0].run: expected string');
    const good = io();
    expect(await main(['steps', 'check', 'labs/steps/sshd-hardening.yaml'], good.io)).toBe(0);
    const list = io();
    expect(await main(['steps', 'list', '--json'], list.io)).toBe(0);
    expect((JSON.parse(list.out.join('\n')) as Array<{ id: string }>).map((s) => s.id)).toContain(
      'sshd-hardening',
    );
  });

  it('info shows the data folder from HLAB_HOME', async () => {
    const o = io();
    expect(await main(['info', '--json'], o.io)).toBe(0);
    expect(JSON.parse(o.out.join('\n')).home).toBe(process.env.HLAB_HOME);
  });

  it('recipe verify: a bundle signed by an unknown key exits 1 until its key is trusted (keys trust/export)', async () => {
    const attacker = mkdtempSync(path.join(os.tmpdir(), 'hlab-signer-'));
    const body = {
      format: EVIDENCE_FORMAT,
      app: { name: 'hardening-lab', version: '0.1.0' },
      run: {
        id: '20261123T000000-x-abcdef',
        machine: 'm',
        status: 'validated',
        startedAt: '',
        finalReboot: false,
      },
      recipe: { id: 'x', bench: [] },
      base: { image: 'debian-12', sha256: 'f'.repeat(64) },
      kernel: { before: 'k', after: 'k' },
      steps: [],
      bench: { before: [], after: [], comparisons: [] },
      journalSha256: 'e'.repeat(64),
    };
    const file = path.join(attacker, 'ev.json');
    writeFileSync(file, JSON.stringify(sealEvidence(body as never, attacker)));
    const o1 = io();
    expect(await main(['recipe', 'verify', file], o1.io)).toBe(1);
    expect(o1.out.join('\n')).toContain('NOT TRUSTED');
    const pem = path.join(attacker, 'alice.pem');
    writeFileSync(pem, evidenceKey(attacker).publicPem);
    const o2 = io();
    expect(await main(['keys', 'trust', pem], o2.io)).toBe(0);
    expect(o2.out.join('\n')).toMatch(/^trusted alice: SHA256:/);
    const o3 = io();
    expect(await main(['recipe', 'verify', file], o3.io)).toBe(0);
    expect(o3.out.join('\n')).toContain('signed by alice');
    const o4 = io();
    expect(await main(['keys', 'export'], o4.io)).toBe(0);
    expect(o4.out.join('\n')).toContain('BEGIN PUBLIC KEY');
  });

  it('steps list and steps check honour HLAB_LABS_DIR (L13)', async () => {
    const labs = mkdtempSync(path.join(os.tmpdir(), 'hlab-teamlabs-'));
    mkdirSync(path.join(labs, 'steps'));
    writeFileSync(
      path.join(labs, 'steps', 'team-only.yaml'),
      'id: team-only\ntitle: Team step\narea: ssh\nrisk: none\napply: |\n  true\nverify:\n  - name: ok\n    run: "true"\n',
    );
    const saved = process.env.HLAB_LABS_DIR;
    process.env.HLAB_LABS_DIR = labs;
    try {
      const o = io();
      expect(await main(['steps', 'list', '--json'], o.io)).toBe(0);
      expect((JSON.parse(o.out.join('\n')) as Array<{ id: string }>).map((x) => x.id)).toEqual(['team-only']);
    } finally {
      process.env.HLAB_LABS_DIR = saved;
    }
  });
});
