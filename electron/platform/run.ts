/** Runs a host command with timeout and AbortSignal; a missing binary becomes `tool-missing`. */
import { spawn } from 'node:child_process';
import { HlabError } from '../../shared/errors.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  opts: {
    signal?: AbortSignal;
    timeoutMs?: number;
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
    packageHint?: string;
    /** Open descriptors the child inherits as fd 3, 4, …; the caller closes its own copies. */
    extraFds?: number[];
  } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe', ...(opts.extraFds ?? [])],
    });
    let stdout = '';
    let stderr = '';
    const partial = { stdout: '', stderr: '' };
    const feed = (stream: 'stdout' | 'stderr', chunk: string) => {
      if (!opts.onLine) return;
      partial[stream] += chunk;
      const lines = partial[stream].split('\n');
      partial[stream] = lines.pop() ?? '';
      for (const l of lines) opts.onLine(l, stream);
    };
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      feed('stdout', d);
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      feed('stderr', d);
    });
    let killedFor: 'timeout' | 'cancelled' | undefined;
    const kill = (why: 'timeout' | 'cancelled') => {
      killedFor = why;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    };
    const timer = opts.timeoutMs ? setTimeout(() => kill('timeout'), opts.timeoutMs) : undefined;
    const onAbort = () => kill('cancelled');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err.code === 'ENOENT') {
        reject(
          new HlabError('tool-missing', `"${cmd}" is not installed.`, {
            tool: cmd,
            ...(opts.packageHint ? { hint: `install it with: apt-get install ${opts.packageHint}` } : {}),
          }),
        );
      } else reject(new HlabError('internal', `Could not run ${cmd}: ${err.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      for (const s of ['stdout', 'stderr'] as const) if (partial[s]) opts.onLine?.(partial[s], s);
      if (killedFor === 'cancelled') return reject(new HlabError('cancelled', `Cancelled: ${cmd}`));
      if (killedFor === 'timeout')
        return reject(new HlabError('timeout', `${cmd} did not finish within ${opts.timeoutMs} ms.`));
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}
