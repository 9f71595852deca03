/**
 * The Docker side of docker-bench's daemon checks, measured live from the daemon rather than
 * read from files: `docker info`, the default bridge, dockerd's command line, and what a probe
 * container actually gets (its NoNewPrivs flag, whether a published port spawns docker-proxy,
 * whether `--privileged` is refused). Test ids are docker-bench's (CIS Docker 1.6.0 numbering),
 * so the docker-daemon step's claims are judged here too, where docker-bench itself cannot run.
 */
import type { BenchResult, BenchTest } from '../../shared/bench.js';
import { readFileSync } from 'node:fs';
import { appPath } from '../platform/app-root.js';
import type { SshExecutor } from '../ssh/executor.js';

/** The measuring script (docker-config.sh, beside this file in the sources and the bundle). */
const SCRIPT = appPath('electron', 'bench', 'docker-config.sh');

function facts(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    // Guest output: keys are ours, values are cut short and kept as text.
    if (i > 0 && /^[a-z_]+$/.test(line.slice(0, i)))
      m.set(
        line.slice(0, i),
        line
          .slice(i + 1)
          .trim()
          .slice(0, 400),
      );
  }
  return m;
}

export function parseDockerConfig(text: string, machine: string): BenchResult {
  const f = facts(text);
  const at = new Date().toISOString();
  const why =
    f.get('installed') !== 'yes'
      ? 'docker is not installed'
      : f.get('running') !== 'yes'
        ? 'dockerd is not running'
        : undefined;
  const tests: BenchTest[] = [];
  const add = (id: string, title: string, result: BenchTest['result'], details?: string) =>
    tests.push({
      id,
      title,
      result: why ? 'skip' : result,
      ...((why ?? details) ? { details: why ?? details } : {}),
    });
  const secopts = (f.get('security_options') ?? '').split(/\s+/).filter(Boolean);
  const options = `security options: ${secopts.join(' ') || 'none'}`;
  const has = (opt: string) => secopts.some((o) => o === opt || o.startsWith(`${opt},`));
  const [level, levelFrom] = (f.get('log_level') ?? '').split(' ');
  const nnp = f.get('probe_nnp');
  const proxy = f.get('probe_proxy');
  const privileged = (f.get('privileged_running') ?? '').trim();
  const allowed = f.get('privileged_allowed') ?? '';

  add(
    '2.2',
    'Network traffic is restricted between containers on the default bridge',
    f.get('icc') === 'false' ? 'pass' : 'fail',
    `default bridge enable_icc=${f.get('icc') || 'unknown'}`,
  );
  add(
    '2.3',
    "The logging level is set to 'info'",
    !level || level === 'info' ? 'pass' : 'fail',
    level ? `log-level ${level} (${levelFrom})` : 'log-level not set (info)',
  );
  add('2.9', 'User namespace support is enabled', has('name=userns') ? 'pass' : 'fail', options);
  add(
    '2.13',
    'Centralized and remote logging is configured',
    f.get('logging_driver') === 'json-file' ? 'fail' : 'pass',
    `logging driver ${f.get('logging_driver') || 'unknown'}`,
  );
  add(
    '2.14',
    'Containers are restricted from acquiring new privileges',
    nnp === '1' ? 'pass' : nnp === '0' ? 'fail' : 'skip',
    nnp !== undefined
      ? `a probe container has NoNewPrivs: ${nnp}`
      : `no probe container: ${f.get('probe_error') ?? 'not run'}`,
  );
  add(
    '2.15',
    'Live restore is enabled',
    f.get('live_restore') === 'true' ? 'pass' : 'fail',
    `LiveRestoreEnabled=${f.get('live_restore') || 'unknown'}`,
  );
  add(
    '2.16',
    'The userland proxy is disabled',
    proxy === 'no' ? 'pass' : proxy === 'yes' ? 'fail' : 'skip',
    proxy
      ? `a published port ${proxy === 'yes' ? 'starts' : 'starts no'} docker-proxy`
      : 'no probe container could publish a port',
  );
  add(
    '2.17',
    "The daemon's default seccomp profile is applied",
    has('name=seccomp') ? 'pass' : 'info',
    options,
  );
  add(
    '5.5',
    'Privileged containers are not used',
    privileged ? 'fail' : 'pass',
    privileged ? `running privileged: ${privileged}` : 'no running container is privileged',
  );
  add(
    'privileged-refused',
    'The daemon refuses --privileged containers',
    allowed.startsWith('no') ? 'pass' : allowed === 'yes' ? 'warn' : 'skip',
    allowed.startsWith('no')
      ? `refused: ${allowed.slice(3)}`
      : allowed === 'yes'
        ? 'a --privileged container started'
        : 'not tried',
  );
  const scored = tests.filter((t) => t.result === 'pass' || t.result === 'fail');
  return {
    tool: 'docker-config',
    machine,
    at,
    score:
      scored.filter((t) => t.result === 'pass').length - scored.filter((t) => t.result === 'fail').length,
    max: scored.length,
    tests,
    warnings: tests.filter((t) => t.result === 'fail').map((t) => ({ id: t.id, text: t.title ?? t.id })),
    suggestions: tests.filter((t) => t.result === 'warn').map((t) => ({ id: t.id, text: t.title ?? t.id })),
    meta: Object.fromEntries(
      (
        [
          ['docker', f.get('version')],
          ['runtimes', f.get('runtimes')?.trim()],
          ['defaultRuntime', f.get('default_runtime')],
          ['cgroupDriver', f.get('cgroup_driver')],
          ['securityOptions', secopts.join(' ')],
          ['state', why ?? 'running'],
        ] as const
      ).flatMap(([k, v]) => (v ? [[k, v]] : [])),
    ),
  };
}

export async function runDockerConfig(
  ex: SshExecutor,
  machine: string,
  o: { signal?: AbortSignal } = {},
): Promise<BenchResult> {
  const r = await ex.runScript(readFileSync(SCRIPT, 'utf8'), { timeoutMs: 5 * 60_000, signal: o.signal });
  return parseDockerConfig(r.stdout, machine);
}
