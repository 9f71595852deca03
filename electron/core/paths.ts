import os from 'node:os';
import path from 'node:path';

export const APP_NAME = 'hardening-lab';

/**
 * Where all data lives. Matches Electron's `app.getPath('userData')` for our app name so the
 * desktop app and the CLI share one home; `$HLAB_HOME` overrides (tests always set it).
 */
export function hlabHome(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  if (env.HLAB_HOME) return path.resolve(env.HLAB_HOME);
  const home = os.homedir();
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', APP_NAME);
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), APP_NAME);
  return path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), APP_NAME);
}

export const homePaths = (home: string) => ({
  images: path.join(home, 'images'),
  machines: path.join(home, 'machines'),
  keys: path.join(home, 'keys'),
  knownHosts: path.join(home, 'known_hosts.json'),
  runs: path.join(home, 'runs'),
});
