/** An in-process client over the dispatcher: the CLI uses the same contract as the UI. */
import { createClient, type ApiClient, type EventMessage } from '../../shared/rpc.js';
import type { Dispatcher } from './dispatcher.js';

export function createLocalClient(dispatcher: Dispatcher): ApiClient {
  const listeners = new Set<(msg: EventMessage) => void>();
  // The CLI runs as the user on this host: it may name host paths and use every method.
  const conn = dispatcher.connect(
    (msg) => {
      for (const l of listeners) l(msg);
    },
    { hostPaths: true },
  );
  return createClient({
    async call(msg) {
      const res = await conn.handle(msg);
      return res ? res.result : { ok: false, error: { code: 'internal', message: 'No result.' } };
    },
    cancel(opId) {
      void conn.handle({ t: 'cancel', opId });
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  });
}
