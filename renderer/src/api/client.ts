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
  // The token leaves the address bar (and so the browser history) once read; a reload finds it
  // in this tab's session storage.
  const fromUrl = new URLSearchParams(window.location.search).get('token');
  if (fromUrl) {
    sessionStorage.setItem('hlab-token', fromUrl);
    window.history.replaceState(null, '', window.location.pathname + window.location.hash);
  }
  const token = fromUrl ?? sessionStorage.getItem('hlab-token') ?? '';
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
