import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLibrary, loadRecipe, loadStep } from '../../electron/steps/load.js';
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
      'many.yaml:5: colour: unknown field (known: id, title, description, area, risk, reboot, snapshotOnlyRollback, demo, benchmarks, params, apply, verify, revert)',
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
    expect(recipe?.steps.find((s) => s.step === 'kernel-sysctl')?.params).toEqual({ ptraceScope: 2 });
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
      'bad.yaml:8: steps[2].params.maxTries: step "sshd-hardening" has no parameter "maxTries" (known: maxAuthTries, allowUsers)',
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
      expect.stringMatching(/x\.yaml:6: bench\[0\]: expected one of lynis, docker-bench, checks/),
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

describe('script rendering', () => {
  it('passes parameters as quoted shell variables, lists space-joined', () => {
    const s = renderScript('echo "$a $b"', { b: ['x', 'y'], a: "it's" });
    expect(s).toContain(`a='it'\\''s'\nb='x y'\n`);
    expect(s.startsWith('#!/bin/bash\n')).toBe(true);
  });
});
