/** Machine, snapshot and exec handlers: provider work plus the SSH readiness the user waits for. */
import { HlabError } from '../../../shared/errors.js';
import type { MachineInfo } from '../../../shared/types.js';
import { buildImage } from '../../images/builder.js';
import { NAME_PATTERN } from '../../providers/provider.js';
import { ensureKeyPair, removeKeyPair } from '../../ssh/keys.js';
import { connect, exec, waitForSsh, type SshTarget } from '../../ssh/session.js';
import { SshExecutor } from '../../ssh/executor.js';
import type { Handlers, OpContext } from '../dispatcher.js';
import type { ServiceContext } from '../context.js';

const BOOT_TIMEOUT_MS = Number(process.env.HLAB_BOOT_TIMEOUT_MS ?? 300_000);
const RESTORE_TIMEOUT_MS = 120_000;

type MachineHandlers = Pick<
  Handlers,
  | 'machines.list'
  | 'machines.create'
  | 'machines.up'
  | 'machines.down'
  | 'machines.destroy'
  | 'snapshots.list'
  | 'snapshots.take'
  | 'snapshots.restore'
  | 'snapshots.remove'
  | 'machines.exec'
>;

function requireName(v: unknown, field: string): string {
  if (typeof v !== 'string' || !NAME_PATTERN.test(v)) {
    throw new HlabError(
      'bad-request',
      `${field} must be a name of letters, digits, ".", "_" or "-" (got ${JSON.stringify(v)}).`,
    );
  }
  return v;
}

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

export function sshTarget(ctx: ServiceContext, info: MachineInfo): SshTarget {
  if (info.state !== 'running' || !info.ssh) {
    throw new HlabError(
      'vm-state',
      `Machine "${info.name}" is ${info.state}; start it first (hlab machine up ${info.name}).`,
      { machine: info.name },
    );
  }
  const key = ensureKeyPair(ctx.paths.keys, info.name);
  return {
    machine: info.name,
    host: info.ssh.host,
    port: info.ssh.port,
    user: info.ssh.user,
    privateKey: key.privateKey,
  };
}

/** An executor that always finds the machine's current SSH port (it changes across starts). */
export function machineExecutor(ctx: ServiceContext, name: string): SshExecutor {
  return new SshExecutor(async () => sshTarget(ctx, await ctx.qemu.get(name)), ctx.knownHosts);
}

/** After a boot or a restore: SSH answers, and the guest clock is not stuck at the snapshot's time. */
export async function waitReady(
  ctx: ServiceContext,
  name: string,
  op: Pick<OpContext, 'signal' | 'progress'>,
  timeoutMs: number,
  fixClock: boolean,
): Promise<MachineInfo> {
  const info = await ctx.qemu.get(name);
  await waitForSsh(sshTarget(ctx, info), ctx.knownHosts, {
    timeoutMs,
    signal: op.signal,
    progress: op.progress,
    isAlive: () => ctx.qemu.assertAlive(name, 'boot'),
    // One connection does both: proves SSH + sudo work and sets the clock a restore left behind.
    ...(fixClock ? { probe: () => `sudo -n date -u -s @${Math.floor(Date.now() / 1000)} >/dev/null` } : {}),
  });
  return ctx.qemu.get(name);
}

export function machineHandlers(ctx: ServiceContext): MachineHandlers {
  const changed = (name: string) => ctx.broadcast('machines.changed', { name });
  return {
    'machines.list': async () => ctx.qemu.list(),

    'machines.create': async (req, op) => {
      const name = requireName(req.name, 'name');
      if (req.provider && req.provider !== 'qemu') {
        throw new HlabError(
          'unavailable',
          `Provider "${req.provider}" is not available in this version; use qemu.`,
        );
      }
      if (ctx.qemu.store.exists(name))
        throw new HlabError('conflict', `A machine named "${name}" already exists.`, { machine: name });
      const memoryMiB = optionalInt(req.memoryMiB, 'memoryMiB', 256, 65536) ?? 1024;
      const cpus = optionalInt(req.cpus, 'cpus', 1, 64) ?? 2;
      const sshPort = optionalInt(req.sshPort, 'sshPort', 1024, 65535);
      const imageName = requireName(req.image ?? 'debian-12', 'image');
      if (!ctx.images.get(imageName)) {
        op.log('info', `base image ${imageName} is missing: building it first`);
        await buildImage(ctx.images, imageName, {
          signal: op.signal,
          progress: op.progress,
          log: (l) => op.log('info', l),
        });
        ctx.broadcast('images.changed', { name: imageName });
      }
      op.progress({ current: 0, max: -1, description: `verifying base image ${imageName}` });
      const image = await ctx.images.verified(imageName);
      if (image.source === 'pulled') {
        throw new HlabError(
          'unavailable',
          `Image "${imageName}" was pulled from Debian's cloud images, which seed users through cloud-init; this version seeds machines through its own first-boot unit only.`,
          {
            hint: `build the image locally instead: hlab image build --name ${imageName} --force`,
          },
        );
      }
      // A recreated machine gets a new host key: reset its pin on purpose.
      ctx.knownHosts.forget(name);
      removeKeyPair(ctx.paths.keys, name);
      const key = ensureKeyPair(ctx.paths.keys, name);
      const info = await ctx.qemu.create(
        {
          name,
          image,
          memoryMiB,
          cpus,
          publicKey: key.publicKey,
          ...(sshPort ? { sshPort } : {}),
        },
        { signal: op.signal, progress: op.progress },
      );
      changed(name);
      return info;
    },

    'machines.up': async (req, op) => {
      const name = requireName(req.name, 'name');
      const resumed = Boolean(ctx.qemu.record(name).bootFrom);
      try {
        await ctx.qemu.up(name, { signal: op.signal, progress: op.progress });
        changed(name);
        return await waitReady(ctx, name, op, BOOT_TIMEOUT_MS, resumed);
      } catch (err) {
        // A start that was cancelled or failed must not leave a half-booted VM behind.
        if ((err as HlabError).code === 'cancelled') await ctx.qemu.down(name, { force: true });
        throw err;
      } finally {
        changed(name);
      }
    },

    'machines.down': async (req, op) => {
      const name = requireName(req.name, 'name');
      ctx.terminals.closeMachine(name, `machine "${name}" was stopped`);
      await ctx.qemu.down(name, { force: req.force === true, signal: op.signal, progress: op.progress });
      changed(name);
      return ctx.qemu.get(name);
    },

    'machines.destroy': async (req) => {
      const name = requireName(req.name, 'name');
      await ctx.qemu.destroy(name);
      ctx.knownHosts.forget(name);
      removeKeyPair(ctx.paths.keys, name);
      changed(name);
      return { destroyed: name };
    },

    'snapshots.list': async (req) => ctx.qemu.snapshots.list(requireName(req.machine, 'machine')),

    'snapshots.take': async (req, op) => {
      const machine = requireName(req.machine, 'machine');
      try {
        return await ctx.qemu.snapshots.take(machine, req.snapshot, {
          signal: op.signal,
          progress: op.progress,
        });
      } finally {
        changed(machine);
      }
    },

    'snapshots.restore': async (req, op) => {
      const machine = requireName(req.machine, 'machine');
      try {
        // Connections open across a loadvm stall: end shells first (their tabs offer to reconnect).
        if ((await ctx.qemu.snapshots.list(machine)).some((s) => s.name === req.snapshot)) {
          ctx.terminals.closeMachine(
            machine,
            `machine "${machine}" was restored to snapshot "${req.snapshot}"`,
          );
        }
        const snap = await ctx.qemu.snapshots.restore(machine, req.snapshot, {
          signal: op.signal,
          progress: op.progress,
        });
        if ((await ctx.qemu.get(machine)).state === 'running')
          await waitReady(ctx, machine, op, RESTORE_TIMEOUT_MS, true);
        return snap;
      } finally {
        changed(machine);
      }
    },

    'snapshots.remove': async (req) => {
      const machine = requireName(req.machine, 'machine');
      await ctx.qemu.snapshots.remove(machine, req.snapshot);
      changed(machine);
      return { removed: req.snapshot };
    },

    'machines.exec': async (req, op) => {
      const machine = requireName(req.machine, 'machine');
      if (typeof req.command !== 'string' || !req.command.trim())
        throw new HlabError('bad-request', 'command must be a non-empty string.');
      const target = sshTarget(ctx, await ctx.qemu.get(machine));
      const client = await connect(target, ctx.knownHosts, { signal: op.signal });
      try {
        return await exec(client, req.command, {
          signal: op.signal,
          timeoutMs: optionalInt(req.timeoutMs, 'timeoutMs', 1, 24 * 3600_000),
          onStdout: (s) => op.log('stdout', s.replace(/\n$/, '')),
          onStderr: (s) => op.log('stderr', s.replace(/\n$/, '')),
        });
      } finally {
        client.end();
      }
    },
  };
}
