/**
 * Boxes from our own base images: `hlab/<image>-<sha12>`, built once per image checksum (offline,
 * make-box.sh) and added to Vagrant with `vagrant box add`. The checksum in the name ties every
 * machine made from it back to the image recorded in the evidence.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../../shared/errors.js';
import type { ImageInfo } from '../../../shared/types.js';
import { appPath } from '../../platform/app-root.js';
import type { CommandRunner, OpOptions } from '../provider.js';
import { parseBoxList } from './parse.js';

const SCRIPT = appPath('electron', 'providers', 'vagrant', 'make-box.sh');

export function boxName(image: Pick<ImageInfo, 'name' | 'sha256'>): string {
  return `hlab/${image.name}-${image.sha256.slice(0, 12)}`;
}

/** Vagrant's public insecure key, which a box must accept (it ships inside Vagrant's gem). */
export function insecurePublicKey(
  roots = ['/usr/share/rubygems-integration/all/gems', '/opt/vagrant/embedded/gems'],
): string {
  for (const root of roots) {
    if (!existsSync(root)) continue;
    for (const gem of readdirSync(root)
      .filter((d) => d.startsWith('vagrant-'))
      .sort()
      .reverse()) {
      const key = path.join(root, gem, 'keys', 'vagrant.pub');
      if (existsSync(key)) return key;
    }
    // Newer layouts keep gems one level deeper (gems/gems/vagrant-X).
    const nested = path.join(root, 'gems');
    if (existsSync(nested)) {
      for (const gem of readdirSync(nested).filter((d) => d.startsWith('vagrant-'))) {
        const key = path.join(nested, gem, 'keys', 'vagrant.pub');
        if (existsSync(key)) return key;
      }
    }
  }
  throw new HlabError('tool-missing', "Vagrant's public insecure key (keys/vagrant.pub) was not found.", {
    hint: 'install Vagrant: apt-get install vagrant',
  });
}

export async function ensureBox(
  image: Pick<ImageInfo, 'name' | 'path' | 'sha256'>,
  o: OpOptions & { boxDir: string; vagrant: string; runner: CommandRunner; env: NodeJS.ProcessEnv },
): Promise<string> {
  const name = boxName(image);
  const list = await o.runner(o.vagrant, ['box', 'list', '--machine-readable'], {
    env: o.env,
    timeoutMs: 120_000,
    packageHint: 'vagrant',
  });
  if (parseBoxList(list.stdout).includes(name)) return name;
  const file = path.join(o.boxDir, `${image.name}-${image.sha256.slice(0, 12)}.box`);
  if (!existsSync(file)) {
    if (process.getuid?.() !== 0)
      throw new HlabError(
        'unavailable',
        `Building Vagrant box ${name} from image ${image.name} needs root and loop devices.`,
        {
          hint: `run once as root: hlab machine create NAME --provider vagrant`,
        },
      );
    mkdirSync(o.boxDir, { recursive: true });
    const r = await o.runner('bash', [SCRIPT, image.path, file, insecurePublicKey()], {
      env: o.env,
      signal: o.signal,
      timeoutMs: 30 * 60_000,
      onLine: (line) => {
        const m = /^##phase (\d) (.*)$/.exec(line);
        if (m) o.progress?.({ current: Number(m[1]) - 1, max: 4, description: `box ${name}: ${m[2]}` });
      },
    });
    if (r.code !== 0)
      throw new HlabError(
        'command-failed',
        `Building Vagrant box ${name} failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-5).join('\n')}`,
      );
  }
  o.progress?.({ current: 3, max: 4, description: `vagrant box add ${name}` });
  const add = await o.runner(o.vagrant, ['box', 'add', '--force', '--name', name, file], {
    env: o.env,
    signal: o.signal,
    timeoutMs: 30 * 60_000,
  });
  if (add.code !== 0)
    throw new HlabError(
      'command-failed',
      `vagrant box add ${name} failed (exit ${add.code}): ${(add.stderr || add.stdout).trim().split('\n').slice(-5).join('\n')}`,
    );
  return name;
}
