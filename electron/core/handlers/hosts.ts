/** Lab servers: the pool libvirt machines are placed on (`hlab hosts …`, the Hosts view). */
import { HlabError } from '../../../shared/errors.js';
import type { Handlers } from '../dispatcher.js';
import type { ServiceContext } from '../context.js';
import { hostPath, requireName } from './input.js';

type HostHandlers = Pick<Handlers, 'hosts.list' | 'hosts.add' | 'hosts.remove' | 'hosts.key'>;

function accel(v: unknown): 'auto' | 'kvm' | 'tcg' | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === 'auto' || v === 'kvm' || v === 'tcg') return v;
  throw new HlabError('bad-request', `accel must be auto, kvm or tcg (got ${JSON.stringify(v)}).`);
}

export function hostHandlers(ctx: ServiceContext): HostHandlers {
  return {
    'hosts.list': () => ctx.machines.hosts().list(),
    'hosts.add': async (req, op) => {
      const name = requireName(req.name, 'name');
      if (typeof req.uri !== 'string' || req.uri.length > 500)
        throw new HlabError('bad-request', 'uri must be a libvirt URI such as qemu+ssh://USER@HOST/system.');
      const a = accel(req.accel);
      const info = await ctx.machines.hosts().add(
        {
          name,
          uri: req.uri,
          // A key file is a path on this computer: only the CLI names one, as for every host path.
          ...(req.keyFile !== undefined ? { keyFile: hostPath(op, req.keyFile, 'keyFile') } : {}),
          ...(a ? { accel: a } : {}),
          ...(req.packageProxy === true ? { packageProxy: true } : {}),
        },
        { signal: op.signal, progress: op.progress },
      );
      ctx.broadcast('machines.changed', { name: '' });
      return info;
    },
    'hosts.remove': async (req) => {
      const r = await ctx.machines
        .hosts()
        .remove(requireName(req.name, 'name'), { forget: req.forget === true });
      ctx.broadcast('machines.changed', { name: '' });
      return r;
    },
    'hosts.key': async () => ({ publicKey: ctx.machines.hosts().publicKey() }),
  };
}
