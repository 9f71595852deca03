/** A local docker-bench-security copy: checked, hashed, where it comes from, and how it is run. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readDockerBenchCopy, guestDir } from '../../electron/bench/docker-bench-copy.js';
import {
  DOCKER_BENCH_COMMIT,
  dockerBenchScript,
  localDockerBenchScript,
} from '../../electron/bench/docker-bench.js';
import {
  dockerBenchCopy,
  dockerBenchSource,
  readSettings,
  writeSetting,
} from '../../electron/core/settings.js';
import { writeDockerBenchStandin } from '../integration/docker-bench-standin.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'hlab-dbench-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('a local docker-bench-security copy', () => {
  it('is read with its version and the sha256 of every script it runs', () => {
    const dir = writeDockerBenchStandin(tmp());
    writeFileSync(path.join(dir, 'README.md'), 'not run, not sent');
    const copy = readDockerBenchCopy(dir);
    expect(copy.version).toBe('1.6.0-standin');
    expect(copy.files.map((f) => f.path)).toEqual([
      'docker-bench-security.sh',
      'functions/functions_lib.sh',
      'functions/helper_lib.sh',
      'functions/output_lib.sh',
      'tests/1_host_configuration.sh',
      'tests/2_docker_daemon_configuration.sh',
      'tests/5_container_runtime.sh',
    ]);
    for (const f of copy.files) {
      const data = readFileSync(path.join(dir, f.path));
      expect(f.sha256).toBe(createHash('sha256').update(data).digest('hex'));
      expect(f.bytes).toBe(data.length);
    }
    // One changed byte is another tree, uploaded to another folder.
    writeFileSync(path.join(dir, 'tests/5_container_runtime.sh'), '#!/bin/bash\n');
    expect(readDockerBenchCopy(dir).digest).not.toBe(copy.digest);
  });

  it('names the folder and what is missing when it is not a checkout', () => {
    expect(() => readDockerBenchCopy('/nonexistent/dbench')).toThrow(
      /\/nonexistent\/dbench: .*no such folder/,
    );
    const dir = writeDockerBenchStandin(tmp());
    rmSync(path.join(dir, 'functions/output_lib.sh'));
    expect(() => readDockerBenchCopy(dir)).toThrow(/functions\/output_lib\.sh is missing/);
    const empty = writeDockerBenchStandin(tmp());
    for (const t of ['1_host_configuration', '2_docker_daemon_configuration', '5_container_runtime'])
      rmSync(path.join(empty, `tests/${t}.sh`));
    expect(() => readDockerBenchCopy(empty)).toThrow(/tests\/ holds no \.sh file/);
  });

  it('refuses a link that could send another file of this host into the guest', () => {
    const dir = writeDockerBenchStandin(tmp());
    symlinkSync('/etc/passwd', path.join(dir, 'tests/9_leak.sh'));
    expect(() => readDockerBenchCopy(dir)).toThrow(/tests\/9_leak\.sh is a symbolic link/);
  });

  it('runs as root from inside its folder only after the hashes match in the guest', () => {
    const copy = readDockerBenchCopy(writeDockerBenchStandin(tmp()));
    const s = localDockerBenchScript(copy, '/tmp/hlab-docker-bench.abc123', ['check_2_2', 'check_5_5']);
    const dir = guestDir(copy);
    expect(dir).toBe(`/var/tmp/hlab-docker-bench-local/${copy.digest.slice(0, 16)}`);
    expect(s).toContain(`mv '/tmp/hlab-docker-bench.abc123' ${dir}`);
    for (const f of copy.files) expect(s).toContain(`${f.sha256}  ${f.path}`);
    expect(s.indexOf('sha256sum')).toBeLessThan(s.indexOf('bash docker-bench-security.sh'));
    expect(s).toContain(`cd ${dir} && rm -f`);
    expect(s).toContain("-c 'check_2_2','check_5_5'");
  });

  it('is fetched at the pinned v1.6.0 commit when no copy is given', () => {
    expect(DOCKER_BENCH_COMMIT).toBe('ff26d67f25be60fc2d82a01710ee14570b2cb9db');
    expect(dockerBenchScript()).toContain(`tar.gz/${DOCKER_BENCH_COMMIT}`);
  });
});

describe('where docker-bench-security comes from', () => {
  it('a flag beats the environment, which beats the setting; none means GitHub', () => {
    const home = tmp();
    const [a, b, c] = [
      writeDockerBenchStandin(tmp()),
      writeDockerBenchStandin(tmp()),
      writeDockerBenchStandin(tmp()),
    ];
    expect(dockerBenchSource(home, {}).source).toMatchObject({ kind: 'github', commit: DOCKER_BENCH_COMMIT });
    writeSetting(home, 'docker-bench-dir', a);
    expect(dockerBenchSource(home, {}).source).toMatchObject({
      kind: 'local',
      dir: a,
      from: 'setting',
      files: 7,
    });
    const env = { HLAB_DOCKER_BENCH_DIR: b };
    expect(dockerBenchSource(home, env).source).toMatchObject({ dir: b, from: 'env' });
    expect(dockerBenchSource(home, env, c).source).toMatchObject({ dir: c, from: 'flag' });
    expect(dockerBenchCopy(home, env, c)?.dir).toBe(c);
    writeSetting(home, 'docker-bench-dir', undefined);
    expect(readSettings(home)).toEqual({});
  });

  it('a configured folder that is not usable is an error naming where it was set', () => {
    const home = tmp();
    writeSetting(home, 'docker-bench-dir', '/nonexistent/dbench');
    expect(dockerBenchSource(home, {}).source).toMatchObject({
      kind: 'local',
      problem: expect.stringMatching(/no such folder/),
    });
    expect(() => dockerBenchCopy(home, {})).toThrow(/no such folder.*the docker-bench-dir setting/);
    expect(() => dockerBenchCopy(home, { HLAB_DOCKER_BENCH_DIR: '/nope' })).toThrow(/HLAB_DOCKER_BENCH_DIR/);
  });

  it('a broken settings.json is reported with the file and the field', () => {
    const home = tmp();
    writeFileSync(path.join(home, 'settings.json'), '{"docker-bench-dir": 3}');
    expect(() => readSettings(home)).toThrow(/settings\.json: docker-bench-dir: must be a string/);
    writeFileSync(path.join(home, 'settings.json'), '{"dockerBench": "/x"}');
    expect(() => readSettings(home)).toThrow(/settings\.json: dockerBench: unknown setting/);
    writeFileSync(path.join(home, 'settings.json'), '{oops');
    expect(() => readSettings(home)).toThrow(/settings\.json: not valid JSON/);
  });
});
