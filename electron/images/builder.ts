/** Builds (or reuses) a base image from its recipe, with progress per phase and cancellation. */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../shared/errors.js';
import type { ImageInfo, Progress } from '../../shared/types.js';
import { run } from '../platform/run.js';
import { BUILD_SCRIPT, loadImageRecipe } from './recipe.js';
import type { ImageStore } from './store.js';

const PHASES = 6;

export interface BuildOptions {
  force?: boolean;
  signal?: AbortSignal;
  progress?: (p: Progress) => void;
  log?: (line: string) => void;
  /** Where the recipe is (default labs/images): tests build their stand-ins from fixtures. */
  recipesDir?: string;
  /** Called before an existing image is replaced: may refuse (machines still stand on it). */
  beforeReplace?: (existing: ImageInfo) => Promise<void>;
}

async function checkPrerequisites(): Promise<void> {
  if (process.platform !== 'linux') {
    throw new HlabError('unavailable', 'Building images needs Linux (loop devices, mmdebstrap).', {
      hint: 'use: hlab image pull debian-12',
    });
  }
  if (process.getuid?.() !== 0) {
    throw new HlabError(
      'permission',
      'Building the base image needs root (it mounts a loop device and installs GRUB).',
      {
        hint: 'run it as root (sudo hlab image build), or use: hlab image pull debian-12',
      },
    );
  }
  if (!existsSync('/dev/loop-control')) {
    throw new HlabError(
      'unavailable',
      'No loop devices (/dev/loop-control is missing); the image builder needs them.',
      {
        hint: 'modprobe loop, or run on a machine/container that allows loop devices',
      },
    );
  }
  for (const [tool, pkg] of [
    ['mmdebstrap', 'mmdebstrap'],
    ['qemu-img', 'qemu-utils'],
    ['sfdisk', 'fdisk'],
    ['mkfs.ext4', 'e2fsprogs'],
  ] as const) {
    await run(tool, ['--version'], { packageHint: pkg, timeoutMs: 10_000 }).catch((err: HlabError) => {
      if (err.code === 'tool-missing') throw err;
    });
  }
}

export async function buildImage(
  store: ImageStore,
  name: string,
  opts: BuildOptions = {},
): Promise<ImageInfo> {
  const recipe = loadImageRecipe(name, opts.recipesDir);
  const p = store.paths(name);
  const cached = store.get(name);
  if (!opts.force && cached && cached.recipeHash === recipe.hash && existsSync(cached.path)) {
    opts.progress?.({
      current: PHASES,
      max: PHASES,
      description: `image ${name} is up to date (recipe ${recipe.hash.slice(0, 12)})`,
    });
    return cached;
  }
  if (cached && existsSync(cached.path)) await opts.beforeReplace?.(cached);
  await checkPrerequisites();
  const work = path.join(p.dir, 'work');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const out = path.join(p.dir, `${name}.building.qcow2`);
  let kernel = '';
  opts.progress?.({ current: 0, max: PHASES, description: 'starting image build' });
  const env = {
    ...process.env,
    HLAB_OUT: out,
    HLAB_WORK: work,
    HLAB_SUITE: recipe.suite,
    HLAB_MIRROR: recipe.mirror,
    HLAB_SECURITY_MIRROR: recipe.securityMirror,
    HLAB_KERNEL: recipe.kernel,
    HLAB_PACKAGES: recipe.packages.join(' '),
    HLAB_SIZE_MIB: String(recipe.diskSizeMiB),
    HLAB_ROOT_LABEL: recipe.rootLabel,
    HLAB_INITRAMFS_MODULES: recipe.initramfsModules.join(' '),
    HLAB_SEEDING: recipe.seeding,
  };
  const r = await run('bash', [BUILD_SCRIPT], {
    env,
    signal: opts.signal,
    onLine: (line) => {
      const phase = /^##phase (\d+) (.*)$/.exec(line);
      const k = /^##kernel (\S+)/.exec(line);
      if (phase) opts.progress?.({ current: Number(phase[1]) - 1, max: PHASES, description: phase[2] ?? '' });
      else if (k) kernel = k[1] ?? '';
      else if (line.trim() && !line.startsWith('##')) opts.log?.(line);
    },
  }).finally(() => {
    if (opts.signal?.aborted) rmSync(out, { force: true });
  });
  if (r.code !== 0 || !existsSync(out)) {
    const tail = r.stderr.trim().split('\n').slice(-8).join('\n');
    throw new HlabError('command-failed', `Image build of "${name}" failed (exit ${r.code}).`, {
      image: name,
      output: tail,
    });
  }
  opts.progress?.({ current: PHASES - 1, max: PHASES, description: 'computing checksum' });
  const packages = readFileSync(path.join(work, 'packages.txt'), 'utf8').split('\n').filter(Boolean);
  rmSync(work, { recursive: true, force: true });
  const info = await store.install(name, out, {
    kernel,
    recipeHash: recipe.hash,
    source: 'built',
    packages,
    seeding: recipe.seeding,
  });
  opts.progress?.({ current: PHASES, max: PHASES, description: `built ${name} (kernel ${kernel})` });
  return info;
}
