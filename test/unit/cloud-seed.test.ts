/** Cloud images: the NoCloud seed we write, the recipe's seeding field, and which way a missing image comes. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadImageRecipe } from '../../electron/images/recipe.js';
import { imageWay, obtainImage } from '../../electron/images/obtain.js';
import { ImageStore } from '../../electron/images/store.js';
import { nocloudFiles } from '../../electron/providers/nocloud.js';
import { imageSeeding } from '../../shared/types.js';
import ssh2 from 'ssh2';

const hostKey = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'root@m1' });
const userKey = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'hlab-m1' }).public;

describe('NoCloud seed', () => {
  it('makes the lab user with the key, the hostname and only the pinned host key', () => {
    const f = nocloudFiles({
      instanceId: 'hlab-1',
      hostname: 'm1',
      user: 'lab',
      publicKey: userKey,
      hostKey,
    });
    expect(parse(f['meta-data'])).toEqual({ 'instance-id': 'hlab-1', 'local-hostname': 'm1' });
    expect(f['user-data'].startsWith('#cloud-config\n')).toBe(true);
    const cfg = parse(f['user-data']) as Record<string, unknown> & {
      users: { name: string; sudo: string; ssh_authorized_keys: string[]; lock_passwd: boolean }[];
      ssh_keys: Record<string, string>;
    };
    expect(cfg.users).toHaveLength(1);
    expect(cfg.users[0]).toMatchObject({
      name: 'lab',
      sudo: 'ALL=(ALL) NOPASSWD:ALL',
      lock_passwd: true,
      ssh_authorized_keys: [userKey.trim()],
    });
    expect(cfg).toMatchObject({ hostname: 'm1', ssh_pwauth: false, disable_root: true, ssh_genkeytypes: [] });
    expect(cfg.ssh_keys.ed25519_private).toBe(hostKey.private);
    expect(cfg.ssh_keys.ed25519_public).toBe(hostKey.public.trim());
    // Long keys stay on one line: folding is valid YAML but unreadable for a person checking a seed.
    expect(f['user-data']).toContain(userKey.trim());
  });

  it('leaves host keys to cloud-init when the app made none', () => {
    const cfg = parse(
      nocloudFiles({ instanceId: 'i', hostname: 'm', user: 'lab', publicKey: userKey })['user-data'],
    ) as Record<string, unknown>;
    expect(cfg.ssh_keys).toBeUndefined();
    expect(cfg.ssh_genkeytypes).toBeUndefined();
  });

  it('keeps a hostile hostname a YAML string, not structure', () => {
    const cfg = parse(
      nocloudFiles({ instanceId: 'i', hostname: 'm\nruncmd: [reboot]', user: 'lab', publicKey: userKey })[
        'user-data'
      ],
    ) as Record<string, unknown>;
    expect(cfg.runcmd).toBeUndefined();
    expect(cfg.hostname).toBe('m\nruncmd: [reboot]');
  });
});

describe('image seeding', () => {
  it('reads seeding from recipes: cloud-init for the stand-in, hlab-seed by default', () => {
    expect(loadImageRecipe('debian-12').seeding).toBe('hlab-seed');
    const dir = path.join(__dirname, '..', 'fixtures', 'images');
    expect(loadImageRecipe('cloud-standin', dir).seeding).toBe('cloud-init');
  });

  it('names the file and field of a wrong seeding', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-recipe-'));
    const text = readFileSync(path.join(__dirname, '..', 'fixtures', 'images', 'cloud-standin.yaml'), 'utf8');
    writeFileSync(path.join(dir, 'bad.yaml'), text.replace('seeding: cloud-init', 'seeding: ignition'));
    expect(() => loadImageRecipe('bad', dir)).toThrow(
      /bad\.yaml: seeding: expected one of hlab-seed, cloud-init/,
    );
  });

  it('treats manifests from before the field by their source', () => {
    expect(imageSeeding({ source: 'pulled' })).toBe('cloud-init');
    expect(imageSeeding({ source: 'built' })).toBe('hlab-seed');
    expect(imageSeeding({ source: 'built', seeding: 'cloud-init' })).toBe('cloud-init');
  });
});

describe('how a missing image is got', () => {
  it('builds where it can, pulls elsewhere, and says why when neither works', async () => {
    expect(imageWay('debian-12', true)).toBe('build');
    expect(imageWay('debian-12', false)).toBe('pull');
    expect(imageWay('my-own', false)).toBeUndefined();
    const store = new ImageStore(mkdtempSync(path.join(os.tmpdir(), 'hlab-img-')));
    await expect(obtainImage(store, 'my-own', { env: {}, canBuild: false })).rejects.toMatchObject({
      code: 'image-missing',
      message: expect.stringContaining('cannot be built by this user'),
    });
  });

  it('pulls from HLAB_PULL_BASE_URL and reports an unreachable mirror as an error, not a crash', async () => {
    const store = new ImageStore(mkdtempSync(path.join(os.tmpdir(), 'hlab-img-')));
    const logs: string[] = [];
    await expect(
      obtainImage(store, 'debian-12', {
        env: { HLAB_PULL_BASE_URL: 'http://127.0.0.1:9/none/' },
        canBuild: false,
        log: (l) => logs.push(l),
      }),
    ).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('127.0.0.1:9/none/SHA512SUMS'),
    });
    expect(logs.join('\n')).toMatch(
      /cannot be built here .* pulling the cloud image from http:\/\/127\.0\.0\.1:9\/none\//,
    );
  });
});

describe('providers that cannot seed cloud-init', () => {
  it('refuse a cloud image with the reason, before creating anything', async () => {
    const { Machines } = await import('../../electron/machines/machines.js');
    const { KnownHosts } = await import('../../electron/ssh/known-hosts.js');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-caps-'));
    let created = 0;
    const fake = {
      kind: 'virtualbox' as const,
      capabilities: { createFromImage: true, readyClone: false, cloudInitSeed: false },
      detect: async () => ({ available: true }),
      has: () => false,
      create: async () => {
        created += 1;
        return {} as never;
      },
    };
    const machines = new Machines({
      providers: [fake as never],
      keysDir: dir,
      knownHosts: new KnownHosts(path.join(dir, 'kh.json')),
    });
    const spec = {
      name: 'm1',
      image: { name: 'debian-12', path: '/x', sha256: 'x', source: 'pulled' as const },
      memoryMiB: 1024,
      cpus: 1,
      publicKey: userKey,
    };
    await expect(machines.create('virtualbox', spec)).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/cloud image .* "virtualbox" does not seed/),
    });
    expect(created).toBe(0);
    await machines.create('virtualbox', { ...spec, image: { ...spec.image, source: 'built' } });
    expect(created).toBe(1);
  });
});
