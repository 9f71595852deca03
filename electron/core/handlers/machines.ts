/** Machine, snapshot and exec handlers: provider work plus the SSH readiness the user waits for. */
import { HlabError } from '../../../shared/errors.js';
import type { MachineInfo, ProviderKind } from '../../../shared/types.js';
import { obtainImage } from '../../images/obtain.js';
import { ensureKeyPair, removeKeyPair } from '../../ssh/keys.js';
import { connectThroughReload, exec } from '../../ssh/session.js';
import { dropKept, execKept, keeperSocket } from '../../ssh/keeper.js';
import type { Handlers, OpContext } from '../dispatcher.js';
import { clientName, hostPath, requireName } from './input.js';
import { settingEgressAllow } from '../settings.js';
import { MAX_EGRESS_ENTRIES } from '../../../shared/egress.js';
import type { ServiceContext } from '../context.js';

const BOOT_TIMEOUT_MS = Number(process.env.HLAB_BOOT_TIMEOUT_MS ?? 300_000);
const RESTORE_TIMEOUT_MS = 120_000;

type MachineHandlers = Pick<
  Handlers,
  | 'machines.list'
  | 'machines.create'
  | 'machines.add'
  | 'machines.up'
  | 'machines.down'
  | 'machines.destroy'
  | 'machines.egress'
  | 'snapshots.list'
  | 'snapshots.take'
  | 'snapshots.restore'
  | 'snapshots.remove'
  | 'machines.exec'
>;

function optionalInt(v: unknown, field: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new HlabError(
      'bad-request',
      `${field} must be a whole number between ${min} and ${max} (got ${JSON.stringify(v)}).`,
    );
  }
  return v;
}

export function providerKind(ctx: ServiceContext, v: unknown): ProviderKind {
  const kinds = ctx.machines.providers().map((p) => p.kind);
  if (v === undefined || v === null) {
    const first = ctx.machines.providers().find((p) => p.capabilities.createFromImage);
    if (!first) throw new HlabError('unavailable', 'No provider here creates machines from an image.');
    return first.kind;
  }
  if (!kinds.includes(v as ProviderKind))
    throw new HlabError(
      'bad-request',
      `provider must be one of ${kinds.join(', ')} (got ${JSON.stringify(v)}).`,
    );
  return v as ProviderKind;
}

/** A new machine from a base image (built, or pulled where it cannot be built, when missing), with a fresh key pair and host-key pin. */
export async function createMachine(
  ctx: ServiceContext,
  kind: ProviderKind,
  spec: {
    name: string;
    image: string;
    memoryMiB: number;
    cpus: number;
    sshPort?: number;
    ready?: boolean;
    host?: string;
  },
  op: Pick<OpContext, 'signal' | 'progress' | 'log'>,
): Promise<MachineInfo> {
  const { name, image: imageName } = spec;
  if (ctx.machines.exists(name))
    throw new HlabError('conflict', `A machine named "${name}" already exists.`, { machine: name });
  if (!ctx.images.get(imageName)) {
    await obtainImage(ctx.images, imageName, {
      env: ctx.env,
      signal: op.signal,
      progress: op.progress,
      log: (l) => op.log('info', l),
    });
    ctx.broadcast('images.changed', { name: imageName });
  }
  op.progress({ current: 0, max: -1, description: `verifying base image ${imageName}` });
  const image = await ctx.images.verified(imageName);
  // A recreated machine gets a new host key: reset its pin on purpose.
  ctx.knownHosts.forget(name);
  removeKeyPair(ctx.paths.keys, name);
  const key = ensureKeyPair(ctx.paths.keys, name);
  const egressAllow = settingEgressAllow(ctx.home);
  return ctx.machines.create(
    kind,
    {
      name,
      image,
      memoryMiB: spec.memoryMiB,
      cpus: spec.cpus,
      publicKey: key.publicKey,
      ...(spec.sshPort ? { sshPort: spec.sshPort } : {}),
      ...(spec.host ? { host: spec.host } : {}),
      ...(egressAllow.length ? { egressAllow } : {}),
    },
    { signal: op.signal, progress: op.progress, ready: spec.ready === true },
  );
}

export function machineHandlers(ctx: ServiceContext): MachineHandlers {
  const changed = (name: string) => ctx.broadcast('machines.changed', { name });
  return {
    'machines.list': async (req) => {
      const list = await ctx.machines.list();
      if (req?.snapshots !== true) return list;
      return Promise.all(
        list.map(async (m) => ({
          ...m,
          // An unreachable lab server was already waited for once: do not wait again per machine.
          snapshots:
            m.state === 'unreachable'
              ? []
              : await ctx.machines
                  .owner(m.name)
                  .snapshots.list(m.name)
                  .then((l) => l.map((x) => x.name))
                  .catch(() => []),
        })),
      );
    },

    'machines.create': async (req, op) => {
      const name = requireName(req.name, 'name');
      const kind = providerKind(ctx, req.provider);
      const info = await createMachine(
        ctx,
        kind,
        {
          name,
          image: requireName(req.image ?? 'debian-12', 'image'),
          memoryMiB: optionalInt(req.memoryMiB, 'memoryMiB', 256, 65536) ?? 1024,
          cpus: optionalInt(req.cpus, 'cpus', 1, 64) ?? 2,
          sshPort: optionalInt(req.sshPort, 'sshPort', 1024, 65535),
          ready: req.ready === true,
          ...(req.host !== undefined ? { host: requireName(req.host, 'host') } : {}),
        },
        op,
      );
      changed(name);
      return info;
    },

    'machines.add': async (req, op) => {
      const name = requireName(req.name, 'name');
      const kind = providerKind(ctx, req.provider);
      for (const field of ['vm', 'sshUser'] as const) {
        const v = req[field];
        if (v !== undefined && (typeof v !== 'string' || !v.trim() || v.length > 4096 || v.includes('\0')))
          throw new HlabError(
            'bad-request',
            `${field} must be a non-empty string (got ${JSON.stringify(v)}).`,
          );
      }
      // A project folder (where `vagrant` runs a Ruby Vagrantfile) and a key file are host paths:
      // only the CLI names them, as for every other host path (A1).
      if (req.dir !== undefined) req = { ...req, dir: hostPath(op, req.dir, 'dir') };
      if (req.sshKeyFile !== undefined)
        req = { ...req, sshKeyFile: hostPath(op, req.sshKeyFile, 'sshKeyFile') };
      if (req.host !== undefined) req = { ...req, host: requireName(req.host, 'host') };
      ctx.knownHosts.forget(name);
      const info = await ctx.machines.adopt(
        { ...req, name, provider: kind },
        { signal: op.signal, progress: op.progress },
      );
      changed(name);
      return info;
    },

    'machines.up': async (req, op) => {
      const name = requireName(req.name, 'name');
      try {
        return await ctx.machines.up(name, { ...op, timeoutMs: BOOT_TIMEOUT_MS });
      } finally {
        changed(name);
      }
    },

    'machines.down': async (req, op) => {
      const name = requireName(req.name, 'name');
      return ctx.jobs.hold(name, 'shutdown', clientName(op), async () => {
        ctx.terminals.closeMachine(name, `machine "${name}" was stopped`);
        await dropKept(keeperSocket(ctx.home, name));
        await ctx.machines
          .owner(name)
          .down(name, { force: req.force === true, signal: op.signal, progress: op.progress });
        changed(name);
        return ctx.machines.get(name);
      });
    },

    'machines.destroy': async (req, op) => {
      const name = requireName(req.name, 'name');
      return ctx.jobs.hold(name, 'removal', clientName(op), async () => {
        await dropKept(keeperSocket(ctx.home, name));
        await ctx.machines.owner(name).destroy(name);
        ctx.knownHosts.forget(name);
        removeKeyPair(ctx.paths.keys, name);
        changed(name);
        return { destroyed: name };
      });
    },

    'machines.egress': async (req) => {
      const name = requireName(req.name, 'name');
      const list = (v: unknown, field: string): string[] | undefined => {
        if (v === undefined || v === null) return undefined;
        if (!Array.isArray(v) || v.length > MAX_EGRESS_ENTRIES || v.some((e) => typeof e !== 'string'))
          throw new HlabError(
            'bad-request',
            `${field} must be a list of at most ${MAX_EGRESS_ENTRIES} "HOST:PORT" strings.`,
          );
        return v as string[];
      };
      const policy = ctx.machines.egress(name, {
        allow: list(req.allow, 'allow'),
        remove: list(req.remove, 'remove'),
      });
      changed(name);
      return policy;
    },

    'snapshots.list': async (req) => {
      const machine = requireName(req.machine, 'machine');
      return ctx.machines.owner(machine).snapshots.list(machine);
    },

    'snapshots.take': async (req, op) => {
      const machine = requireName(req.machine, 'machine');
      return ctx.jobs.hold(machine, `snapshot ${String(req.snapshot)}`, clientName(op), async () => {
        try {
          return await ctx.machines.owner(machine).snapshots.take(machine, req.snapshot, {
            signal: op.signal,
            progress: op.progress,
          });
        } finally {
          changed(machine);
        }
      });
    },

    'snapshots.restore': async (req, op) => {
      const machine = requireName(req.machine, 'machine');
      return ctx.jobs.hold(
        machine,
        `restore of snapshot ${String(req.snapshot)}`,
        clientName(op),
        async () => {
          try {
            // Connections open across a restore stall: end shells first (their tabs offer to reconnect).
            if (
              (await ctx.machines.owner(machine).snapshots.list(machine)).some((s) => s.name === req.snapshot)
            ) {
              ctx.terminals.closeMachine(
                machine,
                `machine "${machine}" was restored to snapshot "${req.snapshot}"`,
              );
            }
            const snap = await ctx.machines.restore(machine, req.snapshot, {
              signal: op.signal,
              progress: op.progress,
              timeoutMs: RESTORE_TIMEOUT_MS,
            });
            return snap;
          } finally {
            changed(machine);
          }
        },
      );
    },

    'snapshots.remove': async (req, op) => {
      const machine = requireName(req.machine, 'machine');
      return ctx.jobs.hold(
        machine,
        `removal of snapshot ${String(req.snapshot)}`,
        clientName(op),
        async () => {
          await ctx.machines.owner(machine).snapshots.remove(machine, req.snapshot);
          changed(machine);
          return { removed: req.snapshot };
        },
      );
    },

    'machines.exec': async (req, op) => {
      const machine = requireName(req.machine, 'machine');
      if (typeof req.command !== 'string' || !req.command.trim())
        throw new HlabError('bad-request', 'command must be a non-empty string.');
      const timeoutMs = optionalInt(req.timeoutMs, 'timeoutMs', 1, 24 * 3600_000);
      const opts = {
        signal: op.signal,
        ...(timeoutMs ? { timeoutMs } : {}),
        // Raw chunks: `hlab exec` must pass a command's output on byte for byte, like ssh does.
        onStdout: (s: string) => op.log('stdout', s),
        onStderr: (s: string) => op.log('stderr', s),
      };
      const keep = ctx.keepConnection && req.fresh !== true;
      if (keep) {
        const kept = await execKept(keeperSocket(ctx.home, machine), req.command, opts);
        if (kept) return kept;
      }
      const target = await ctx.machines.targetOf(machine);
      const client = await connectThroughReload(target, ctx.knownHosts, op.signal);
      try {
        return await exec(client, req.command, opts);
      } finally {
        client.end();
        // No keeper answered: start one for the calls that follow.
        if (keep) ctx.keepConnection?.(machine);
      }
    },
  };
}
