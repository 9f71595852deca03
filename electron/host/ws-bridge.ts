/** Carries the contract over a WebSocket: one dispatcher connection per socket, nothing per method. */
import type { WebSocket } from 'ws';
import { UI_METHODS } from '../../shared/api.js';
import { isClientMessage } from '../../shared/rpc.js';
import type { Dispatcher } from '../core/dispatcher.js';

export function bindSocket(dispatcher: Dispatcher, socket: WebSocket): void {
  const conn = dispatcher.connect(
    (msg) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(msg));
    },
    { methods: UI_METHODS },
  );
  socket.on('message', (data) => {
    let msg: unknown;
    try {
      msg = JSON.parse(String(data));
    } catch {
      socket.close(1003, 'messages must be JSON');
      return;
    }
    if (!isClientMessage(msg)) {
      socket.close(1003, 'not a call or cancel message');
      return;
    }
    conn.handle(msg).then(
      (res) => {
        if (res && socket.readyState === socket.OPEN) socket.send(JSON.stringify(res));
      },
      () => socket.close(1011, 'internal error'),
    );
  });
  // ws reports oversized or malformed frames (and socket faults) as 'error'; without a listener
  // that would end the whole host. The socket closes itself with the right code.
  socket.on('error', () => socket.terminate());
  socket.on('close', () => conn.close());
}
