/**
 * Drives the real preload and IPC binder over the contract with a minimal in-process stand-in
 * for ipcMain/ipcRenderer/contextBridge (the Electron binary cannot be installed here).
 */
import { EventEmitter } from 'node:events';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createDispatcher } from '../../electron/core/dispatcher.js';
import { HlabError } from '../../shared/errors.js';
import { createClient, type ClientTransport } from '../../shared/rpc.js';

const fake = vi.hoisted(() => {
  type Listener = (...args: unknown[]) => void;
  class Emitter {
    private l = new Map<string, Set<Listener>>();
    on(ch: string, fn: Listener) {
      (this.l.get(ch) ?? this.l.set(ch, new Set()).get(ch))!.add(fn);
      return this;
    }
    once(ch: string, fn: Listener) {
      const w: Listener = (...a) => {
        this.removeListener(ch, w);
        fn(...a);
      };
      return this.on(ch, w);
    }
    removeListener(ch: string, fn: Listener) {
      this.l.get(ch)?.delete(fn);
      return this;
    }
    removeAllListeners(ch: string) {
      this.l.delete(ch);
      return this;
    }
    emit(ch: string, ...a: unknown[]) {
      for (const fn of [...(this.l.get(ch) ?? [])]) fn(...a);
    }
  }
  const handlers = new Map<string, (e: unknown, ...a: unknown[]) => unknown>();
  const ipcMain = Object.assign(new Emitter(), {
    handle: (ch: string, fn: (e: unknown, ...a: unknown[]) => unknown) => handlers.set(ch, fn),
    removeHandler: (ch: string) => handlers.delete(ch),
  });
  const rendererSide = new Emitter();
  const state = { frameUrl: 'file:///app/index.html', exposed: {} as Record<string, unknown> };
  const webContents = Object.assign(new Emitter(), {
    id: 1,
    isDestroyed: () => false,
    send: (ch: string, msg: unknown) => rendererSide.emit(ch, {}, msg),
  });
  const event = () => ({ sender: webContents, senderFrame: { url: state.frameUrl } });
  const ipcRenderer = {
    invoke: async (ch: string, ...a: unknown[]) => handlers.get(ch)!(event(), ...a),
    send: (ch: string, ...a: unknown[]) => ipcMain.emit(ch, event(), ...a),
    on: (ch: string, fn: Listener) => rendererSide.on(ch, fn),
    removeListener: (ch: string, fn: Listener) => rendererSide.removeListener(ch, fn),
  };
  const contextBridge = { exposeInMainWorld: (key: string, api: unknown) => (state.exposed[key] = api) };
  return { ipcMain, ipcRenderer, contextBridge, state, webContents };
});

vi.mock('electron', () => ({
  ipcMain: fake.ipcMain,
  ipcRenderer: fake.ipcRenderer,
  contextBridge: fake.contextBridge,
}));

describe('Electron IPC binder + preload', () => {
  beforeEach(() => {
    fake.state.frameUrl = 'file:///app/index.html';
  });

  async function setup() {
    const { bindIpc } = await import('../../electron/app/ipc.js');
    await import('../../electron/app/preload.js');
    const dispatcher = createDispatcher({
      'app.info': async () => ({
        name: 'Hardening Lab',
        version: '1',
        home: '/h',
        platform: 'x',
        node: '20',
      }),
      'machines.destroy': async (req) => {
        throw new HlabError('vm-not-found', `No machine named "${req.name}".`);
      },
      'images.build': (_req, ctx) =>
        new Promise((_r, reject) => {
          ctx.progress({ current: 2, max: 6, description: 'installing packages' });
          ctx.signal.addEventListener('abort', () => reject(new HlabError('cancelled', 'cancelled')));
        }),
    });
    const unbind = bindIpc(fake.ipcMain as never, dispatcher, (url) => url === 'file:///app/index.html');
    const bridge = fake.state.exposed.hlab as ClientTransport;
    return { client: createClient(bridge), dispatcher, unbind };
  }

  it('exposes only the generic transport on window.hlab', async () => {
    await setup();
    expect(Object.keys(fake.state.exposed.hlab as object).sort()).toEqual(['call', 'cancel', 'onEvent']);
  });

  it('carries results, errors as data, progress and cancellation', async () => {
    const { client, unbind } = await setup();
    expect(await client.call('app.info', {})).toMatchObject({ ok: true, value: { version: '1' } });
    expect(await client.call('machines.destroy', { name: 'ghost' })).toEqual({
      ok: false,
      error: { code: 'vm-not-found', message: 'No machine named "ghost".' },
    });
    const controller = new AbortController();
    const progress: number[] = [];
    const pending = client.call(
      'images.build',
      {},
      { signal: controller.signal, onProgress: (p) => progress.push(p.current) },
    );
    await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    expect(await pending).toMatchObject({ ok: false, error: { code: 'cancelled' } });
    expect(progress).toEqual([2]);
    unbind();
  });

  it('delivers broadcast events and refuses untrusted frames', async () => {
    const { client, dispatcher, unbind } = await setup();
    const seen: string[] = [];
    client.on('machines.changed', (e) => seen.push(e.name));
    await client.call('app.info', {}); // first call registers the window's connection
    dispatcher.broadcast('machines.changed', { name: 'lab1' });
    expect(seen).toEqual(['lab1']);
    fake.state.frameUrl = 'https://evil.example/';
    expect(await client.call('app.info', {})).toMatchObject({ ok: false, error: { code: 'permission' } });
    unbind();
  });

  it("aborts a window's operations when it is destroyed", async () => {
    const { client, unbind } = await setup();
    const pending = client.call('images.build', {});
    await new Promise((r) => setTimeout(r, 10));
    (fake.webContents as unknown as EventEmitter).emit('destroyed');
    expect(await pending).toMatchObject({ ok: false, error: { code: 'cancelled' } });
    unbind();
  });
});
