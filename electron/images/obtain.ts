/**
 * How a missing base image is got: built from Debian packages where this process can (Linux, root,
 * loop devices), otherwise pulled from the distribution's cloud images and seeded through
 * cloud-init — the path for an ordinary desktop user, who has neither root nor loop devices.
 */
import { existsSync } from 'node:fs';
import { HlabError } from '../../shared/errors.js';
import type { ImageInfo, Progress } from '../../shared/types.js';
import { buildImage } from './builder.js';
import { PULL_SOURCES, pullImage } from './pull.js';
import { IMAGE_BUILD_TOOLS, which } from '../platform/which.js';
import type { ImageStore } from './store.js';

export type ImageWay = 'build' | 'pull';

export function buildableHere(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  uid: number = process.getuid?.() ?? -1,
): boolean {
  return (
    platform === 'linux' &&
    uid === 0 &&
    existsSync('/dev/loop-control') &&
    IMAGE_BUILD_TOOLS.every((t) => which(t, env) !== undefined)
  );
}

/** The way `name` would be got here; undefined when neither works (no recipe to build, no source to pull). */
export function imageWay(name: string, canBuild: boolean): ImageWay | undefined {
  if (canBuild) return 'build';
  return PULL_SOURCES[name] ? 'pull' : undefined;
}

export async function obtainImage(
  store: ImageStore,
  name: string,
  o: {
    env: NodeJS.ProcessEnv;
    signal?: AbortSignal;
    progress?: (p: Progress) => void;
    log?: (line: string) => void;
    canBuild?: boolean;
  },
): Promise<ImageInfo> {
  const way = imageWay(name, o.canBuild ?? buildableHere(o.env));
  if (way === 'build') {
    o.log?.(`base image ${name} is missing: building it from Debian packages`);
    return buildImage(store, name, { signal: o.signal, progress: o.progress, log: o.log });
  }
  if (way === 'pull') {
    // HLAB_PULL_BASE_URL: a mirror of the cloud images (air-gapped sites, tests).
    const baseUrl = o.env.HLAB_PULL_BASE_URL;
    o.log?.(
      `base image ${name} is missing and cannot be built here (that needs root and loop devices): pulling the cloud image${baseUrl ? ` from ${baseUrl}` : ''}`,
    );
    return pullImage(store, name, {
      ...(baseUrl ? { baseUrl } : {}),
      signal: o.signal,
      progress: o.progress,
    });
  }
  throw new HlabError(
    'image-missing',
    `Base image "${name}" is not here, cannot be built by this user (building needs root and loop devices) and has no download source (known: ${Object.keys(PULL_SOURCES).join(', ')}).`,
    { image: name, hint: `build it as root: sudo hlab image build --name ${name}` },
  );
}
