/**
 * Saving a template's state: QEMU's side is a small fake (it connects to our socket and writes,
 * like `migrate uri=unix:…`); the real QEMU path runs in every `--ready` create of the VM suites.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { QmpClient } from '../../electron/providers/qemu/qmp.js';
import { runIncoming, saveMigrationStream } from '../../electron/providers/qemu/template-state.js';
import { onlyEverCopied } from '../../electron/machines/ready-clone.js';

/** A QMP peer that streams `bytes` into the socket named by `migrate` and then reports completion. */
function fakeQemu(bytes: Buffer): { q: QmpClient; commands: string[] } {
  const commands: string[] = [];
  let sent: Promise<void> = Promise.resolve();
  const q = {
    execute: async (command: string, args?: Record<string, unknown>) => {
      commands.push(command);
      if (command === 'migrate') {
        const socket = String(args?.uri).replace(/^unix:/, '');
        sent = new Promise<void>((resolve) => {
          const c = net.createConnection(socket, () => c.end(bytes));
          c.on('close', () => resolve());
          c.on('error', () => resolve());
        });
      }
      if (command === 'query-migrate') {
        await sent;
        return { status: 'completed' };
      }
      return {};
    },
  } as unknown as QmpClient;
  return { q, commands };
}

const dir = () => mkdtempSync(path.join(os.tmpdir(), 'hlab-tpl-'));

describe('a template saved as a migration stream', () => {
  it('stops the guest, lifts the throttle and writes exactly what QEMU sent', async () => {
    const d = dir();
    const data = Buffer.alloc(300_000, 7);
    const { q, commands } = fakeQemu(data);
    const o = { socket: path.join(d, 'm.sock'), file: path.join(d, 'state'), maxBytes: 1_000_000 };
    expect(await saveMigrationStream(q, o)).toBe(data.length);
    expect(readFileSync(o.file).equals(data)).toBe(true);
    expect(commands.slice(0, 3)).toEqual(['stop', 'migrate-set-parameters', 'migrate']);
    expect(existsSync(o.socket)).toBe(false);
  });

  it('a stream past its bound is cut and leaves no file behind', async () => {
    const d = dir();
    const { q } = fakeQemu(Buffer.alloc(2_000_000, 1));
    const o = { socket: path.join(d, 'm.sock'), file: path.join(d, 'state'), maxBytes: 1_000_000 };
    await expect(saveMigrationStream(q, o)).rejects.toThrow(/grew past 1000000 bytes/);
    expect(existsSync(o.file)).toBe(false);
  });

  it('a machine resumed from it runs once loaded; a QEMU that died while loading is the error', async () => {
    const seen: string[] = [];
    const states = ['inmigrate', 'inmigrate', 'paused'];
    const q = {
      execute: async (command: string) => {
        seen.push(command);
        return command === 'query-status' ? { status: states.shift() } : {};
      },
    } as unknown as QmpClient;
    await runIncoming(q, async () => undefined);
    expect(seen).toEqual(['query-status', 'query-status', 'query-status', 'cont']);
    const dead = { execute: async () => ({ status: 'inmigrate' }) } as unknown as QmpClient;
    await expect(
      runIncoming(dead, async () => {
        throw new Error('QEMU of m died');
      }),
    ).rejects.toThrow('QEMU of m died');
  });
});

describe('ready templates of older versions', () => {
  it('only those from before v8 (never a backing file) are pruned', () => {
    expect(onlyEverCopied('debian-12-68bbba3a83f5-1024m-2c-v7')).toBe(true);
    expect(onlyEverCopied('debian-12-68bbba3a83f5-512m-1c-v3')).toBe(true);
    expect(onlyEverCopied('debian-12-68bbba3a83f5-1024m-2c-v8')).toBe(false);
    expect(onlyEverCopied('debian-12-68bbba3a83f5-1024m-2c-v10')).toBe(false);
    expect(onlyEverCopied('some-machine-v7x')).toBe(false);
    expect(onlyEverCopied('.keys')).toBe(false);
  });
});
