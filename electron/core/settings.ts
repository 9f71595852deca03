/**
 * settings.json in the home: small, user-set, validated on read so a hand edit that breaks it is
 * reported with the file and field instead of being ignored.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../shared/errors.js';
import { egressEntries } from '../../shared/egress.js';
import { SETTING_KEYS, type DockerBenchSource, type SettingKey } from '../../shared/settings.js';
import { DOCKER_BENCH_ENV, readDockerBenchCopy, type DockerBenchCopy } from '../bench/docker-bench-copy.js';
import { DOCKER_BENCH_COMMIT, DOCKER_BENCH_REPO } from '../bench/docker-bench.js';
import { writeFileAtomic } from '../platform/atomic-write.js';

export type Settings = Partial<Record<SettingKey, string>>;

const file = (home: string) => path.join(home, 'settings.json');

export function readSettings(home: string): Settings {
  const f = file(home);
  if (!existsSync(f)) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(f, 'utf8'));
  } catch (err) {
    throw new HlabError('bad-request', `${f}: not valid JSON (${(err as Error).message}).`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new HlabError('bad-request', `${f}: must hold a JSON object of settings.`);
  const out: Settings = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!(SETTING_KEYS as readonly string[]).includes(k))
      throw new HlabError('bad-request', `${f}: ${k}: unknown setting (known: ${SETTING_KEYS.join(', ')}).`);
    if (typeof v !== 'string') throw new HlabError('bad-request', `${f}: ${k}: must be a string.`);
    out[k as SettingKey] = v;
  }
  return out;
}

export function writeSetting(home: string, key: SettingKey, value: string | undefined): Settings {
  const next = { ...readSettings(home) };
  if (value === undefined) delete next[key];
  else next[key] = value;
  writeFileAtomic(file(home), `${JSON.stringify(next, null, 1)}\n`, { mode: 0o600 });
  return next;
}

/** The egress-allow setting: entries every new filtered machine may reach besides Debian's mirrors. */
export function settingEgressAllow(home: string): string[] {
  const text = readSettings(home)['egress-allow'];
  if (!text) return [];
  try {
    return egressEntries(text);
  } catch (err) {
    throw new HlabError('bad-request', `${file(home)}: egress-allow: ${(err as Error).message}`);
  }
}

/** A flag beats the environment, which beats the setting; without any, the guest fetches it. */
export function dockerBenchSource(
  home: string,
  env: NodeJS.ProcessEnv,
  flag?: string,
): { source: DockerBenchSource; copy?: DockerBenchCopy } {
  const envDir = env[DOCKER_BENCH_ENV]?.trim();
  const setting = readSettings(home)['docker-bench-dir'];
  const [dir, from] = flag
    ? [flag, 'flag' as const]
    : envDir
      ? [envDir, 'env' as const]
      : setting
        ? [setting, 'setting' as const]
        : [undefined, undefined];
  if (!dir || !from)
    return { source: { kind: 'github', repo: DOCKER_BENCH_REPO, commit: DOCKER_BENCH_COMMIT } };
  try {
    const copy = readDockerBenchCopy(dir);
    return {
      source: { kind: 'local', dir: copy.dir, from, version: copy.version, files: copy.files.length },
      copy,
    };
  } catch (err) {
    return { source: { kind: 'local', dir: path.resolve(dir), from, problem: (err as Error).message } };
  }
}

/** The copy a bench must use, or the error saying why the configured one cannot be used. */
export function dockerBenchCopy(
  home: string,
  env: NodeJS.ProcessEnv,
  flag?: string,
): DockerBenchCopy | undefined {
  const { source, copy } = dockerBenchSource(home, env, flag);
  if (source.kind === 'local' && source.problem)
    throw new HlabError(
      'bad-request',
      `${source.problem} (set by ${source.from === 'env' ? DOCKER_BENCH_ENV : source.from === 'flag' ? '--docker-bench' : 'the docker-bench-dir setting'})`,
    );
  return copy;
}
