/**
 * Replay on the REAL VM (slow tier: two full runs of six steps, ~5 min under TCG): the evidence of a
 * validated quick-harden run, replayed on the machine restored to its first-boot state, matches the
 * original step by step, checks and benchmark flips included (its OpenSCAP run measures the rules
 * the original claimed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../shared/rpc.js';
import type { Service } from '../../electron/core/service.js';
import { runRecipe } from '../../electron/engine/run.js';
import { SshExecutor } from '../../electron/ssh/executor.js';
import { loadLibrary } from '../../electron/steps/load.js';
import { ensureRepo, serveRepo, useRepoScript, type RepoServer } from '../integration/apt-repo.js';
import { quickHarden } from '../integration/quick-harden.js';
import { IMAGE_DIR, must, newHome, newService } from '../integration/vm-env.js';
import { serveSsgMirror, type SsgMirror } from '../integration/ssg-mirror.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const M = 'replay1';
let service: Service;
let client: ApiClient;
let repo: RepoServer;
let ssg: SsgMirror;
const library = loadLibrary().steps;

beforeAll(async () => {
  ssg = await serveSsgMirror();
  ({ service, client } = newService(newHome('replay'), IMAGE_DIR, ssg.env));
  await must(client, 'machines.create', { name: M, memoryMiB: 1024, cpus: 2 });
  await must(client, 'machines.up', { name: M });
  repo = await serveRepo(ensureRepo());
  await must(client, 'machines.egress', { name: M, allow: [repo.egress] });
  const ex = new SshExecutor(() => service.context.machines.targetOf(M), service.context.knownHosts);
  try {
    expect((await ex.runScript(useRepoScript(repo))).exitCode).toBe(0);
  } finally {
    ex.reset();
  }
  await must(client, 'snapshots.take', { machine: M, snapshot: 'fresh' });
}, 600_000);
afterAll(async () => {
  if (client) await client.call('machines.destroy', { name: M });
  await repo?.close();
  await ssg?.close();
});

describe('replay', { timeout: 1_800_000 }, () => {
  it('a replay of the evidence on a fresh machine matches the original', async () => {
    const run = await runRecipe({ ctx: service.context, recipe: quickHarden(library), library, machine: M });
    expect(run.status).toBe('validated');
    const ev = await must(client, 'recipes.export', { runId: run.id, format: 'evidence' });
    const file = path.join(service.context.home, ev.filename);
    writeFileSync(file, ev.content);
    await must(client, 'snapshots.restore', { machine: M, snapshot: 'fresh' });
    const r = await must(client, 'recipes.validate', { evidence: file, machine: M });
    expect(r.differences).toEqual([]);
    expect(r.match).toBe(true);
  });

  it('a bench run now streams what Lynis is doing, as the UI shows beside its progress bar', async () => {
    const lines: string[] = [];
    const r = await client.call(
      'bench.run',
      { machine: M, tool: 'lynis', tests: ['KRNL-5820'] },
      { onLog: (_stream, text) => lines.push(text) },
    );
    expect(r.ok && r.value.tool).toBe('lynis');
    const said = lines.join('');
    expect(said).toContain('[+] Kernel');
    // The screen went to the log, never into the report the score is parsed from.
    expect(r.ok && r.value.score).toBeGreaterThan(0);
  });
});
