/** Login events: collected from a machine's journal, kept per machine, forwarded to SIEMs. */
import path from 'node:path';
import type { DestinationState, EventsView } from '../../../shared/events.js';
import { HlabError } from '../../../shared/errors.js';
import { collectEvents, keyFingerprint } from '../../events/collect.js';
import { Forwarder } from '../../events/forwarder.js';
import { EventStore } from '../../events/store.js';
import type { ServiceContext } from '../context.js';
import type { Handlers } from '../dispatcher.js';
import { requireName } from './input.js';

type EventHandlers = Pick<
  Handlers,
  'events.collect' | 'events.list' | 'events.destinations' | 'events.forward.add' | 'events.forward.remove'
>;

export function eventHandlers(ctx: ServiceContext): EventHandlers {
  const store = () => new EventStore(path.join(ctx.home, 'events'));
  const stateOf = (id: string, f: Forwarder, lastError?: string): DestinationState => {
    const st = f.state();
    return {
      id,
      sink: st.sink,
      backlog: st.backlog,
      delivered: st.delivered,
      ...(st.dropped ? { dropped: st.dropped } : {}),
      ...(lastError ? { lastError } : {}),
    };
  };
  const states = (s: EventStore): DestinationState[] =>
    s.destinations().map((d) => stateOf(d.id, new Forwarder(s.spool(d.id), s.sink(d.id))));
  /** One delivery attempt per destination: what cannot go now stays in its spool for the next. */
  const forward = async (s: EventStore, signal?: AbortSignal): Promise<DestinationState[]> => {
    const out: DestinationState[] = [];
    for (const d of s.destinations()) {
      const f = new Forwarder(s.spool(d.id), s.sink(d.id));
      let lastError: string | undefined;
      try {
        await f.flushOnce(signal);
      } catch (err) {
        lastError = (err as Error).message;
      }
      out.push(stateOf(d.id, f, lastError));
    }
    return out;
  };
  return {
    'events.collect': async (req, op): Promise<EventsView> => {
      const info = await ctx.machines.get(requireName(req.machine, 'machine'));
      if (info.state !== 'running')
        throw new HlabError('vm-state', `Machine "${info.name}" is ${info.state}; start it first.`, {
          machine: info.name,
        });
      const s = store();
      const prev = s.state(info.name);
      const target = await ctx.machines.targetOf(info.name);
      const operator = keyFingerprint(target.privateKey);
      const ex = ctx.machines.executor(info.name);
      try {
        op.progress({ current: 0, max: -1, description: `reading ${info.name}'s journal` });
        const got = await collectEvents(ex, info.name, {
          operators: new Set(operator ? [operator] : []),
          seen: new Set(prev.seen),
          ...(prev.sinceMicros ? { sinceMicros: prev.sinceMicros } : {}),
          signal: op.signal,
        });
        s.record(info.name, got.events, got.sinceMicros);
        return {
          machine: info.name,
          events: got.events,
          ...(got.sshdLogLevel ? { sshdLogLevel: got.sshdLogLevel } : {}),
          forward: await forward(s, op.signal),
        };
      } finally {
        ex.reset();
      }
    },
    'events.list': async (req) => {
      const machine = requireName(req.machine, 'machine');
      const s = store();
      const limit = typeof req.limit === 'number' && req.limit > 0 ? Math.min(req.limit, 10_000) : 500;
      return { machine, events: s.list(machine).slice(-limit), forward: states(s) };
    },
    'events.destinations': async () => store().destinations(),
    'events.forward.add': async (req) => {
      if (req.kind !== 'syslog' && req.kind !== 'hec')
        throw new HlabError('bad-request', 'kind must be syslog or hec.');
      if (typeof req.target !== 'string') throw new HlabError('bad-request', 'target must be a string.');
      const machines =
        req.machines === undefined ? undefined : req.machines.map((m) => requireName(m, 'machines'));
      return store().addDestination({
        kind: req.kind,
        target: req.target,
        ...(typeof req.token === 'string' ? { token: req.token } : {}),
        ...(typeof req.index === 'string' ? { index: req.index } : {}),
        ...(machines ? { machines } : {}),
      });
    },
    'events.forward.remove': async (req) => {
      store().removeDestination(String(req.id));
      return { removed: String(req.id) };
    },
  };
}
