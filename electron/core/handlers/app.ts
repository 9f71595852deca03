import { readFileSync } from 'node:fs';
import { appPath } from '../../platform/app-root.js';
import { buildImage } from '../../images/builder.js';
import { pullImage } from '../../images/pull.js';
import type { Handlers } from '../dispatcher.js';
import { HlabError } from '../../../shared/errors.js';
import type { ImageInfo } from '../../../shared/types.js';
import { doctor } from '../../machines/doctor.js';
import type { ServiceContext } from '../context.js';

const pkgFile = appPath('package.json');
export const APP_VERSION = (JSON.parse(readFileSync(pkgFile, 'utf8')) as { version: string }).version;

/**
 * A machine's disk is an overlay that reads its base image in place: replacing the image under it
 * (a rebuild, a pull of the same name) would silently corrupt the machine. Refused, with its names.
 */
function refuseIfInUse(ctx: ServiceContext) {
  return async (image: ImageInfo): Promise<void> => {
    const users = (await ctx.machines.list()).filter((m) => m.image === image.name).map((m) => m.name);
    if (users.length)
      throw new HlabError(
        'conflict',
        `Image "${image.name}" is the base of ${users.length === 1 ? 'machine' : 'machines'} ${users.join(', ')}; replacing it would break ${users.length === 1 ? 'it' : 'them'}. Nothing was changed.`,
        {
          image: image.name,
          machines: users,
          hint: `remove ${users.length === 1 ? 'it' : 'them'} first: hlab machine rm ${users.join(' ')}`,
        },
      );
  };
}

export function appHandlers(
  ctx: ServiceContext,
): Pick<
  Handlers,
  'app.info' | 'app.doctor' | 'providers.list' | 'images.list' | 'images.build' | 'images.pull'
> {
  return {
    'app.info': async () => ({
      name: 'Hardening Lab',
      version: APP_VERSION,
      home: ctx.home,
      platform: `${process.platform}-${process.arch}`,
      node: process.versions.node,
    }),
    'app.doctor': async () =>
      doctor({
        providers: await ctx.machines.statuses(),
        images: ctx.images.list(),
        imageDir: ctx.images.dir,
        env: ctx.env,
        hosts: await ctx.machines.hosts().list(),
      }),
    'providers.list': async () => ctx.machines.statuses(),
    'images.list': async () => ctx.images.list(),
    'images.build': async (req, op) => {
      const name = req.name ?? 'debian-12';
      const info = await buildImage(ctx.images, name, {
        force: req.force === true,
        beforeReplace: refuseIfInUse(ctx),
        signal: op.signal,
        progress: op.progress,
        log: (line) => op.log('info', line),
      });
      ctx.broadcast('images.changed', { name });
      return info;
    },
    'images.pull': async (req, op) => {
      const name = req.name ?? 'debian-12';
      const info = await pullImage(ctx.images, name, {
        beforeReplace: refuseIfInUse(ctx),
        ...(req.baseUrl || ctx.env.HLAB_PULL_BASE_URL
          ? { baseUrl: req.baseUrl ?? ctx.env.HLAB_PULL_BASE_URL }
          : {}),
        signal: op.signal,
        progress: op.progress,
      });
      ctx.broadcast('images.changed', { name });
      return info;
    },
  };
}
