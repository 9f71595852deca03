/** Installation settings the user sets once (`hlab settings set`), kept in the home's settings.json. */
/**
 * docker-bench-dir: a local docker-bench-security copy. egress-allow: HOST:PORT entries (space
 * separated) that every new filtered machine may reach besides Debian's mirrors.
 */
export const SETTING_KEYS = ['docker-bench-dir', 'egress-allow'] as const;
export type SettingKey = (typeof SETTING_KEYS)[number];

/** Settings that name a host folder (only the local CLI may set them). */
export const PATH_SETTINGS: readonly SettingKey[] = ['docker-bench-dir'];

/** Where docker-bench-security comes from: a local copy (flag, env, setting) or GitHub in the guest. */
export type DockerBenchSource =
  | { kind: 'github'; repo: string; commit: string }
  | {
      kind: 'local';
      dir: string;
      from: 'flag' | 'env' | 'setting';
      version?: string;
      files?: number;
      /** Why the folder cannot be used (it is then not used, and the bench fails saying so). */
      problem?: string;
    };

export interface SettingsView {
  values: Partial<Record<SettingKey, string>>;
  dockerBench: DockerBenchSource;
}
