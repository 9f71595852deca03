/** The live Docker daemon bench, on recorded real output, and how it judges the steps' claims. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareBench } from '../../shared/bench.js';
import { stepClaims } from '../../shared/claims.js';
import { parseDockerConfig } from '../../electron/bench/docker-config.js';
import { loadLibrary } from '../../electron/steps/load.js';

const rec = (name: string) =>
  parseDockerConfig(
    readFileSync(path.join(__dirname, '..', 'fixtures', 'docker-config', name), 'utf8'),
    'm1',
  );
const result = (r: ReturnType<typeof rec>) => Object.fromEntries(r.tests.map((t) => [t.id, t.result]));

describe('docker-config bench', () => {
  it("reads Debian's defaults as docker-bench would judge them", () => {
    const r = rec('debian-defaults.txt');
    expect(result(r)).toEqual({
      '2.2': 'fail',
      '2.3': 'pass',
      '2.9': 'fail',
      '2.13': 'fail',
      '2.14': 'fail',
      '2.15': 'fail',
      '2.16': 'fail',
      '2.17': 'pass',
      '5.5': 'pass',
      'privileged-refused': 'warn',
    });
    expect(r.score).toBe(3 - 6);
    expect(r.max).toBe(9);
    expect(r.meta).toMatchObject({
      docker: '20.10.24+dfsg1',
      cgroupDriver: 'systemd',
      defaultRuntime: 'runc',
    });
    expect(r.tests.find((t) => t.id === '2.14')?.details).toBe('a probe container has NoNewPrivs: 0');
    expect(r.tests.find((t) => t.id === '2.16')?.details).toMatch(/starts docker-proxy/);
  });

  it('names the privileged containers that run (docker-bench 5.5)', () => {
    const t = rec('defaults-privileged-running.txt').tests.find((x) => x.id === '5.5');
    expect(t).toMatchObject({ result: 'fail', details: 'running privileged: /escape-demo' });
  });

  it('after the docker-daemon and gvisor-runsc steps: the claimed settings flip, --privileged is refused', () => {
    const before = rec('debian-defaults.txt');
    const after = rec('hardened-userns-runsc.txt');
    expect(after.meta.runtimes).toContain('runsc');
    expect(after.tests.find((t) => t.id === 'privileged-refused')?.details).toMatch(
      /incompatible with user namespaces/,
    );
    const c = compareBench(before, after);
    expect(c.fixed.map((f) => f.id).sort()).toEqual([
      '2.14',
      '2.15',
      '2.16',
      '2.2',
      '2.9',
      'privileged-refused',
    ]);
    expect(c.regressions).toEqual([]);
    const lib = loadLibrary().steps;
    const step = lib.find((s) => s.id === 'docker-daemon')!;
    const [claim] = stepClaims(
      [
        {
          step: step.id,
          outcome: 'validated',
          benchmarks: { 'docker-bench': step.benchmarks['docker-bench'] },
        },
      ],
      { before: [before], after: [after], comparisons: [c] },
    );
    expect(claim).toMatchObject({ tool: 'docker-config', regressions: [], unmeasured: [] });
    expect(claim!.fixed.map((f) => f.id).sort()).toEqual(['2.14', '2.15', '2.16', '2.2', '2.9']);
    // Log level (Debian's default is already info) and 5.5 held before and after.
    expect(claim!.unchanged.sort()).toEqual(['2.3', '5.5']);
  });

  it('is not measured where Docker is absent or down (skipped, not failed)', () => {
    for (const text of ['installed=no\n', 'installed=yes\nrunning=no\n']) {
      const r = parseDockerConfig(text, 'm1');
      expect(r.tests.every((t) => t.result === 'skip')).toBe(true);
      expect(r.max).toBe(0);
    }
    expect(parseDockerConfig('installed=no\n', 'm1').meta.state).toBe('docker is not installed');
  });

  it('takes only its own keys from guest output, cut short', () => {
    const r = parseDockerConfig(
      `installed=yes\nrunning=yes\nversion=${'x'.repeat(5000)}\nEVIL=1\n<b>=2\n`,
      'm1',
    );
    expect(r.meta.docker).toHaveLength(400);
    expect(Object.keys(r.meta)).not.toContain('EVIL');
  });
});
