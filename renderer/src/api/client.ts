/** Picks the transport: Electron's preload bridge when present, else the web host's WebSocket. */
import { createClient, type ApiClient, type ClientTransport } from '../../../shared/rpc';
import { useConnection } from '../features/connection/store';
import { createWsTransport } from './ws-transport';

declare global {
  interface Window {
    hlab?: ClientTransport;
  }
}

function makeClient(): ApiClient {
  if (window.hlab) {
    useConnection.getState().set('connected', 'Electron IPC');
    return createClient(window.hlab);
  }
  const token = new URLSearchParams(window.location.search).get('token') ?? '';
  const url = `ws://${window.location.host}/api?token=${encodeURIComponent(token)}`;
  return createClient(
    createWsTransport(url, (s, detail) => useConnection.getState().set(s, detail ?? 'WebSocket')),
  );
}

let client: ApiClient | undefined;
export function api(): ApiClient {
  client ??= makeClient();
  return client;
}
