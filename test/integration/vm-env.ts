/** Shared set-up for tests against the real QEMU VM: a throwaway home, the cached base image. */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MethodName, ReqOf, ResOf } from '../../shared/api.js';
import { HlabError } from '../../shared/errors.js';
import type { ApiClient } from '../../shared/rpc.js';
import { createLocalClient } from '../../electron/core/local-client.js';
import { createService, type Service } from '../../electron/core/service.js';

/** Outside the clone so CI builds the image once (keyed by recipe hash in its manifest). */
export const IMAGE_DIR =
  process.env.HLAB_IMAGE_DIR ??
  (process.getuid?.() === 0
    ? '/var/cache/hardening-lab/images'
    : path.join(os.homedir(), '.cache', 'hardening-lab', 'images'));

export function newHome(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `hlab-${prefix}-`));
}

export function newService(
  home: string,
  imageDir = IMAGE_DIR,
  env: NodeJS.ProcessEnv = {},
): { service: Service; client: ApiClient } {
  const service = createService({ home, env: { ...process.env, HLAB_IMAGE_DIR: imageDir, ...env } });
  return { service, client: createLocalClient(service.dispatcher) };
}

/** Calls and unwraps: a failed call throws the HlabError it carried. */
export async function must<M extends MethodName>(
  client: ApiClient,
  method: M,
  params: ReqOf<M>,
): Promise<ResOf<M>> {
  const r = await client.call(method, params);
  if (!r.ok) throw new HlabError(r.error.code, r.error.message, r.error.details);
  return r.value;
}

export async function failure<M extends MethodName>(client: ApiClient, method: M, params: ReqOf<M>) {
  const r = await client.call(method, params);
  if (r.ok) throw new Error(`${method} unexpectedly succeeded`);
  return r.error;
}

export async function sh(
  client: ApiClient,
  machine: string,
  command: string,
  timeoutMs = 60_000,
): Promise<string> {
  const r = await must(client, 'machines.exec', { machine, command, timeoutMs });
  if (r.exitCode !== 0) throw new Error(`"${command}" exited ${r.exitCode}: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * A machine's QEMU in host memory, in bytes: resident (RSS), and proportional (PSS: each page
 * shared with other processes counted in shares: QEMU's code, and pages KSM merged): what each
 * machine costs the host when several run.
 */
export function qemuMemory(home: string, machine: string): { rss: number; pss: number } {
  const pid = readFileSync(path.join(home, 'machines', machine, 'qemu.pid'), 'utf8').trim();
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (field: 'Rss' | 'Pss', pattern: RegExp) => {
    const m = pattern.exec(rollup);
    if (!m) throw new Error(`no ${field} for machine ${machine} (pid ${pid})`);
    return Number(m[1]) * 1024;
  };
  return { rss: kb('Rss', /^Rss:\s+(\d+) kB$/m), pss: kb('Pss', /^Pss:\s+(\d+) kB$/m) };
}
