/**
 * A ready template keeps its memory as QEMU's migration stream beside its disk. A new machine is
 * then a qcow2 overlay on the template's disk, started with `-incoming` from that stream: no copy
 * of the template (184 MiB for 1 GiB of RAM, held to the disk's pace once the page cache is
 * dirty) and no `loadvm` out of the copy. The template's disk is never written again: every copy
 * reads it.
 */
import { createWriteStream, fsyncSync, openSync, closeSync, rmSync } from 'node:fs';
import net from 'node:net';
import { HlabError } from '../../../shared/errors.js';
import type { QmpClient } from './qmp.js';

/**
 * QEMU throttles migration to 32 MiB/s by default (a live migration must leave the guest some
 * bandwidth); the template is stopped first, so nothing competes with the stream.
 */
const UNTHROTTLED = 2 ** 40;
const POLL_MS = 50;

/**
 * The stream holds the guest's RAM (zero pages as flags) plus device state: a stream larger than
 * the RAM and this margin is not a template's, and stops being written.
 */
export const streamLimitBytes = (memoryMiB: number) => (memoryMiB + 64) * 1024 * 1024;

interface SaveOptions {
  /** A socket path of our own (in the template's folder): QEMU connects, we write the file. */
  socket: string;
  file: string;
  maxBytes: number;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** Receives one connection's bytes into `file`; the promise settles when QEMU closes it. */
function receiveOnce(o: SaveOptions): { listening: Promise<void>; done: Promise<number>; close: () => void } {
  rmSync(o.socket, { force: true });
  const server = net.createServer();
  const listening = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.socket, () => resolve());
  });
  const done = new Promise<number>((resolve, reject) => {
    server.once('connection', (conn) => {
      server.close();
      const out = createWriteStream(o.file, { mode: 0o600 });
      let bytes = 0;
      conn.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > o.maxBytes) {
          conn.destroy();
          out.destroy();
          reject(new HlabError('internal', `The template's saved state grew past ${o.maxBytes} bytes.`));
        }
      });
      conn.on('error', (err) =>
        reject(new HlabError('internal', `Saving the template's state: ${err.message}`)),
      );
      conn.pipe(out);
      out.on('error', (err) => reject(new HlabError('internal', `Writing ${o.file}: ${err.message}`)));
      out.on('finish', () => resolve(bytes));
    });
  });
  // Awaited after the migrate command; a failure before that must not be an unhandled rejection.
  done.catch(() => undefined);
  return {
    listening,
    done,
    close: () => {
      server.close();
      rmSync(o.socket, { force: true });
    },
  };
}

async function migrationFinished(q: QmpClient, o: SaveOptions): Promise<void> {
  const until = Date.now() + (o.timeoutMs ?? 300_000);
  for (;;) {
    const m = await q.execute<{ status?: string; 'error-desc'?: string }>('query-migrate');
    if (m.status === 'completed') return;
    if (m.status === 'failed' || m.status === 'cancelled')
      throw new HlabError(
        'internal',
        `QEMU could not save the template's state: ${m['error-desc'] ?? m.status}`,
      );
    if (o.signal?.aborted) {
      await q.execute('migrate_cancel').catch(() => undefined);
      throw new HlabError('cancelled', "Saving the template's state was cancelled.");
    }
    if (Date.now() > until)
      throw new HlabError('timeout', "QEMU did not finish saving the template's state.");
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * Stops the guest and writes its state (RAM + devices) to `file` through QEMU's migration to a
 * unix socket we listen on: no shell, and the disk is flushed and left at exactly that point.
 * Returns the stream's size.
 */
export async function saveMigrationStream(q: QmpClient, o: SaveOptions): Promise<number> {
  const rx = receiveOnce(o);
  try {
    await rx.listening;
    await q.execute('stop');
    await q.execute('migrate-set-parameters', { 'max-bandwidth': UNTHROTTLED });
    await q.execute('migrate', { uri: `unix:${o.socket}` });
    const [, bytes] = await Promise.all([migrationFinished(q, o), rx.done]);
    const fd = openSync(o.file, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return bytes;
  } catch (err) {
    rmSync(o.file, { force: true });
    throw err;
  } finally {
    rx.close();
  }
}

/**
 * Waits while QEMU loads an incoming stream (status "inmigrate"), then runs the guest: the template
 * was stopped when it was saved, and QEMU keeps the source's run state. A QEMU that fails to load
 * the stream exits, which `isAlive` turns into an error with the console's tail.
 */
export async function runIncoming(
  q: QmpClient,
  isAlive: () => Promise<void>,
  timeoutMs = 120_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    await isAlive();
    const { status } = await q.execute<{ status: string }>('query-status');
    if (status === 'running') return;
    if (status !== 'inmigrate') return void (await q.execute('cont'));
    if (Date.now() > until)
      throw new HlabError('timeout', `QEMU did not load the template's state within ${timeoutMs / 1000} s.`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
