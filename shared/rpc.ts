/**
 * Wire format and the generic client. Both transports (Electron IPC, WebSocket) move exactly
 * these messages; neither knows any method by name.
 */
import type { ApiEvents, EventName, MethodName, ReqOf, ResOf } from './api.js';
import type { Result } from './errors.js';
import type { Progress } from './types.js';

export interface CallMessage {
  t: 'call';
  id: number;
  method: string;
  params: unknown;
  opId?: string;
}
export interface CancelMessage {
  t: 'cancel';
  opId: string;
}
export type ClientMessage = CallMessage | CancelMessage;

export interface ResultMessage {
  t: 'result';
  id: number;
  result: Result<unknown>;
}
export interface EventMessage {
  t: 'event';
  name: string;
  payload: unknown;
}
export type ServerMessage = ResultMessage | EventMessage;

/** What a transport must provide to the client: send a call/cancel, deliver results and events. */
export interface ClientTransport {
  call(msg: CallMessage): Promise<Result<unknown>>;
  cancel(opId: string): void;
  onEvent(listener: (msg: EventMessage) => void): () => void;
}

export interface CallOptions {
  onProgress?: (p: Progress) => void;
  onLog?: (stream: string, text: string) => void;
  signal?: AbortSignal;
}

export interface ApiClient {
  call<M extends MethodName>(method: M, params: ReqOf<M>, opts?: CallOptions): Promise<Result<ResOf<M>>>;
  on<E extends EventName>(name: E, listener: (payload: ApiEvents[E]) => void): () => void;
}

let opCounter = 0;
function newOpId(): string {
  opCounter += 1;
  return `op-${Date.now().toString(36)}-${opCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

export function createClient(transport: ClientTransport): ApiClient {
  let callId = 0;
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const ops = new Map<string, CallOptions>();

  transport.onEvent((msg) => {
    if (msg.name === 'op.progress' || msg.name === 'op.log') {
      const p = msg.payload as ApiEvents['op.progress'] & ApiEvents['op.log'];
      const opts = ops.get(p.opId);
      if (msg.name === 'op.progress') opts?.onProgress?.(p.progress);
      else opts?.onLog?.(p.stream, p.text);
    }
    for (const l of listeners.get(msg.name) ?? []) l(msg.payload);
  });

  return {
    async call(method, params, opts) {
      callId += 1;
      const opId = newOpId();
      ops.set(opId, opts ?? {});
      const onAbort = () => transport.cancel(opId);
      if (opts?.signal?.aborted) {
        ops.delete(opId);
        return { ok: false, error: { code: 'cancelled', message: 'The operation was cancelled.' } };
      }
      opts?.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const result = await transport.call({ t: 'call', id: callId, method, params, opId });
        return result as Result<ResOf<typeof method>>;
      } finally {
        opts?.signal?.removeEventListener('abort', onAbort);
        ops.delete(opId);
      }
    },
    on(name, listener) {
      const set = listeners.get(name) ?? new Set();
      set.add(listener as (payload: unknown) => void);
      listeners.set(name, set);
      return () => set.delete(listener as (payload: unknown) => void);
    },
  };
}

/** Matches results to calls for message-based transports (WebSocket). */
export class PendingCalls {
  private pending = new Map<number, (r: Result<unknown>) => void>();

  add(id: number): Promise<Result<unknown>> {
    return new Promise((resolve) => this.pending.set(id, resolve));
  }

  settle(msg: ResultMessage): void {
    const resolve = this.pending.get(msg.id);
    if (!resolve) return;
    this.pending.delete(msg.id);
    resolve(msg.result);
  }

  failAll(message: string): void {
    for (const [id, resolve] of this.pending) {
      this.pending.delete(id);
      resolve({ ok: false, error: { code: 'unavailable', message } });
    }
  }
}

export function isClientMessage(v: unknown): v is ClientMessage {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as Record<string, unknown>;
  if (m.t === 'cancel') return typeof m.opId === 'string';
  return (
    m.t === 'call' &&
    typeof m.id === 'number' &&
    typeof m.method === 'string' &&
    (m.opId === undefined || typeof m.opId === 'string')
  );
}
