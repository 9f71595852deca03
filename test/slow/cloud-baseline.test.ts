/**
 * The library on a cloud image, as an ordinary user gets it: the home's "debian-12" is the pulled
 * cloud-init stand-in (served from 127.0.0.1 like Debian's cloud image server would serve it:
 * another kernel build, predictable interface names, no Lynis, no seed unit of ours). The shipped
 * baseline validates every step and still holds after its final reboot, and the workshops without
 * Docker walk through, so neither the steps nor their checks assume our own image.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../shared/rpc.js';
import type { Service } from '../../electron/core/service.js';
import { buildImage } from '../../electron/images/builder.js';
import { ImageStore } from '../../electron/images/store.js';
import { runRecipe } from '../../electron/engine/run.js';
import { shQuote } from '../../electron/ssh/executor.js';
import { LABS_DIR, loadLibrary, loadRecipe } from '../../electron/steps/load.js';
import { ensureRepo, serveRepo, useRepoScript, type RepoServer } from '../integration/apt-repo.js';
import { IMAGE_DIR, must, newHome, newService, sh } from '../integration/vm-env.js';
import { serveSsgMirror, type SsgMirror } from '../integration/ssg-mirror.js';
import { serveCloudImage, type CloudImageServer } from '../integration/cloud-image-server.js';
import { walkWorkshop } from '../integration/workshop-walk.js';

const M = 'cloudbase1';
let service: Service;
let client: ApiClient;
let repo: RepoServer;
let ssg: SsgMirror;
let images: CloudImageServer;
const library = loadLibrary().steps;

beforeAll(async () => {
  const standin = await buildImage(new ImageStore(IMAGE_DIR), 'cloud-standin', {
    recipesDir: path.join(__dirname, '..', 'fixtures', 'images'),
  });
  images = await serveCloudImage(standin.path);
  repo = await serveRepo(ensureRepo('cloud-standin'));
  const home = newHome('cloudbase');
  ssg = await serveSsgMirror();
  ({ service, client } = newService(home, path.join(home, 'images'), ssg.env));
  expect(await must(client, 'images.pull', { name: 'debian-12', baseUrl: images.url })).toMatchObject({
    source: 'pulled',
    seeding: 'cloud-init',
  });
  await must(client, 'machines.create', { name: M, ready: true });
  await must(client, 'machines.egress', { name: M, allow: [repo.egress] });
  await sh(client, M, `sudo -n sh -c ${shQuote(useRepoScript(repo))}`);
}, 900_000);
afterAll(async () => {
  if (client) {
    await client.call('machines.destroy', { name: M });
    for (const s of (await must(client, 'workshops.list', {})).sessions)
      await client.call('workshops.end', { machine: s.machine });
  }
  await repo?.close();
  await ssg?.close();
  images?.close();
});

describe('the baseline on a cloud image', { timeout: 3_000_000 }, () => {
  it('validates every step of container-host-baseline and every check holds after a final reboot', async () => {
    expect(await sh(client, M, 'ip -br link | grep -c "^eth0" || true')).toBe('0');
    expect(await sh(client, M, 'test -e /usr/local/sbin/hlab-seed && echo ours || echo cloud-init')).toBe(
      'cloud-init',
    );
    const { recipe, issues } = loadRecipe(
      path.join(LABS_DIR, 'recipes', 'container-host-baseline.yaml'),
      library,
    );
    expect(issues).toEqual([]);
    const s = await runRecipe({ ctx: service.context, recipe: recipe!, library, machine: M });
    const failures = s.steps.filter((x) => x.outcome !== 'validated');
    expect(failures, JSON.stringify(failures, null, 1)).toEqual([]);
    expect(s.status).toBe('validated');
    expect(s.persistent).toBe(true);
    const b = await must(client, 'runs.bench', { id: s.id });
    const checks = b.comparisons.find((c) => c.tool === 'checks');
    expect(checks!.after.score).toBe(checks!.after.max);
    const lynis = b.comparisons.find((c) => c.tool === 'lynis');
    expect(lynis!.after.score).toBeGreaterThan(lynis!.before.score);
    expect(lynis!.regressions).toEqual([]);
    // cloud-init at the final reboot changed nothing the steps set: same host, same key, healthy.
    expect(await sh(client, M, 'cloud-init status')).toBe('status: done');
    expect(await sh(client, M, 'sudo -n docker run --rm hlab-probe /usr/bin/true && echo ok')).toBe('ok');
  });

  // Without Docker (the baseline above covers it); the kernel-upgrade workshop needs an image whose
  // kernel is older than the mirror's newest, which a fresh cloud image is not.
  for (const id of ['ssh-lockdown', 'module-pruning']) {
    it(`workshop ${id}: every check fails before its solve and passes after`, async () => {
      const machine = `cw-${id}`;
      await must(client, 'workshops.start', { workshop: id, trainee: 'cloud', machine });
      await walkWorkshop(client, machine, id);
      await must(client, 'workshops.end', { machine });
    });
  }
});
