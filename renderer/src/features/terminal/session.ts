/**
 * Binds one xterm to one server-side shell: input and resize go up, output comes down and is
 * acknowledged once xterm has rendered it (flow control), and a lost shell reopens on a key press.
 */
import type { Terminal } from '@xterm/xterm';
import type { Result } from '../../../../shared/errors';
import type { ApiClient } from '../../../../shared/rpc';

const ACK_BATCH = 16 * 1024;
/**
 * Input is sent in pieces of at most this many characters: JSON escapes a control character to
 * six bytes, so a piece stays far below the web host's 8 MiB frame limit even for a pasted binary.
 */
export const INPUT_CHUNK = 256 * 1024;

export function chunkInput(data: string, size = INPUT_CHUNK): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < data.length) {
    let end = Math.min(start + size, data.length);
    // Never split a surrogate pair: each half alone would arrive as U+FFFD.
    const last = data.charCodeAt(end - 1);
    if (end < data.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    out.push(data.slice(start, end));
    start = end;
  }
  return out;
}

export interface SessionCallbacks {
  onState(state: 'connecting' | 'open' | 'closed', reason?: string): void;
}

/** How a view reaches its shell: a machine's own (the app), a class seat's, or a watched seat's. */
export interface ShellOps {
  open(cols: number, rows: number): Promise<Result<{ id: string }>>;
  input(id: string, data: string): Promise<unknown>;
  resize(id: string, cols: number, rows: number): void;
  ack(id: string, chars: number): void;
  close(id: string): void;
}

export function machineShell(api: ApiClient, machine: string): ShellOps {
  return {
    open: (cols, rows) => api.call('terminal.open', { machine, cols, rows }),
    input: (id, data) => api.call('terminal.input', { id, data }),
    resize: (id, cols, rows) => void api.call('terminal.resize', { id, cols, rows }),
    ack: (id, chars) => void api.call('terminal.ack', { id, chars }),
    close: (id) => void api.call('terminal.close', { id }),
  };
}

/**
 * `blocked` says why a key press must not reconnect now ("web1 is stopped: …"), or nothing when it
 * may: a closed shell on a stopped or removed machine would only fail again.
 */
export function bindTerminal(
  api: ApiClient,
  term: Terminal,
  shell: ShellOps,
  cb: SessionCallbacks,
  blocked: () => string | undefined = () => undefined,
): () => void {
  let id: string | undefined;
  let closed = false;
  let disposed = false;
  let pendingAck = 0;
  // Keys typed while the shell is (re)connecting are sent once it is open, not lost.
  let queuedInput = '';
  let ackTimer: ReturnType<typeof setTimeout> | undefined;
  // The reason last written for a refused reconnect: said once, not once per key.
  let saidBlocked: string | undefined;
  // Output can arrive before terminal.open's result names the id: keep it until then.
  const early = new Map<string, string[]>();

  // Pieces of one paste go out strictly in order, each after the previous one was taken.
  let inputChain: Promise<unknown> = Promise.resolve();
  const sendInput = (id: string, data: string) => {
    for (const piece of chunkInput(data)) inputChain = inputChain.then(() => shell.input(id, piece));
  };

  const flushAck = () => {
    ackTimer = undefined;
    if (id && pendingAck > 0) shell.ack(id, pendingAck);
    pendingAck = 0;
  };
  const write = (data: string) =>
    term.write(data, () => {
      pendingAck += data.length;
      if (pendingAck >= ACK_BATCH) flushAck();
      else ackTimer ??= setTimeout(flushAck, 30);
    });

  const offData = api.on('terminal.data', (e) => {
    if (e.id === id) write(e.data);
    else if (!id) early.set(e.id, [...(early.get(e.id) ?? []), e.data]);
  });
  const offExit = api.on('terminal.exit', (e) => {
    if (e.id !== id) return;
    closed = true;
    id = undefined;
    term.write(`\r\n\x1b[33m[${e.reason} — press any key to reconnect]\x1b[0m\r\n`);
    cb.onState('closed', e.reason);
  });

  const open = async () => {
    closed = false;
    saidBlocked = undefined;
    cb.onState('connecting');
    const r = await shell.open(term.cols, term.rows);
    if (disposed) {
      if (r.ok) shell.close(r.value.id);
      return;
    }
    if (!r.ok) {
      closed = true;
      term.write(`\r\n\x1b[31m[${r.error.message} — press any key to retry]\x1b[0m\r\n`);
      cb.onState('closed', r.error.message);
      return;
    }
    id = r.value.id;
    for (const d of early.get(id) ?? []) write(d);
    early.clear();
    cb.onState('open');
    if (queuedInput) sendInput(id, queuedInput);
    queuedInput = '';
  };

  const reconnect = () => {
    const why = blocked();
    if (!why) return void open();
    if (why !== saidBlocked) term.write(`\r\n\x1b[33m[${why}]\x1b[0m\r\n`);
    saidBlocked = why;
  };
  const inputSub = term.onData((data) => {
    if (closed) reconnect();
    else if (id) sendInput(id, data);
    else queuedInput += data;
  });
  const resizeSub = term.onResize(({ cols, rows }) => {
    if (id) shell.resize(id, cols, rows);
  });
  void open();

  return () => {
    disposed = true;
    if (ackTimer) clearTimeout(ackTimer);
    offData();
    offExit();
    inputSub.dispose();
    resizeSub.dispose();
    if (id) shell.close(id);
  };
}
