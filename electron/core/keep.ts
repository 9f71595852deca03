/** The keeper process's body (`hlab __keep MACHINE`): holds the machine's connection until it ends. */
import { HlabError } from '../../shared/errors.js';
import { KEEP_ALIVE, KEEP_IDLE_MS, keeperSocket, serveKeeper } from '../ssh/keeper.js';
import { connect } from '../ssh/session.js';
import type { ServiceContext } from './context.js';
import { requireName } from './handlers/input.js';

export async function keepMachine(ctx: ServiceContext, machine: string): Promise<void> {
  const name = requireName(machine, 'machine');
  const info = await ctx.machines.get(name);
  if (info.state !== 'running')
    throw new HlabError('vm-state', `Machine "${name}" is ${info.state}: nothing to keep.`, {
      machine: name,
    });
  const target = await ctx.machines.targetOf(name);
  const seconds = Number(ctx.env.HLAB_KEEP_SECONDS);
  await serveKeeper({
    sock: keeperSocket(ctx.home, name),
    open: () => connect(target, ctx.knownHosts, { keepalive: KEEP_ALIVE }),
    idleMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : KEEP_IDLE_MS,
  });
}
