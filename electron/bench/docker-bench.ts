/**
 * docker-bench-security over SSH. It is not packaged by Debian, so it is fetched into the guest
 * from its public repository at a pinned commit; a guest without internet access gets a clear
 * error saying so instead of a hang. Its `-l FILE` JSON log is parsed into the shared model.
 */
import { HlabError } from '../../shared/errors.js';
import type { BenchResult, BenchTest, TestResult } from '../../shared/bench.js';
import type { SshExecutor } from '../ssh/executor.js';

export const DOCKER_BENCH_REPO = 'https://github.com/docker/docker-bench-security';
export const DOCKER_BENCH_COMMIT = '3769a64a2f18daab9718352a15dfb4d3041ac168';
const DIR = '/var/tmp/hlab-docker-bench';

export function dockerBenchScript(checks?: string[]): string {
  const url = `https://codeload.github.com/docker/docker-bench-security/tar.gz/${DOCKER_BENCH_COMMIT}`;
  return [
    'set -e',
    'command -v dockerd >/dev/null || { echo "HLAB-NO-DOCKER"; exit 3; }',
    'docker info >/dev/null 2>&1 || { echo "HLAB-DOCKER-DOWN"; exit 3; }',
    `if [ ! -f ${DIR}/docker-bench-security.sh ]; then`,
    '  timeout 10 bash -c "</dev/tcp/codeload.github.com/443" 2>/dev/null || { echo "HLAB-NO-INTERNET"; exit 4; }',
    '  command -v curl >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q --no-install-recommends curl >/dev/null; }',
    `  mkdir -p ${DIR} && curl -fsSL ${url} | tar -xz --strip-components=1 -C ${DIR}`,
    'fi',
    `cd ${DIR} && rm -f log.json`,
    // It reads only --config-file=PATH (with "=") or /etc/docker/daemon.json.
    `sh docker-bench-security.sh -b -l ${DIR}/log ${checks?.length ? `-c ${checks.join(',')}` : ''} >/dev/null 2>&1 || true`,
    `cat ${DIR}/log.json`,
  ].join('\n');
}

export async function runDockerBench(
  ex: SshExecutor,
  machine: string,
  o: { checks?: string[]; signal?: AbortSignal } = {},
): Promise<BenchResult> {
  const r = await ex.runScript(dockerBenchScript(o.checks), { timeoutMs: 20 * 60_000, signal: o.signal });
  if (r.stdout.includes('HLAB-NO-DOCKER') || r.stdout.includes('HLAB-DOCKER-DOWN'))
    throw new HlabError(
      'vm-state',
      `docker-bench-security needs a running dockerd, and machine "${machine}" has none (run the docker-daemon step first).`,
      { machine },
    );
  if (r.stdout.includes('HLAB-NO-INTERNET'))
    throw new HlabError(
      'unavailable',
      `Machine "${machine}" cannot reach github.com: docker-bench-security is fetched from ${DOCKER_BENCH_REPO} at commit ${DOCKER_BENCH_COMMIT.slice(0, 12)}. Give the guest internet access, or use --tool lynis or checks.`,
      { machine },
    );
  if (r.exitCode !== 0)
    throw new HlabError(
      'command-failed',
      `docker-bench-security failed on "${machine}": ${r.stderr.trim().slice(-300)}`,
      {
        machine,
      },
    );
  return parseDockerBench(r.stdout, machine);
}

interface DockerBenchLog {
  dockerbenchsecurity?: string;
  tests?: Array<{
    id: string;
    desc: string;
    results?: Array<{ id: string; desc: string; result: string; details?: string; remediation?: string }>;
  }>;
  checks?: number;
  score?: number;
}

const RESULT: Record<string, TestResult> = { PASS: 'pass', WARN: 'fail', INFO: 'info', NOTE: 'warn' };

const finite = (v: unknown, fallback: number): number => {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : fallback;
};

export function parseDockerBench(json: string, machine: string): BenchResult {
  let log: DockerBenchLog;
  try {
    log = JSON.parse(json) as DockerBenchLog;
  } catch {
    throw new HlabError('command-failed', `docker-bench-security on "${machine}" wrote no valid JSON log.`, {
      machine,
    });
  }
  if (!Array.isArray(log.tests))
    throw new HlabError('command-failed', `docker-bench-security log of "${machine}" has no tests[].`, {
      machine,
    });
  const tests: BenchTest[] = [];
  const suggestions: BenchResult['suggestions'] = [];
  for (const section of log.tests)
    for (const r of section.results ?? []) {
      const result = RESULT[r.result] ?? 'info';
      tests.push({ id: r.id, title: r.desc, result, ...(r.details ? { details: r.details } : {}) });
      if (result === 'fail' && r.remediation) suggestions.push({ id: r.id, text: r.remediation });
    }
  return {
    tool: 'docker-bench',
    machine,
    at: new Date().toISOString(),
    // The log is written inside the guest: only finite numbers are believed.
    score: finite(log.score, 0),
    max: finite(log.checks, tests.length),
    tests,
    warnings: tests.filter((t) => t.result === 'fail').map((t) => ({ id: t.id, text: t.title ?? t.id })),
    suggestions,
    meta: { version: log.dockerbenchsecurity ?? 'unknown', commit: DOCKER_BENCH_COMMIT },
  };
}
