/** WebSocket transport for web mode: same messages as IPC, reconnects, reports its state. */
import {
  PendingCalls,
  type CallMessage,
  type ClientTransport,
  type EventMessage,
  type ServerMessage,
} from '../../../shared/rpc';

/** Close codes after which reconnecting cannot help: a revoked link or ended class, a broken limit. */
const FINAL_CLOSE_CODES = new Set([4401, 1008]);

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'refused';

export function createWsTransport(
  url: string,
  onState: (s: ConnectionState, detail?: string) => void,
): ClientTransport {
  const pending = new PendingCalls();
  const listeners = new Set<(msg: EventMessage) => void>();
  let socket: WebSocket | undefined;
  let ready: Promise<WebSocket> | undefined;
  let everOpened = false;

  const open = (): Promise<WebSocket> => {
    if (ready) return ready;
    onState('connecting');
    ready = new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => {
        everOpened = true;
        socket = ws;
        onState('connected');
        resolve(ws);
      };
      ws.onmessage = (e) => {
        const msg = JSON.parse(String(e.data)) as ServerMessage;
        if (msg.t === 'result') pending.settle(msg);
        else for (const l of listeners) l(msg);
      };
      ws.onclose = (e) => {
        ready = undefined;
        socket = undefined;
        pending.failAll('Lost the connection to Hardening Lab.');
        // A socket that never opened was refused (bad token/origin), and the server ends one whose
        // link was revoked (4401) or that broke its limits (1008): retrying would not help.
        const final = !everOpened || FINAL_CLOSE_CODES.has(e.code);
        onState(
          final ? 'refused' : 'disconnected',
          !everOpened ? 'The server refused this page (token or origin).' : final ? e.reason : undefined,
        );
        if (!final) setTimeout(() => void open().catch(() => undefined), 1000);
        reject(new Error('closed'));
      };
    });
    return ready;
  };
  void open().catch(() => undefined);

  return {
    async call(msg: CallMessage) {
      try {
        const ws = await open();
        const result = pending.add(msg.id);
        ws.send(JSON.stringify(msg));
        return await result;
      } catch {
        return { ok: false, error: { code: 'unavailable', message: 'Not connected to Hardening Lab.' } };
      }
    },
    cancel(opId) {
      socket?.send(JSON.stringify({ t: 'cancel', opId }));
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
