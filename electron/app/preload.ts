/**
 * Runs sandboxed in the renderer's isolated world; exposes exactly the generic transport the
 * shared client needs (call, cancel, events), nothing of Node or of ipcRenderer itself.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { CallMessage, ClientTransport, EventMessage } from '../../shared/rpc.js';
import type { Result } from '../../shared/errors.js';
import { CHANNEL_CALL, CHANNEL_CANCEL, CHANNEL_EVENT } from './channels.js';

export const bridge: ClientTransport = {
  call: (msg: CallMessage) => ipcRenderer.invoke(CHANNEL_CALL, msg) as Promise<Result<unknown>>,
  cancel: (opId: string) => ipcRenderer.send(CHANNEL_CANCEL, opId),
  onEvent: (listener: (msg: EventMessage) => void) => {
    const handler = (_e: IpcRendererEvent, msg: EventMessage) => listener(msg);
    ipcRenderer.on(CHANNEL_EVENT, handler);
    return () => {
      ipcRenderer.removeListener(CHANNEL_EVENT, handler);
    };
  },
};

contextBridge.exposeInMainWorld('hlab', bridge);
