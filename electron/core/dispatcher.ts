/**
 * Node-side half of the contract: routes call messages to handlers, turns thrown errors into
 * data, gives long operations an AbortSignal and a progress/log channel, and fans events out to
 * every connected client. Transports (IPC, WebSocket, in-process CLI) only move messages.
 */
import {
  METHOD_NAMES,
  type ApiEvents,
  type EventName,
  type LogStream,
  type MethodName,
  type ReqOf,
  type ResOf,
} from '../../shared/api.js';
import { HlabError, toApiError } from '../../shared/errors.js';
import type { ClientMessage, EventMessage, ResultMessage } from '../../shared/rpc.js';
import type { Progress } from '../../shared/types.js';
import type { ClassPrincipal } from '../../shared/class.js';

/** The client a call came from: for resources that outlive the call (terminals). */
export interface ClientHandle {
  id: number;
  /** Sends an event to this client only. */
  emit<E extends EventName>(name: E, payload: ApiEvents[E]): void;
  /** Runs when the client goes away (window closed, socket dropped). */
  onClose(fn: () => void): void;
  /** May name files and folders of the host (evidence, labs folders, recipe paths): the local CLI only. */
  hostPaths: boolean;
  /** A class server's connection: whose link it came from (a seat's methods act on that seat only). */
  principal?: ClassPrincipal;
  /** Remote address, for the class's audit log. */
  from?: string;
}

/** What a connection may do: the window and the web page get the methods the UI uses, no host paths. */
export interface ConnectionScope {
  hostPaths?: boolean;
  methods?: ReadonlySet<string>;
  /** The broadcasts this connection hears (all when absent); events sent to it alone always arrive. */
  events?: ReadonlySet<EventName>;
  principal?: ClassPrincipal;
  from?: string;
}

export interface OpContext {
  opId: string;
  signal: AbortSignal;
  progress(p: Progress): void;
  log(stream: LogStream, text: string): void;
  client: ClientHandle;
}

export type Handler<M extends MethodName> = (req: ReqOf<M>, ctx: OpContext) => Promise<ResOf<M>>;
export type Handlers = { [M in MethodName]: Handler<M> };

type AnyHandler = (req: unknown, ctx: OpContext) => Promise<unknown>;
type Send = (msg: EventMessage) => void;

export interface Connection {
  handle(msg: ClientMessage): Promise<ResultMessage | undefined>;
  /** Aborts every operation this client started (window closed, socket dropped). */
  close(): void;
}

export interface Dispatcher {
  connect(send: Send, scope?: ConnectionScope): Connection;
  broadcast<E extends EventName>(name: E, payload: ApiEvents[E]): void;
}

const KNOWN = new Set<string>(METHOD_NAMES);

export function createDispatcher(handlers: Partial<Handlers>): Dispatcher {
  const clients = new Map<Send, ReadonlySet<EventName> | undefined>();
  const table = handlers as Partial<Record<string, AnyHandler>>;
  let nextClientId = 0;

  return {
    broadcast(name, payload) {
      for (const [send, heard] of clients) if (!heard || heard.has(name)) send({ t: 'event', name, payload });
    },
    connect(send, scope = {}) {
      clients.set(send, scope.events);
      const running = new Map<string, AbortController>();
      const closers: Array<() => void> = [];
      nextClientId += 1;
      const client: ClientHandle = {
        id: nextClientId,
        emit: (name, payload) => send({ t: 'event', name, payload }),
        onClose: (fn) => closers.push(fn),
        hostPaths: scope.hostPaths === true,
        ...(scope.principal ? { principal: scope.principal } : {}),
        ...(scope.from ? { from: scope.from } : {}),
      };
      return {
        async handle(msg) {
          if (msg.t === 'cancel') {
            running.get(msg.opId)?.abort();
            return undefined;
          }
          const opId = msg.opId ?? `call-${msg.id}`;
          const controller = new AbortController();
          running.set(opId, controller);
          try {
            if (!KNOWN.has(msg.method)) throw new HlabError('bad-request', `Unknown method "${msg.method}".`);
            if (scope.methods && !scope.methods.has(msg.method))
              throw new HlabError(
                'permission',
                scope.principal
                  ? `"${msg.method}" is not available to this ${scope.principal.role === 'trainer' ? 'trainer' : 'seat'} link.`
                  : `"${msg.method}" is not available over this connection; use the hlab CLI.`,
              );
            const handler = table[msg.method];
            if (!handler) throw new HlabError('bad-request', `Unknown method "${msg.method}".`);
            if (typeof msg.params !== 'object' || msg.params === null || Array.isArray(msg.params)) {
              throw new HlabError('bad-request', `Parameters of "${msg.method}" must be an object.`);
            }
            const ctx: OpContext = {
              opId,
              signal: controller.signal,
              progress: (progress) => send({ t: 'event', name: 'op.progress', payload: { opId, progress } }),
              log: (stream, text) => send({ t: 'event', name: 'op.log', payload: { opId, stream, text } }),
              client,
            };
            const value = await handler(msg.params, ctx);
            if (controller.signal.aborted) throw new HlabError('cancelled', 'The operation was cancelled.');
            return { t: 'result', id: msg.id, result: { ok: true, value: value ?? null } };
          } catch (err) {
            const error =
              controller.signal.aborted && !(err instanceof HlabError && err.code !== 'cancelled')
                ? { code: 'cancelled' as const, message: 'The operation was cancelled.' }
                : toApiError(err);
            return { t: 'result', id: msg.id, result: { ok: false, error } };
          } finally {
            running.delete(opId);
          }
        },
        close() {
          clients.delete(send);
          for (const c of running.values()) c.abort();
          running.clear();
          for (const fn of closers.splice(0)) {
            try {
              fn();
            } catch {
              // cleanup of one resource must not stop the others
            }
          }
        },
      };
    },
  };
}
