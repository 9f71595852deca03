/**
 * Electron main process: one window, secure webPreferences, our CSP, the IPC binding, single
 * instance, window state remembered. Everything else is the same code the CLI and web host run.
 */
import { app, BrowserWindow, ipcMain, Menu, session, shell } from 'electron';
import path from 'node:path';
import { createService } from '../core/service.js';
import { watchMachineRecords } from '../core/home-watch.js';
import { CONTENT_SECURITY_POLICY } from '../core/csp.js';
import { hlabHome } from '../core/paths.js';
import { bindIpc } from './ipc.js';
import { loadWindowState, saveWindowState } from './window-state.js';
import { buildMenu } from './menu.js';
import { startClassServer } from '../host/class-server.js';

const rendererIndex = path.join(__dirname, '..', 'renderer', 'index.html');
const rendererUrl = new URL(`file://${rendererIndex}`).href;

function isTrustedUrl(url: string): boolean {
  return url === rendererUrl || url.startsWith(`${rendererUrl}#`) || url.startsWith(`${rendererUrl}?`);
}

async function createWindow(): Promise<BrowserWindow> {
  const statePath = path.join(hlabHome(), 'window-state.json');
  const state = loadWindowState(statePath);
  const win = new BrowserWindow({
    ...state.bounds,
    minWidth: 960,
    minHeight: 600,
    show: false,
    title: 'Hardening Lab',
    webPreferences: {
      preload: path.join(__dirname, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
      devTools: !app.isPackaged,
    },
  });
  if (state.maximized) win.maximize();
  win.once('ready-to-show', () => win.show());
  win.on('close', () => saveWindowState(statePath, win.getNormalBounds(), win.isMaximized()));
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (e, url) => {
    if (!isTrustedUrl(url)) e.preventDefault();
  });
  win.webContents.on('will-redirect', (e, url) => {
    if (!isTrustedUrl(url)) e.preventDefault();
  });
  // No <webview> or other guest contents: nothing of ours embeds one.
  win.webContents.on('will-attach-webview', (e) => e.preventDefault());
  await win.loadFile(rendererIndex);
  return win;
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    const [win] = BrowserWindow.getAllWindows();
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });
  app.whenReady().then(async () => {
    session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
      callback({
        responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
      });
    });
    session.defaultSession.setPermissionRequestHandler((_wc, _perm, callback) => callback(false));
    // A class started from the window is served by this process, from the same built renderer.
    const service: ReturnType<typeof createService> = createService({
      home: hlabHome(),
      serveClass: (room, o) =>
        startClassServer({
          dispatcher: service.dispatcher,
          room,
          staticDir: path.dirname(rendererIndex),
          ...o,
        }),
    });
    bindIpc(ipcMain, service.dispatcher, isTrustedUrl);
    // Machines a CLI creates or removes beside the window show up in it.
    watchMachineRecords(service.context.home, () =>
      service.context.broadcast('machines.changed', { name: '' }),
    );
    Menu.setApplicationMenu(buildMenu(app.name, (url) => void shell.openExternal(url), !app.isPackaged));
    await createWindow();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) void createWindow();
    });
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
}
