import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultParams, loadLibrary, loadRecipe, loadStep } from '../../electron/steps/load.js';
import { renderScript } from '../../electron/steps/render.js';
import { formatIssue } from '../../shared/steps.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-steps-'));
function file(name: string, text: string): string {
  const f = path.join(dir, name);
  mkdirSync(path.dirname(f), { recursive: true });
  writeFileSync(f, text);
  return f;
}
const messages = (issues: ReturnType<typeof loadStep>['issues']) =>
  issues.map((i) => formatIssue({ ...i, file: path.basename(i.file) }));

const GOOD = `id: good-step
title: Good
area: sysctl
risk: none
params:
  level: { type: integer, default: 2, min: 1, max: 3 }
  names: { type: list, default: [a, b] }
apply: |
  echo $level
verify:
  - name: value
    run: test "$level" = 2
  - name: login
    probe: fresh-ssh-login
`;

describe('step files', () => {
  it('loads the built-in library without issues, ids matching file names', () => {
    const { steps, issues } = loadLibrary();
    expect(issues).toEqual([]);
    expect(steps.length).toBeGreaterThanOrEqual(5);
    for (const s of steps) {
      expect(path.basename(s.file, '.yaml')).toBe(s.id);
      expect(s.verify.length).toBeGreaterThan(0);
    }
  });

  it('applies defaults', () => {
    const { step, issues } = loadStep(file('good-step.yaml', GOOD));
    expect(issues).toEqual([]);
    expect(step).toMatchObject({
      reboot: false,
      snapshotOnlyRollback: false,
      benchmarks: { lynis: [] },
      params: { names: { default: ['a', 'b'] } },
    });
  });

  it('names file, line and field for a wrong type', () => {
    const f = file(
      'typed.yaml',
      GOOD.replace('id: good-step', 'id: typed').replace('run: test "$level" = 2', 'run: 3'),
    );
    expect(messages(loadStep(f).issues)).toEqual(['typed.yaml:12: verify[0].run: expected string']);
  });

  it('rejects unknown fields, missing required ones and bad enums', () => {
    const f = file(
      'many.yaml',
      GOOD.replace('id: good-step', 'id: many')
        .replace('risk: none', 'risk: extreme\ncolour: red')
        .replace(/apply: \|\n {2}echo \$level\n/, ''),
    );
    expect(messages(loadStep(f).issues)).toEqual([
      'many.yaml:4: risk: expected one of none, service, reboot, lockout, boot (got "extreme")',
      'many.yaml:5: colour: unknown field (known: id, title, description, area, risk, reboot, snapshotOnlyRollback, demo, conflicts, benchmarks, params, apply, verify, revert)',
      'many.yaml:1: apply: required field is missing',
    ]);
  });

  it('needs exactly one of run or probe per check', () => {
    const f = file(
      'both.yaml',
      GOOD.replace('id: good-step', 'id: both').replace(
        '    probe: fresh-ssh-login',
        '    probe: fresh-ssh-login\n    run: "true"',
      ),
    );
    expect(messages(loadStep(f).issues)).toEqual([
      'both.yaml:13: verify[1]: needs exactly one of run or probe',
    ]);
  });

  it('checks parameter defaults against their type', () => {
    const f = file(
      'param.yaml',
      GOOD.replace('id: good-step', 'id: param').replace('default: 2, min', 'default: "two", min'),
    );
    expect(messages(loadStep(f).issues)).toEqual([
      'param.yaml:6: params.level: default does not match type integer',
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    const f = file('syntax.yaml', 'id: syntax\ntitle: [unclosed\narea: ssh\n');
    const issues = loadStep(f).issues;
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: '(yaml)' });
    expect(issues[0]!.line).toBeGreaterThanOrEqual(2);
  });

  it('requires the id to match the file name', () => {
    expect(messages(loadStep(file('other-name.yaml', GOOD)).issues)).toEqual([
      'other-name.yaml:1: id: must match the file name ("other-name")',
    ]);
  });
});

describe('recipe files', () => {
  const { steps } = loadLibrary();

  it('loads the baseline recipe with step defaults filled in', () => {
    const { recipe, issues } = loadRecipe(path.resolve('labs/recipes/container-host-baseline.yaml'), steps);
    expect(issues).toEqual([]);
    expect(recipe?.onFailure).toBe('stop');
    expect(recipe?.steps.find((s) => s.step === 'kernel-sysctl')?.params).toEqual({
      kptrRestrict: 2,
      ptraceScope: 1,
    });
  });

  it('names unknown steps, unknown parameters and mistyped values with their line', () => {
    const f = file(
      'recipes/bad.yaml',
      `id: bad
title: Bad
base: debian-12
steps:
  - step: kernel-sysctl
    params: { ptraceScope: 9 }
  - step: no-such-step
  - step: sshd-hardening
    params: { maxTries: 3 }
`,
    );
    expect(messages(loadRecipe(f, steps).issues)).toEqual([
      'bad.yaml:5: steps[0].params.ptraceScope: must be at most 3',
      'bad.yaml:7: steps[1].step: no step "no-such-step" in the library',
      'bad.yaml:8: steps[2].params.maxTries: step "sshd-hardening" has no parameter "maxTries" (known: maxAuthTries, logLevel, allowUsers)',
    ]);
  });
  it('refuses a recipe holding two steps that exclude each other, naming both lines (AppArmor vs SELinux)', () => {
    const f = file(
      'recipes/two-macs.yaml',
      `id: two-macs
title: Two MACs
base: debian-12
steps:
  - step: selinux-permissive
  - step: kernel-sysctl
  - step: apparmor-enforce
  - step: selinux-enforcing
`,
    );
    expect(messages(loadRecipe(f, steps).issues)).toEqual([
      'two-macs.yaml:7: steps[2].step: "apparmor-enforce" conflicts with "selinux-permissive" (steps[0], line 5): a recipe holds one or the other',
      'two-macs.yaml:8: steps[3].step: "selinux-enforcing" conflicts with "apparmor-enforce" (steps[2], line 7): a recipe holds one or the other',
    ]);
    const oneMac = loadRecipe(f, steps, readFileSync(f, 'utf8').replace('  - step: apparmor-enforce\n', ''));
    expect(oneMac.issues).toEqual([]);
  });

  it('a conflicts entry naming no step is reported at its file', () => {
    const labs = mkdtempSync(path.join(os.tmpdir(), 'hlab-conflicts-'));
    mkdirSync(path.join(labs, 'steps'));
    writeFileSync(
      path.join(labs, 'steps', 'good-step.yaml'),
      GOOD.replace('risk: none', 'risk: none\nconflicts: [apparmor-enforce, good-step]'),
    );
    expect(messages(loadLibrary(labs).issues)).toEqual([
      'good-step.yaml:1: conflicts[0]: no step "apparmor-enforce" in the library',
    ]);
  });

  it('loads recipe text not on disk, in the style the recipe builder writes, with bench and exceptions', () => {
    // Exactly what renderer/src/features/steps/store.ts draftToYaml() produces.
    const yaml = `id: built-in-ui
title: "Built: in the \\"UI\\""
base: debian-12
onFailure: continue
finalReboot: false
bench: [checks, lynis]
steps:
  - step: network-sysctl
    params: { dockerHost: false }
  - step: modules-disabled
    params: { preload: ["overlay", "veth"] }
exceptions:
  - id: no-forward
    step: network-sysctl
    reason: "not a Docker host: ip_forward off"
`;
    const { recipe, issues } = loadRecipe('labs/recipes/built-in-ui.yaml', steps, yaml);
    expect(issues).toEqual([]);
    expect(recipe).toMatchObject({
      title: 'Built: in the "UI"',
      bench: ['checks', 'lynis'],
      finalReboot: false,
      steps: [
        { step: 'network-sysctl', params: { dockerHost: false } },
        { step: 'modules-disabled', params: { preload: ['overlay', 'veth'] } },
      ],
    });
    const bad = loadRecipe(
      'labs/recipes/x.yaml',
      steps,
      yaml.replace('bench: [checks, lynis]', 'bench: [nessus]'),
    );
    expect(messages(bad.issues)).toEqual([
      expect.stringMatching(
        /x\.yaml:6: bench\[0\]: expected one of lynis, docker-bench, docker-config, checks, openscap, vulns, surface, kube-node \(got "nessus"\)/,
      ),
    ]);
    const withTests = yaml.replace(
      '    step: network-sysctl\n',
      '    step: network-sysctl\n    tests: [KRNL-6000:net.ipv4.conf.all.forwarding]\n',
    );
    expect(loadRecipe('labs/recipes/x.yaml', steps, withTests).recipe?.exceptions[0]?.tests).toEqual([
      'KRNL-6000:net.ipv4.conf.all.forwarding',
    ]);
    const badTests = loadRecipe('labs/recipes/x.yaml', steps, withTests.replace(/tests: \[.*\]/, 'tests: 7'));
    expect(messages(badTests.issues)).toEqual([
      expect.stringMatching(/x\.yaml:1\d: exceptions\[0\]\.tests: expected/),
    ]);
  });
});

describe('library checks on a machine without Docker', () => {
  // A check that retries `docker info` until dockerd answers would otherwise spend its whole
  // wait (a minute) on a machine where Docker was never installed, e.g. a whole-library bench.
  it('every check that waits for dockerd answers at once when docker is not installed', () => {
    const bin = mkdtempSync(path.join(os.tmpdir(), 'hlab-nodocker-'));
    for (const tool of ['seq', 'sleep', 'systemctl']) {
      const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (found) symlinkSync(found, path.join(bin, tool));
    }
    const waiting = loadLibrary().steps.flatMap((s) =>
      s.verify
        .filter((c) => c.run && /for _ in .*docker info/.test(c.run))
        .map((c) => ({ where: `${s.id}: ${c.name}`, script: renderScript(c.run ?? '', defaultParams(s)) })),
    );
    expect(waiting.length).toBeGreaterThanOrEqual(3);
    for (const c of waiting) {
      const r = spawnSync('/bin/bash', ['-c', c.script], {
        env: { PATH: bin },
        encoding: 'utf8',
        timeout: 10_000,
      });
      expect({ where: c.where, status: r.status, out: r.stdout.trim() }).toEqual({
        where: c.where,
        status: 0,
        out: 'docker is not installed here',
      });
    }
  });
});

describe('script rendering', () => {
  it('passes parameters as quoted shell variables, lists space-joined', () => {
    const s = renderScript('echo "$a $b"', { b: ['x', 'y'], a: "it's" });
    expect(s).toContain(`a='it'\\''s'\nb='x y'\n`);
    expect(s.startsWith('#!/bin/bash\n')).toBe(true);
  });
});

describe('hostile lab files (security review M3, L2, L3, L4, L14)', () => {
  const { steps } = loadLibrary();

  it('a recipe cannot smuggle sshd directives or daemon.json keys through a parameter value (M3)', () => {
    const f = file(
      'recipes/inject.yaml',
      `id: inject
title: Looks harmless
base: debian-12
steps:
  - step: sshd-hardening
    params: { allowUsers: "lab\\nMatch all\\n  AuthorizedKeysFile /tmp/.k" }
  - step: docker-daemon
    params: { usernsRemap: 'default", "hosts": ["tcp://0.0.0.0:2375"], "x": "' }
  - step: sshd-hardening
    params: { allowUsers: "lab AuthorizedKeysFile" }
  - step: blacklist-filesystems
    params: { modules: ["udf", "*"] }
`,
    );
    const m = messages(loadRecipe(f, steps).issues);
    expect(m[0]).toMatch(
      /^inject\.yaml:5: steps\[0\]\.params\.allowUsers: must not contain control characters/,
    );
    expect(m[1]).toMatch(
      /^inject\.yaml:7: steps\[1\]\.params\.usernsRemap: must not contain control characters, quotes/,
    );
    expect(m[2]).toBe(
      'inject.yaml:9: steps[2].params.allowUsers: expected a value matching ^([a-z_][a-z0-9_-]*( [a-z_][a-z0-9_-]*)*)?$ (got "lab AuthorizedKeysFile")',
    );
    expect(m[3]).toMatch(/list item "\*" must not contain spaces or glob characters/);
    expect(m).toHaveLength(4);
  });

  it('a step declares pattern and maxLength, and its default must fit them', () => {
    const f = file(
      'steps/patterned.yaml',
      GOOD.replace('id: good-step', 'id: patterned').replace(
        'names: { type: list, default: [a, b] }',
        // A function, so "$'" in the pattern is not read as a replacement token.
        () =>
          "names: { type: list, default: [a, b] }\n  who: { type: string, default: 'Root', pattern: '^[a-z]+$' }\n  bad: { type: string, default: x, pattern: '(' }",
      ),
    );
    const m = messages(loadStep(f).issues);
    expect(
      m.some((x) => /params\.who: default expected a value matching \^\[a-z\]\+\$/.test(x)),
      m.join('\n'),
    ).toBe(true);
    expect(m.some((x) => /params\.bad: pattern is not a regular expression/.test(x))).toBe(true);
  });

  it('keys named after Object members are unknown fields or parameters, not crashes (L2, L3)', () => {
    const f = file(
      'steps/proto-key.yaml',
      GOOD.replace('id: good-step', 'id: proto-key') + 'constructor: x\n',
    );
    expect(messages(loadStep(f).issues)).toEqual([
      expect.stringMatching(/^proto-key\.yaml:\d+: constructor: unknown field/),
    ]);
    const r = file(
      'recipes/proto-param.yaml',
      `id: proto-param
title: P
base: debian-12
steps:
  - step: kernel-sysctl
    params: { constructor: anything, valueOf: x }
`,
    );
    const m = messages(loadRecipe(r, steps).issues);
    expect(m).toHaveLength(2);
    expect(m[0]).toContain('has no parameter "constructor"');
  });

  it('refuses a FIFO, a symlink out of the labs folder, a file over 1 MiB and non-UTF-8 bytes (L4, L14)', () => {
    const labs = mkdtempSync(path.join(os.tmpdir(), 'hlab-hostile-labs-'));
    mkdirSync(path.join(labs, 'steps'));
    spawnSync('mkfifo', [path.join(labs, 'steps', 'fifo.yaml')]);
    symlinkSync('/etc/passwd', path.join(labs, 'steps', 'passwd.yaml'));
    writeFileSync(
      path.join(labs, 'steps', 'big.yaml'),
      `id: big\ntitle: Big\napply: |\n  ${'x'.repeat(1_100_000)}\n`,
    );
    writeFileSync(
      path.join(labs, 'steps', 'latin1.yaml'),
      Buffer.from('id: latin1\ntitle: caf\xe9\n', 'latin1'),
    );
    const started = Date.now();
    const { issues } = loadLibrary(labs);
    expect(Date.now() - started).toBeLessThan(5000);
    const byFile = Object.fromEntries(issues.map((i) => [path.basename(i.file), i.message]));
    expect(byFile['fifo.yaml']).toContain('not a regular file');
    expect(byFile['passwd.yaml']).toContain('symlink out of the labs folder');
    expect(byFile['big.yaml']).toContain('over the 1048576-byte limit');
    expect(byFile['latin1.yaml']).toContain('not UTF-8');
  });

  it('a multi-line title is refused (it would leave a comment in the sh export)', () => {
    const f = file(
      'steps/two-lines.yaml',
      GOOD.replace('id: good-step', 'id: two-lines').replace('title: Good', 'title: "Good\\ntouch /tmp/x #"'),
    );
    expect(messages(loadStep(f).issues)[0]).toMatch(/title: expected one line without control characters/);
  });
});
