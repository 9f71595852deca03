import type { Terminal } from '@xterm/xterm';
import { describe, expect, it } from 'vitest';
import type { ApiClient } from '../../../../shared/rpc';
import type { MachineInfo } from '../../../../shared/types';
import { bindTerminal, chunkInput, INPUT_CHUNK, type ShellOps } from './session';
import { blockedReason } from './blocked';

describe('terminal input chunking', () => {
  it('keeps small input whole and splits a large paste into frame-sized pieces, in order', () => {
    expect(chunkInput('ls\r')).toEqual(['ls\r']);
    expect(chunkInput('')).toEqual([]);
    const paste = 'x'.repeat(INPUT_CHUNK * 2 + 5);
    const pieces = chunkInput(paste);
    expect(pieces.map((p) => p.length)).toEqual([INPUT_CHUNK, INPUT_CHUNK, 5]);
    expect(pieces.join('')).toBe(paste);
  });

  it('never splits a surrogate pair', () => {
    const pieces = chunkInput('ab😀cd', 3);
    expect(pieces.join('')).toBe('ab😀cd');
    for (const p of pieces) expect(p).not.toMatch(/^[\udc00-\udfff]|[\ud800-\udbff]$/);
  });

  it('a 9 MiB paste (over the host frame limit) goes out in pieces that each fit a frame', () => {
    const paste = '\u0001'.repeat(9 * 1024 * 1024);
    for (const p of chunkInput(paste))
      expect(new TextEncoder().encode(JSON.stringify({ data: p })).length).toBeLessThan(8 * 1024 * 1024);
  });
});

describe('a closed shell on a machine that cannot take it back', () => {
  /** Just enough of xterm, the API and a shell to see what a key press does. */
  function rig() {
    const written: string[] = [];
    let onData: (d: string) => void = () => {};
    const listeners = new Map<string, (e: unknown) => void>();
    const term = {
      cols: 80,
      rows: 24,
      write: (d: string, cb?: () => void) => {
        written.push(d);
        cb?.();
      },
      onData: (f: (d: string) => void) => ((onData = f), { dispose() {} }),
      onResize: () => ({ dispose() {} }),
    };
    const api = {
      on: (name: string, f: (e: unknown) => void) => (listeners.set(name, f), () => listeners.delete(name)),
    };
    let opens = 0;
    const shell: ShellOps = {
      open: async () => ({ ok: true, value: { id: `s${++opens}` } }),
      input: async () => undefined,
      resize() {},
      ack() {},
      close() {},
    };
    return {
      written,
      opens: () => opens,
      key: (d: string) => onData(d),
      exit: (id: string) => listeners.get('terminal.exit')?.({ id, reason: 'the connection was lost' }),
      bind: (blocked: () => string | undefined) =>
        bindTerminal(
          api as unknown as ApiClient,
          term as unknown as Terminal,
          shell,
          { onState() {} },
          blocked,
        ),
    };
  }
  const flush = () => new Promise((r) => setTimeout(r, 0));

  it('says why once instead of reconnecting, and reconnects once the machine runs again', async () => {
    const r = rig();
    let why: string | undefined =
      'web1 is stopped: start it under Machines, then press a key here to reconnect.';
    r.bind(() => why);
    await flush();
    expect(r.opens()).toBe(1);
    r.exit('s1');
    r.key('a');
    r.key('b');
    await flush();
    expect(r.opens()).toBe(1);
    expect(r.written.filter((w) => w.includes('web1 is stopped'))).toHaveLength(1);
    why = undefined;
    r.key('c');
    await flush();
    expect(r.opens()).toBe(2);
  });
});

describe('blocked reason of a tab', () => {
  const m = (state: MachineInfo['state']) => ({ name: 'web1', state }) as MachineInfo;
  it('is nothing until the list is loaded or while the machine runs; names a stop or a removal', () => {
    expect(blockedReason('web1', [], false)).toBeUndefined();
    expect(blockedReason('web1', [m('running')], true)).toBeUndefined();
    expect(blockedReason('web1', [m('stopped')], true)).toBe(
      'web1 is stopped: start it under Machines, then press a key here to reconnect.',
    );
    expect(blockedReason('web1', [], true)).toBe('web1 no longer exists: close this tab.');
  });
});
