/**
 * Binds the dispatcher to ipcMain: one dispatcher connection per renderer (webContents), calls
 * accepted only from our own page, every operation of a closed window aborted.
 */
import { UI_METHODS } from '../../shared/api.js';
import type { IpcMain, IpcMainEvent, IpcMainInvokeEvent, WebContents } from 'electron';
import { isClientMessage } from '../../shared/rpc.js';
import type { Result } from '../../shared/errors.js';
import type { Connection, Dispatcher } from '../core/dispatcher.js';
import { CHANNEL_CALL, CHANNEL_CANCEL, CHANNEL_EVENT } from './channels.js';

type SenderEvent = Pick<IpcMainInvokeEvent | IpcMainEvent, 'sender' | 'senderFrame'>;

export function bindIpc(
  ipcMain: Pick<IpcMain, 'handle' | 'on' | 'removeHandler' | 'removeAllListeners'>,
  dispatcher: Dispatcher,
  isTrustedUrl: (url: string) => boolean,
): () => void {
  const connections = new Map<number, Connection>();

  const connectionFor = (sender: WebContents): Connection => {
    let conn = connections.get(sender.id);
    if (!conn) {
      const created = dispatcher.connect(
        (msg) => {
          if (!sender.isDestroyed()) sender.send(CHANNEL_EVENT, msg);
        },
        { methods: UI_METHODS },
      );
      connections.set(sender.id, created);
      sender.once('destroyed', () => {
        created.close();
        connections.delete(sender.id);
      });
      conn = created;
    }
    return conn;
  };

  const trusted = (e: SenderEvent) => {
    const url = e.senderFrame?.url;
    return typeof url === 'string' && isTrustedUrl(url);
  };

  ipcMain.handle(CHANNEL_CALL, async (e, msg: unknown): Promise<Result<unknown>> => {
    if (!trusted(e))
      return { ok: false, error: { code: 'permission', message: 'Call from an untrusted frame refused.' } };
    if (!isClientMessage(msg) || msg.t !== 'call') {
      return { ok: false, error: { code: 'bad-request', message: 'Malformed call message.' } };
    }
    const res = await connectionFor(e.sender).handle(msg);
    return res ? res.result : { ok: false, error: { code: 'internal', message: 'No result.' } };
  });
  ipcMain.on(CHANNEL_CANCEL, (e, opId: unknown) => {
    if (trusted(e) && typeof opId === 'string') void connectionFor(e.sender).handle({ t: 'cancel', opId });
  });

  return () => {
    ipcMain.removeHandler(CHANNEL_CALL);
    ipcMain.removeAllListeners(CHANNEL_CANCEL);
    for (const c of connections.values()) c.close();
    connections.clear();
  };
}
