/**
 * docker-bench-security over SSH. It is not packaged by Debian: a local copy the user gives
 * (flag, setting or HLAB_DOCKER_BENCH_DIR) is uploaded over SFTP and its hashes checked in the
 * guest before it runs; otherwise it is fetched into the guest from its public repository at a
 * pinned commit, and a guest without internet access gets a clear error instead of a hang. Its
 * `-l FILE` JSON log is parsed into the shared model.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../shared/errors.js';
import { GUEST_APT_PROXY_FILE } from '../../shared/egress.js';
import type { BenchResult, BenchTest, TestResult } from '../../shared/bench.js';
import { shQuote, type SshExecutor } from '../ssh/executor.js';
import { DOCKER_BENCH_ENV, guestDir, type DockerBenchCopy } from './docker-bench-copy.js';

export const DOCKER_BENCH_REPO = 'https://github.com/docker/docker-bench-security';
/** v1.6.0 as of October 2024 (HEAD of the repository then; the script says version 1.6.0). */
export const DOCKER_BENCH_COMMIT = 'ff26d67f25be60fc2d82a01710ee14570b2cb9db';
const FETCHED_DIR = `/var/tmp/hlab-docker-bench-${DOCKER_BENCH_COMMIT.slice(0, 12)}`;

const preflight = [
  'set -e',
  'command -v dockerd >/dev/null || { echo "HLAB-NO-DOCKER"; exit 3; }',
  'docker info >/dev/null 2>&1 || { echo "HLAB-DOCKER-DOWN"; exit 3; }',
];

/** Runs it from inside its folder (its paths are relative) and prints the JSON log. */
const runFrom = (dir: string, checks?: string[]) => [
  `cd ${dir} && rm -f ${dir}/log.json`,
  // It reads only --config-file=PATH (with "=") or /etc/docker/daemon.json.
  `bash docker-bench-security.sh -b -l ${dir}/log ${checks?.length ? `-c ${checks.map(shQuote).join(',')}` : ''} >${dir}/output.txt 2>&1 || true`,
  `[ -s ${dir}/log.json ] || { echo "HLAB-NO-LOG"; tail -n 5 ${dir}/output.txt; exit 5; }`,
  `cat ${dir}/log.json`,
];

export function dockerBenchScript(checks?: string[]): string {
  const url = `https://codeload.github.com/docker/docker-bench-security/tar.gz/${DOCKER_BENCH_COMMIT}`;
  return [
    ...preflight,
    `if [ ! -f ${FETCHED_DIR}/docker-bench-security.sh ]; then`,
    // A filtered machine reaches GitHub only through the package proxy, and only when its egress
    // allow list names codeload.github.com:443; curl then goes through the same proxy.
    `  proxy=$(sed -n 's#^Acquire::https::Proxy "\\(http://[0-9.:]*\\)";$#\\1#p' ${GUEST_APT_PROXY_FILE} 2>/dev/null)`,
    '  if [ -n "$proxy" ]; then export https_proxy="$proxy"; hp=${proxy#http://}',
    `    timeout 10 bash -c 'exec 3<>/dev/tcp/\${0%:*}/\${0##*:}; printf "CONNECT codeload.github.com:443 HTTP/1.1\\r\\n\\r\\n" >&3; read -r _ code _ <&3; [ "$code" = 200 ]' "$hp" 2>/dev/null || { echo "HLAB-NO-INTERNET"; exit 4; }`,
    '  else timeout 10 bash -c "</dev/tcp/codeload.github.com/443" 2>/dev/null || { echo "HLAB-NO-INTERNET"; exit 4; }; fi',
    '  command -v curl >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q --no-install-recommends curl >/dev/null; }',
    `  mkdir -p ${FETCHED_DIR}.tmp && curl -fsSL ${url} | tar -xz --strip-components=1 -C ${FETCHED_DIR}.tmp && mv ${FETCHED_DIR}.tmp ${FETCHED_DIR}`,
    'fi',
    ...runFrom(FETCHED_DIR, checks),
  ].join('\n');
}

/**
 * The uploaded copy is moved into a root-owned folder and checked against the hashes taken on
 * the host, so what runs as root is byte for byte what the evidence names.
 */
export function localDockerBenchScript(copy: DockerBenchCopy, staging: string, checks?: string[]): string {
  const dir = guestDir(copy);
  const sums = copy.files.map((f) => `${f.sha256}  ${f.path}`).join('\n');
  return [
    ...preflight,
    `rm -rf ${dir} && mkdir -p ${path.posix.dirname(dir)} && chmod 0700 ${path.posix.dirname(dir)}`,
    `mv ${shQuote(staging)} ${dir} && chown -R root:root ${dir}`,
    `cd ${dir} && sha256sum --quiet -c - <<'HLAB_SUMS' || { echo "HLAB-HASH-MISMATCH"; exit 6; }`,
    sums,
    'HLAB_SUMS',
    ...runFrom(dir, checks),
  ].join('\n');
}

async function uploadCopy(ex: SshExecutor, copy: DockerBenchCopy, signal?: AbortSignal): Promise<string> {
  const staging = (await ex.run('mktemp -d /tmp/hlab-docker-bench.XXXXXX', { signal })).stdout.trim();
  await ex.writeTree(
    staging,
    copy.files.map((f) => ({ path: f.path, data: readFileSync(path.join(copy.dir, f.path)), mode: 0o755 })),
  );
  return staging;
}

export async function runDockerBench(
  ex: SshExecutor,
  machine: string,
  o: { checks?: string[]; copy?: DockerBenchCopy; signal?: AbortSignal } = {},
): Promise<BenchResult> {
  const { copy } = o;
  const script = copy
    ? localDockerBenchScript(copy, await uploadCopy(ex, copy, o.signal), o.checks)
    : dockerBenchScript(o.checks);
  const r = await ex.runScript(script, { timeoutMs: 20 * 60_000, signal: o.signal });
  if (r.stdout.includes('HLAB-NO-DOCKER') || r.stdout.includes('HLAB-DOCKER-DOWN'))
    throw new HlabError(
      'vm-state',
      `docker-bench-security needs a running dockerd, and machine "${machine}" has none (run the docker-daemon step first).`,
      { machine },
    );
  if (r.stdout.includes('HLAB-NO-INTERNET'))
    throw new HlabError(
      'unavailable',
      `Machine "${machine}" cannot reach github.com: docker-bench-security is fetched from ${DOCKER_BENCH_REPO} at commit ${DOCKER_BENCH_COMMIT.slice(0, 12)}. Give a local copy instead (hlab bench --docker-bench DIR, the docker-bench-dir setting or ${DOCKER_BENCH_ENV}), or use --tool docker-config, lynis or checks. A filtered machine reaches GitHub only with codeload.github.com:443 in its egress allow list (hlab machine egress ${machine} allow codeload.github.com:443).`,
      { machine },
    );
  if (r.stdout.includes('HLAB-HASH-MISMATCH'))
    throw new HlabError(
      'command-failed',
      `The docker-bench-security copy from ${copy?.dir} arrived changed on "${machine}" (sha256 mismatch); it was not run.`,
      { machine },
    );
  if (r.stdout.includes('HLAB-NO-LOG') || r.exitCode !== 0)
    throw new HlabError(
      'command-failed',
      `docker-bench-security ${copy ? `from ${copy.dir} ` : ''}wrote no log on "${machine}": ${(r.stdout.split('HLAB-NO-LOG')[1] ?? r.stderr).trim().slice(-300)}`,
      { machine },
    );
  const result = parseDockerBench(r.stdout, machine);
  if (!copy)
    return { ...result, meta: { ...result.meta, source: DOCKER_BENCH_REPO, commit: DOCKER_BENCH_COMMIT } };
  return {
    ...result,
    meta: {
      ...result.meta,
      source: 'local copy',
      folder: copy.dir,
      scriptVersion: copy.version,
      filesSha256: copy.digest,
    },
    inputs: copy.files,
  };
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
    meta: { version: String(log.dockerbenchsecurity ?? 'unknown').slice(0, 40) },
  };
}
