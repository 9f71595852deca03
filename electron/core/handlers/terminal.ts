import { HlabError } from '../../../shared/errors.js';
import { endpointOf } from '../../ssh/handover.js';
import { TerminalSession } from '../../ssh/terminal.js';
import type { ServiceContext } from '../context.js';
import { requireName } from './input.js';
import type { Handlers } from '../dispatcher.js';

type TerminalHandlers = Pick<
  Handlers,
  'terminal.open' | 'terminal.input' | 'terminal.resize' | 'terminal.ack' | 'terminal.close'
>;

function size(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1000) {
    throw new HlabError(
      'bad-request',
      `${field} must be a whole number between 1 and 1000 (got ${JSON.stringify(v)}).`,
    );
  }
  return v;
}

export function terminalHandlers(ctx: ServiceContext): TerminalHandlers {
  return {
    'terminal.open': async (req, op) => {
      const machine = requireName(req.machine, 'machine');
      const target = await ctx.machines.targetOf(machine);
      let id = '';
      const session = await TerminalSession.open(
        target,
        ctx.knownHosts,
        { cols: size(req.cols, 'cols'), rows: size(req.rows, 'rows') },
        {
          data: (data) => op.client.emit('terminal.data', { id, data }),
          exit: (reason) => {
            ctx.terminals.remove(id);
            op.client.emit('terminal.exit', { id, reason });
          },
        },
        // The login a Reset just proved, when it is still waiting: no second handshake.
        ctx.handover.take(machine, endpointOf(target)),
      );
      id = ctx.terminals.add(session);
      op.client.onClose(() => session.close('the window closed'));
      return { id };
    },
    'terminal.input': async (req) => {
      if (typeof req.data !== 'string') throw new HlabError('bad-request', 'data must be a string.');
      ctx.terminals.get(req.id).write(req.data);
      return {};
    },
    'terminal.resize': async (req) => {
      ctx.terminals.get(req.id).resize(size(req.cols, 'cols'), size(req.rows, 'rows'));
      return {};
    },
    'terminal.ack': async (req) => {
      if (typeof req.chars !== 'number' || req.chars < 0)
        throw new HlabError('bad-request', 'chars must be a non-negative number.');
      ctx.terminals.get(req.id).ack(req.chars);
      return {};
    },
    'terminal.close': async (req) => {
      ctx.terminals.get(req.id).close('closed by the user');
      return {};
    },
  };
}
