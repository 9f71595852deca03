/** The service facade: one dispatcher implementing shared/api.ts for the app, the web host and the CLI. */
import { createContext, type ServiceContext } from './context.js';
import { createDispatcher, type Dispatcher, type Handlers } from './dispatcher.js';
import { appHandlers } from './handlers/app.js';
import { machineHandlers } from './handlers/machines.js';
import { hostHandlers } from './handlers/hosts.js';
import { terminalHandlers } from './handlers/terminal.js';
import { runHandlers } from './handlers/runs.js';
import { keyHandlers } from './handlers/keys.js';
import { benchHandlers } from './handlers/bench.js';
import { workshopHandlers } from './handlers/workshops.js';
import { eventHandlers } from './handlers/events.js';
import { classHandlers } from './handlers/class.js';

export interface Service {
  dispatcher: Dispatcher;
  context: ServiceContext;
  close(): Promise<void>;
}

export function createService(opts: {
  home: string;
  env?: NodeJS.ProcessEnv;
  keepConnection?: ServiceContext['keepConnection'];
  serveClass?: ServiceContext['serveClass'];
}): Service {
  // Handlers broadcast through the dispatcher they are registered in: tie the knot via a ref.
  const ref: { dispatcher?: Dispatcher } = {};
  const context = createContext(opts.home, opts.env ?? process.env, (name, payload) =>
    ref.dispatcher?.broadcast(name, payload),
  );
  if (opts.keepConnection) context.keepConnection = opts.keepConnection;
  if (opts.serveClass) context.serveClass = opts.serveClass;
  const handlers: Handlers = {
    ...appHandlers(context),
    ...machineHandlers(context),
    ...hostHandlers(context),
    ...terminalHandlers(context),
    ...runHandlers(context),
    ...benchHandlers(context),
    ...keyHandlers(context),
    ...workshopHandlers(context),
    ...eventHandlers(context),
    ...classHandlers(context),
  };
  const dispatcher = createDispatcher(handlers);
  ref.dispatcher = dispatcher;
  return {
    dispatcher,
    context,
    // Only a proven login waiting for its terminal is held between operations (QMP and SSH
    // otherwise connect per call): a command that ends closes it rather than wait.
    close: async () => context.handover.dropAll(),
  };
}
