/**
 * A ready template keeps its RAM in a file (QEMU's memory-backend-file, mapped shared while the
 * template runs) and the rest of its state (devices, CPUs) as a small migration stream beside its
 * disk. A new machine is a qcow2 overlay on the template's disk whose first start maps that RAM
 * file private (copy-on-write: pages are read as the guest touches them, and the page cache holds
 * one copy for every machine) and loads the stream (`-incoming`, RAM skipped by QEMU's
 * x-ignore-shared). Nothing is copied and nothing the size of the RAM is read at start. The
 * template never runs again: every copy reads its disk and its RAM file.
 */
import { closeSync, createWriteStream, fsyncSync, openSync, rmSync } from 'node:fs';
import net from 'node:net';
import { HlabError } from '../../../shared/errors.js';
import { qemuOptValue } from '../../platform/socket-path.js';
import type { QmpClient } from './qmp.js';

/**
 * QEMU throttles migration to 32 MiB/s by default (a live migration must leave the guest some
 * bandwidth); the template is stopped first, so nothing competes with the stream.
 */
const UNTHROTTLED = 2 ** 40;
const POLL_MS = 50;

/**
 * Without the RAM the stream holds device state and small ROM blocks (~0.7 MiB measured): one
 * larger than this is not a template's, and stops being written.
 */
export const STATE_LIMIT_BYTES = 64 * 2 ** 20;

/**
 * Guest RAM from a file. The block keeps QEMU's own name for the PC's RAM ("pc.ram"), so a copy's
 * later snapshots load into a plain start, and a plain snapshot into this one.
 */
function fileMemory(memoryMiB: number, file: string, shared: boolean): string[] {
  return [
    '-machine',
    'pc,memory-backend=pc.ram',
    '-object',
    `memory-backend-file,id=pc.ram,size=${memoryMiB}M,mem-path=${qemuOptValue(file)},share=${shared ? 'on' : 'off'}`,
  ];
}

/**
 * The machine and RAM arguments: a template writes its RAM file (shared); a copy's first start maps
 * its template's RAM file privately; every other start has plain RAM.
 */
export function machineMemory(
  rec: { memoryMiB: number; incoming?: string; templateMemory?: string },
  templateRamFile: string | undefined,
): string[] {
  if (templateRamFile) return fileMemory(rec.memoryMiB, templateRamFile, true);
  if (rec.incoming && rec.templateMemory) return fileMemory(rec.memoryMiB, rec.templateMemory, false);
  return ['-machine', 'pc'];
}

/** QEMU's x-ignore-shared: migration leaves out RAM that is a shared mapping of a file. */
const ignoreShared = (state: boolean) => ({ capabilities: [{ capability: 'x-ignore-shared', state }] });

/** Flushes a file QEMU wrote through a shared mapping, before the template counts as saved. */
export function fsyncFile(file: string): void {
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

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
    // The RAM is in the template's file already (shared mapping): the stream leaves it out.
    await q.execute('migrate-set-capabilities', ignoreShared(true));
    await q.execute('migrate-set-parameters', { 'max-bandwidth': UNTHROTTLED });
    await q.execute('migrate', { uri: `unix:${o.socket}` });
    const [, bytes] = await Promise.all([migrationFinished(q, o), rx.done]);
    fsyncFile(o.file);
    return bytes;
  } catch (err) {
    rmSync(o.file, { force: true });
    throw err;
  } finally {
    rx.close();
  }
}

/**
 * Loads an incoming stream and runs the guest. `deferred`: QEMU was started with `-incoming defer`
 * and the stream on fd 3, so the capability that skips the (file-mapped) RAM is set first. The
 * template was stopped when it was saved, and QEMU keeps the source's run state: hence `cont`. A
 * QEMU that fails to load the stream exits, which `isAlive` turns into an error with the console's
 * tail.
 */
export async function runIncoming(
  q: QmpClient,
  o: { deferred: boolean; isAlive: () => Promise<void>; timeoutMs?: number },
): Promise<void> {
  if (o.deferred) {
    await q.execute('migrate-set-capabilities', ignoreShared(true));
    await q.execute('migrate-incoming', { uri: 'fd:3' });
  }
  const timeoutMs = o.timeoutMs ?? 120_000;
  const until = Date.now() + timeoutMs;
  for (;;) {
    await o.isAlive();
    const { status } = await q.execute<{ status: string }>('query-status');
    if (status === 'running') return;
    if (status !== 'inmigrate') {
      // The capability also changes the format of every later savevm; off again, the copy's own
      // snapshots load into any later start of it.
      if (o.deferred) await q.execute('migrate-set-capabilities', ignoreShared(false));
      return void (await q.execute('cont'));
    }
    if (Date.now() > until)
      throw new HlabError('timeout', `QEMU did not load the template's state within ${timeoutMs / 1000} s.`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
