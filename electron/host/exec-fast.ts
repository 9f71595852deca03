/**
 * `hlab exec NAME -- CMD...` through the machine's running keeper, without loading the rest of
 * the CLI (no service, no SSH library): the path scripts take hundreds of times, as OpenSSH's
 * ControlPersist does. Anything else, or no keeper answering before the command started, is left
 * to the full CLI (undefined), so behaviour never depends on this path.
 */
import { hlabHome } from '../core/paths.js';
import { NAME_PATTERN } from '../../shared/names.js';
import { toApiError } from '../../shared/errors.js';
import { execKept, keeperSocket } from '../ssh/keeper-client.js';
import { execCommand } from './cli/flags.js';
import { formatError } from './cli/output.js';

export interface FastIo {
  write(stream: 'stdout' | 'stderr', text: string): void;
}

const processIo: FastIo = { write: (stream, text) => void process[stream].write(text) };

export async function execFast(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: FastIo = processIo,
): Promise<number | undefined> {
  // Only the plain form: any flag (--fresh, --timeout, --json) goes through the full CLI.
  const [verb, name, dash, ...rest] = argv;
  if (env.HLAB_KEEP_CONNECTIONS === '0' || verb !== 'exec' || dash !== '--' || rest.length === 0)
    return undefined;
  if (name === undefined || !NAME_PATTERN.test(name)) return undefined;
  try {
    const r = await execKept(keeperSocket(hlabHome(env), name), execCommand(rest), {
      onStdout: (s) => io.write('stdout', s),
      onStderr: (s) => io.write('stderr', s),
    });
    return r?.exitCode;
  } catch (err) {
    // Output has begun: the command must not run twice, so the error is reported here.
    io.write('stderr', `${formatError(toApiError(err))}\n`);
    return 2;
  }
}
