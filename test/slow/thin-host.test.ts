/**
 * The thin, immutable container host on the REAL VM, from the debian-12-thin image: each broken
 * variant (the app locked out by single-entry-point, one flipped byte in the dm-verity volume, a
 * read-only root that forgot container storage) is rolled back and leaves the machine healthy;
 * then the thin-container-host recipe validates every step, the surface bench shows what went,
 * writes to system folders fail and Docker runs a container after the final reboot. Packages come
 * from the local repository the host serves (apt-repo.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../shared/rpc.js';
import type { StampedEvent } from '../../shared/runs.js';
import { diffSurface } from '../../shared/surface.js';
import type { Service } from '../../electron/core/service.js';
import { runRecipe } from '../../electron/engine/run.js';
import { shQuote } from '../../electron/ssh/executor.js';
import { defaultParams, loadLibrary } from '../../electron/steps/load.js';
import type { ParamValue } from '../../shared/steps.js';
import { runValidated } from '../integration/recipe-run.js';
import { ensureRepo, serveRepo, useRepoScript, type RepoServer } from '../integration/apt-repo.js';
import { must, newHome, newService, sh } from '../integration/vm-env.js';

const M = 'thin1';
const IMAGE = 'debian-12-thin';
let service: Service;
let client: ApiClient;
let repo: RepoServer;
const library = loadLibrary().steps;
/** An inline recipe gets no defaults from a loader: the step's own, then what the variant changes. */
const withDefaults = (id: string, over: Record<string, ParamValue>) => ({
  ...defaultParams(library.find((s) => s.id === id)!),
  ...over,
});

const dockerRuns = `sudo -n sh -c ${shQuote(
  'for i in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 2; done; ' +
    'docker image inspect hlab-probe >/dev/null 2>&1 || tar -chf - -C / usr/bin/true usr/lib/x86_64-linux-gnu/libc.so.6 lib64/ld-linux-x86-64.so.2 | docker import - hlab-probe >/dev/null; ' +
    'docker run --rm hlab-probe /usr/bin/true && echo ran',
)}`;

beforeAll(async () => {
  ({ service, client } = newService(newHome('thin-host')));
  // Built once per recipe hash (about 1.5 min here), then cached beside debian-12.
  await must(client, 'images.build', { name: IMAGE });
  repo = await serveRepo(ensureRepo(IMAGE));
  await must(client, 'machines.create', { name: M, image: IMAGE, memoryMiB: 1024, cpus: 2 });
  await must(client, 'machines.up', { name: M });
  await must(client, 'machines.egress', { name: M, allow: [repo.egress] });
  await sh(client, M, `sudo -n sh -c ${shQuote(useRepoScript(repo))}`);
  await must(client, 'snapshots.take', { machine: M, snapshot: 'start' });
}, 900_000);
afterAll(async () => {
  if (client) await client.call('machines.destroy', { name: M });
  await repo?.close();
});

describe('the thin container host', { timeout: 3_000_000 }, () => {
  it('rolls back each broken variant and leaves a healthy machine', async () => {
    const seen: StampedEvent[] = [];
    const s = await runRecipe({
      ctx: service.context,
      recipe: {
        id: 'thin-variants',
        title: 'thin host: the broken variants',
        base: IMAGE,
        onFailure: 'continue',
        finalReboot: false,
        bench: [],
        steps: [
          // Anyone but the app's own account: the app locks itself out.
          { step: 'single-entry-point', params: withDefaults('single-entry-point', { account: 'nobody' }) },
          // Logs and homes writable, container storage forgotten: dockerd fails after the reboot.
          {
            step: 'readonly-root',
            params: withDefaults('readonly-root', {
              writable: ['/var/log', '/var/lib/systemd', '/var/lib/sudo', '/home'],
            }),
          },
          // After the forgotten storage: with the sealed volume's image under the root mount, the
          // remount itself would be refused instead.
          { step: 'verity-volume', params: withDefaults('verity-volume', { aptUpdate: false }) },
          { step: 'demo-verity-tamper', params: {} },
        ],
        exceptions: [],
        file: 'test/thin-variants.yaml',
      },
      library,
      machine: M,
      onEvent: (e) => seen.push(e),
    });
    const outcome = Object.fromEntries(s.steps.map((x) => [x.step, x.outcome]));
    expect(outcome, JSON.stringify(s.steps, null, 1)).toEqual({
      'single-entry-point': 'rolled-back',
      'verity-volume': 'validated',
      'demo-verity-tamper': 'rolled-back',
      'readonly-root': 'rolled-back',
    });
    const reason = (id: string) => s.steps.find((x) => x.step === id)?.reason ?? '';
    expect(reason('single-entry-point')).toMatch(/fresh|login|ssh/i);
    expect(reason('demo-verity-tamper')).toMatch(/cannot read \/usr\/sbin\/dockerd|verity/);
    expect(reason('readonly-root')).toMatch(/dockerd is not running|not writable/);
    expect(
      seen
        .filter((e) => e.type === 'rollback-finished')
        .every((e) => e.type === 'rollback-finished' && e.healthy),
    ).toBe(true);
    // Healthy afterwards: the sealed runtime is back (the tamper undone), / is writable, Docker runs.
    expect(await sh(client, M, 'sudo -n veritysetup status hlab-sealed | grep status:')).toMatch(/verified/);
    expect(await sh(client, M, 'findmnt -no OPTIONS / | cut -d, -f1')).toBe('rw');
    expect(await sh(client, M, dockerRuns, 300_000)).toMatch(/ran$/);
  });

  it('validates every step of thin-container-host: less surface, read-only system folders, Docker runs', async () => {
    await must(client, 'snapshots.restore', { machine: M, snapshot: 'start' });
    const { s } = await runValidated(service, 'thin-container-host', M, library);
    expect(s.persistent).toBe(true);
    const b = await must(client, 'runs.bench', { id: s.id });
    const before = b.before.find((r) => r.tool === 'surface')?.surface;
    const after = b.after.find((r) => r.tool === 'surface')?.surface;
    expect(before && after).toBeTruthy();
    const d = diffSurface(before, after);
    console.log(
      [
        'surface before → after thin-container-host:',
        ...d.map((x) => `  ${x.title}: ${x.before} → ${x.after}`),
      ].join('\n'),
    );
    const at = (id: string) => d.find((x) => x.id === id)!;
    expect(at('writable-folders')).toMatchObject({ before: 9, after: 2 });
    expect(at('services-running').removed).toEqual(expect.arrayContaining(['getty@tty1.service']));
    // Writes to system folders fail; the state a container host needs does not; Docker runs.
    expect(
      await sh(client, M, 'for d in /usr /etc /boot; do sudo -n touch $d/.probe 2>&1 || true; done'),
    ).toMatch(/^(.*Read-only file system\n?){3}$/);
    expect(
      await sh(client, M, 'sudo -n touch /var/lib/.probe && sudo -n rm /var/lib/.probe && echo ok'),
    ).toBe('ok');
    expect(await sh(client, M, dockerRuns, 300_000)).toMatch(/ran$/);
    expect(await sh(client, M, 'sudo -n veritysetup status hlab-sealed | grep status:')).toMatch(/verified/);
  });
});
