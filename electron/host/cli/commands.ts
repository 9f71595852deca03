/** The `hlab` commands. Each one is a thin call through the same API contract the UI uses. */
import type { MethodName, ReqOf, ResOf } from '../../../shared/api.js';
import { HlabError } from '../../../shared/errors.js';
import type { ApiClient } from '../../../shared/rpc.js';
import { formatProgress } from './output.js';
import { type CliKit, type Command, type CommandContext } from './router.js';
import { formatEvent } from './run-output.js';
import { workshopCommands } from './workshop-commands.js';
import { classCommands } from './class-commands.js';
import { eventCommands } from './event-commands.js';
import { doctorText } from '../../machines/doctor.js';
import { machineCommands } from './machine-commands.js';
import { runCommands } from './run-commands.js';
import { benchCommands } from './bench-commands.js';

export interface CliDeps {
  client: ApiClient;
  serve(port: number, ctx: CommandContext): Promise<number>;
}

export { execCommand } from './flags.js';
import { parseIntFlag } from './flags.js';

export function buildCommands(deps: CliDeps): Command[] {
  const call = async <M extends MethodName>(
    ctx: CommandContext,
    method: M,
    params: ReqOf<M>,
  ): Promise<ResOf<M>> => {
    let last = '';
    const res = await deps.client.call(method, params, {
      signal: ctx.signal,
      onProgress: (p) => {
        const line = formatProgress(p);
        if (line !== last) ctx.stderr(line);
        last = line;
      },
      // stdout/stderr are a remote command's bytes, passed on as they are; info is our own lines.
      onLog: (stream, text) => {
        if (ctx.write && (stream === 'stdout' || stream === 'stderr')) ctx.write(stream, text);
        else if (stream === 'stdout') ctx.stdout(text);
        else ctx.stderr(text);
      },
    });
    if (!res.ok) throw new HlabError(res.error.code, res.error.message, res.error.details);
    return res.value;
  };
  /** Prints a run's journal events as they come (run and replay); returns the unsubscribe. */
  const followRun = (ctx: CommandContext) => {
    let total = 0;
    return deps.client.on('runs.event', ({ event }) => {
      if (event.type === 'run-started') total = event.steps.length;
      const line = formatEvent(event, total, ctx.paint);
      if (line !== undefined) ctx.stderr(line);
    });
  };
  const print = (ctx: CommandContext, value: unknown, human: () => string) => {
    ctx.stdout(ctx.json ? JSON.stringify(value, null, 2) : human());
    return 0;
  };

  const kit: CliKit = { call, print, followRun, client: deps.client };

  return [
    {
      path: ['info'],
      summary: 'Show version, data folder and platform',
      run: async (ctx) => {
        const info = await call(ctx, 'app.info', {});
        return print(ctx, info, () =>
          Object.entries(info)
            .map(([k, v]) => `${k}: ${v}`)
            .join('\n'),
        );
      },
    },
    ...machineCommands(kit),
    ...runCommands(kit),
    ...benchCommands(kit),
    ...workshopCommands(call, print),
    ...classCommands(call, print),
    ...eventCommands(call, print),
    {
      path: ['doctor'],
      summary:
        'What this host has and lacks for labs (QEMU, acceleration, image tools, Vagrant, VirtualBox, disk), with the fix for each; exit 1 when not ready',
      run: async (ctx) => {
        const r = await call(ctx, 'app.doctor', {});
        print(ctx, r, () => doctorText(r));
        return r.ready ? 0 : 1;
      },
    },
    {
      path: ['serve'],
      summary: 'Start web mode on 127.0.0.1 and print its URL (--port 0 picks a free port)',
      options: { port: { type: 'string' } },
      run: (ctx) => deps.serve(parseIntFlag(ctx.values.port, 'port') ?? 0, ctx),
    },
  ];
}
