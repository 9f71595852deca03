/** `hlab` entry point: parses argv, runs one command, maps errors to exit codes without stacks. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { appPath } from '../platform/app-root.js';
import { HlabError, toApiError } from '../../shared/errors.js';
import { createLocalClient } from '../core/local-client.js';
import { createService } from '../core/service.js';
import { hlabHome } from '../core/paths.js';
import { buildCommands } from './cli/commands.js';
import { formatError } from './cli/output.js';
import { colourWanted, painter } from './cli/colour.js';
import {
  didYouMean,
  findCommand,
  helpText,
  parseFor,
  UsageError,
  usageOf,
  type Command,
  type CommandContext,
} from './cli/router.js';
import { startWebHost } from './web-host.js';
import { startClassServer } from './class-server.js';
import { keepMachine } from '../core/keep.js';
import { watchMachineRecords } from '../core/home-watch.js';

const KEEP_COMMAND = '__keep';

export const RENDERER_DIST = appPath('dist', 'renderer');

export async function main(
  argv: string[],
  io: Pick<CommandContext, 'stdout' | 'stderr' | 'write' | 'paint' | 'paintOut'> = {
    stdout: (s: string) => console.log(s),
    stderr: (s: string) => console.error(s),
    write: (stream, s) => process[stream].write(s),
    paint: painter(colourWanted(process.stderr, process.env)),
    paintOut: painter(colourWanted(process.stdout, process.env)),
  },
  /** The script this process runs as `hlab` (set by the real entry): it can start keepers. */
  entry?: string,
): Promise<number> {
  const controller = new AbortController();
  const onSigint = () => {
    io.stderr('hlab: cancelling…');
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  let commands: Command[] = [];
  let service: ReturnType<typeof createService> | undefined;
  try {
    const keep = entry && process.env.HLAB_KEEP_CONNECTIONS !== '0' ? entry : undefined;
    service = createService({
      home: hlabHome(),
      serveClass: (room, o) =>
        startClassServer({
          dispatcher: (service as NonNullable<typeof service>).dispatcher,
          room,
          staticDir: RENDERER_DIST,
          ...o,
        }),
      ...(keep
        ? {
            keepConnection: (machine: string) =>
              spawn(process.execPath, [...process.execArgv, keep, KEEP_COMMAND, machine], {
                detached: true,
                stdio: 'ignore',
              }).unref(),
          }
        : {}),
    });
    const svc = service;
    // The keeper process: not a user command, so not in --help.
    if (argv[0] === KEEP_COMMAND && argv.length === 2) {
      await keepMachine(svc.context, argv[1] as string);
      return 0;
    }
    const client = createLocalClient(svc.dispatcher);
    commands = buildCommands({
      client,
      serve: async (port, ctx) => {
        if (!existsSync(path.join(RENDERER_DIST, 'index.html')))
          ctx.stderr(
            `hlab: the UI is not built in ${RENDERER_DIST}: run \`npm run build:renderer\` (npm start does it), or the page will answer "Not found".`,
          );
        const host = await startWebHost({ dispatcher: svc.dispatcher, staticDir: RENDERER_DIST, port });
        // A CLI beside the page creates and removes machines too: every section hears of it.
        const unwatch = watchMachineRecords(svc.context.home, () =>
          svc.context.broadcast('machines.changed', { name: '' }),
        );
        ctx.stdout(host.url);
        await new Promise<void>((resolve) =>
          ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
        );
        unwatch();
        await host.close();
        return 0;
      },
    });
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      io.stdout(helpText(commands, argv[0] === 'help' ? argv.slice(1) : []));
      return 0;
    }
    const { cmd, consumed } = findCommand(commands, argv);
    if (!cmd) {
      const group = commands.some((c) => c.path[0] === argv[0]);
      if (group && (argv[1] === undefined || argv[1] === '--help' || argv[1] === '-h')) {
        io.stdout(helpText(commands, [argv[0] as string]));
        return argv[1] === undefined ? 2 : 0;
      }
      const guess = didYouMean(commands, argv);
      throw new UsageError(
        `unknown command "${argv.slice(0, 2).join(' ')}"${guess ? `: did you mean "hlab ${guess}"?` : ''} (see hlab --help)`,
      );
    }
    const parsed = parseFor(cmd, argv.slice(consumed));
    if (parsed.values.help) {
      io.stdout(`Usage: ${usageOf(cmd)}\n\n${cmd.summary}`);
      return 0;
    }
    return await cmd.run({ ...parsed, json: parsed.values.json === true, ...io, signal: controller.signal });
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`hlab: ${err.message}`);
      return 2;
    }
    io.stderr(formatError(err instanceof HlabError ? err.toApiError() : toApiError(err), io.paint));
    return 2;
  } finally {
    await service?.close();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
