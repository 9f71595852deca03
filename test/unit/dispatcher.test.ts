import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createService } from '../../electron/core/service.js';
import { createDispatcher, type Handlers } from '../../electron/core/dispatcher.js';
import { createLocalClient } from '../../electron/core/local-client.js';
import { HlabError } from '../../shared/errors.js';
import type { Progress } from '../../shared/types.js';
import { UI_METHODS } from '../../shared/api.js';
import { hostPath, requireName } from '../../electron/core/handlers/input.js';

const info = { name: 'Hardening Lab', version: '0', home: '/tmp', platform: 'test', node: '20' };

function slowBuild(): Handlers['images.build'] {
  return (_req, ctx) =>
    new Promise((_resolve, reject) => {
      ctx.progress({ current: 1, max: 3, description: 'phase 1' });
      ctx.log('info', 'working');
      ctx.signal.addEventListener('abort', () => reject(new HlabError('cancelled', 'stopped by user')));
    });
}

describe('dispatcher', () => {
  it('returns values and turns thrown errors into data', async () => {
    const d = createDispatcher({
      'app.info': async () => info,
      'machines.list': async () => {
        throw new HlabError('vm-not-found', 'No machine named "x".', { machine: 'x' });
      },
      'images.list': async () => {
        throw new Error('boom');
      },
    });
    const c = createLocalClient(d);
    expect(await c.call('app.info', {})).toEqual({ ok: true, value: info });
    expect(await c.call('machines.list', {})).toEqual({
      ok: false,
      error: { code: 'vm-not-found', message: 'No machine named "x".', details: { machine: 'x' } },
    });
    const r = await c.call('images.list', {});
    expect(r).toEqual({ ok: false, error: { code: 'internal', message: 'boom' } });
  });

  it('rejects unknown methods and non-object params as bad-request', async () => {
    const d = createDispatcher({});
    const conn = d.connect(() => undefined);
    const unknown = await conn.handle({ t: 'call', id: 1, method: 'rm -rf', params: {} });
    expect(unknown?.result).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    const missing = await conn.handle({ t: 'call', id: 2, method: 'app.info', params: {} });
    expect(missing?.result).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    const d2 = createDispatcher({ 'app.info': async () => info });
    const bad = await d2
      .connect(() => undefined)
      .handle({ t: 'call', id: 3, method: 'app.info', params: 'x' });
    expect(bad?.result).toMatchObject({ ok: false, error: { code: 'bad-request' } });
  });

  it('streams progress and logs to the caller and cancels through the AbortSignal', async () => {
    const d = createDispatcher({ 'images.build': slowBuild() });
    const c = createLocalClient(d);
    const seen: Progress[] = [];
    const logs: string[] = [];
    const controller = new AbortController();
    const pending = c.call(
      'images.build',
      {},
      { signal: controller.signal, onProgress: (p) => seen.push(p), onLog: (_s, t) => logs.push(t) },
    );
    await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    const r = await pending;
    expect(r).toMatchObject({ ok: false, error: { code: 'cancelled' } });
    expect(seen).toEqual([{ current: 1, max: 3, description: 'phase 1' }]);
    expect(logs).toEqual(['working']);
  });

  it('aborts the operations of a client that goes away', async () => {
    let aborted = false;
    const d = createDispatcher({
      'images.build': (_req, ctx) =>
        new Promise((_r, reject) =>
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            reject(new Error('aborted'));
          }),
        ),
    });
    const conn = d.connect(() => undefined);
    const p = conn.handle({ t: 'call', id: 1, method: 'images.build', params: {}, opId: 'op1' });
    conn.close();
    expect((await p)?.result).toMatchObject({ ok: false, error: { code: 'cancelled' } });
    expect(aborted).toBe(true);
  });

  it('broadcasts events to every connected client', async () => {
    const d = createDispatcher({});
    const a = createLocalClient(d);
    const b = createLocalClient(d);
    const got: string[] = [];
    a.on('machines.changed', (e) => got.push(`a:${e.name}`));
    b.on('machines.changed', (e) => got.push(`b:${e.name}`));
    d.broadcast('machines.changed', { name: 'm1' });
    expect(got.sort()).toEqual(['a:m1', 'b:m1']);
  });

  it('the page cannot name a host folder or key file to add a machine; the CLI can (A1)', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'hlab-a1-'));
    const service = createService({
      home,
      env: { ...process.env, HLAB_IMAGE_DIR: path.join(home, 'images') },
    });
    try {
      const page = service.dispatcher.connect(() => undefined, { methods: UI_METHODS });
      const call = async (params: unknown) =>
        (await page.handle({ t: 'call', id: 1, method: 'machines.add', params } as never))?.result;
      expect(await call({ name: 'mine', provider: 'vagrant', dir: '/root' })).toMatchObject({
        ok: false,
        error: {
          code: 'permission',
          message: expect.stringMatching(/^dir names a file or folder of the host/),
        },
      });
      expect(
        await call({
          name: 'mine',
          provider: 'virtualbox',
          vm: 'x',
          sshUser: 'u',
          sshKeyFile: '/root/.ssh/id_rsa',
        }),
      ).toMatchObject({ ok: false, error: { code: 'permission' } });
      // The CLI names host paths: the request gets past the gate to the provider's own checks.
      const cli = await createLocalClient(service.dispatcher).call('machines.add', {
        name: 'mine',
        provider: 'vagrant',
        dir: home,
      });
      expect(cli).toMatchObject({ ok: false });
      expect(cli.ok ? '' : cli.error.code).not.toBe('permission');
    } finally {
      await service.close();
    }
  });

  it('the window and the web page reach only the UI methods and never name host paths (L1, L8)', async () => {
    const d = createDispatcher({
      'recipes.verify': async (req, op) => {
        hostPath(op, req.file, 'file');
        throw new Error('unreachable');
      },
      'steps.list': async (req, op) => {
        if (req.labsDir !== undefined) hostPath(op, req.labsDir, 'labsDir');
        return { steps: [], recipes: [], issues: [] };
      },
      'bench.list': async (req) => {
        requireName(req.machine, 'machine');
        return [];
      },
    });
    const remote = d.connect(() => undefined, { methods: UI_METHODS });
    const call = async (method: string, params: unknown) =>
      (await remote.handle({ t: 'call', id: 1, method, params } as never))?.result;
    expect(await call('recipes.verify', { file: '/etc/shadow' })).toMatchObject({
      ok: false,
      error: { code: 'permission' },
    });
    expect(await call('steps.list', { labsDir: '/etc' })).toMatchObject({
      ok: false,
      error: { code: 'permission' },
    });
    expect(await call('steps.list', {})).toMatchObject({ ok: true });
    expect(await call('bench.list', { machine: '../../outside' })).toMatchObject({
      ok: false,
      error: { code: 'bad-request' },
    });
    // The CLI (in-process) may name host paths.
    const local = createLocalClient(d);
    expect(await local.call('recipes.verify', { file: '/nonexistent' })).toMatchObject({
      ok: false,
      error: { code: 'internal' },
    });
  });
});

describe('class connections', () => {
  it('hear only the broadcasts their scope names, and carry their principal to handlers', async () => {
    const d = createDispatcher({
      'seat.whoami': async (_req, op) => ({
        seat: op.client.principal?.role === 'trainee' ? op.client.principal.seat : '-',
        trainee: '',
        workshop: '',
        fingerprint: '',
        takenOver: false,
      }),
    });
    const heard: Record<string, string[]> = { trainee: [], trainer: [], app: [] };
    const trainee = d.connect((m) => heard.trainee!.push(m.name), {
      methods: new Set(['seat.whoami']),
      events: new Set(),
      principal: { role: 'trainee', seat: 'seat-3' },
    });
    d.connect((m) => heard.trainer!.push(m.name), { events: new Set(['class.changed']) });
    d.connect((m) => heard.app!.push(m.name));
    d.broadcast('machines.changed', { name: 'cx-s2' });
    d.broadcast('workshops.changed', { machine: 'cx-s2' });
    d.broadcast('class.changed', {
      info: {
        workshop: 'w',
        title: 't',
        url: '',
        fingerprint: '',
        certificate: 'self-signed',
        startedAt: '',
        seats: [],
      },
    });
    expect(heard).toEqual({
      trainee: [],
      trainer: ['class.changed'],
      app: ['machines.changed', 'workshops.changed', 'class.changed'],
    });
    const r = await trainee.handle({ t: 'call', id: 1, method: 'seat.whoami', params: {} });
    expect(r?.result).toMatchObject({ ok: true, value: { seat: 'seat-3' } });
    const refused = await trainee.handle({ t: 'call', id: 2, method: 'machines.list', params: {} });
    expect(refused?.result).toMatchObject({ ok: false, error: { code: 'permission' } });
  });
});
