/** Login events of one machine: the kept list, and a live mode that collects every few seconds. */
import { create } from 'zustand';
import type { AuthEvent, DestinationState } from '../../../../shared/events';
import type { ApiClient } from '../../../../shared/rpc';
import { useToasts } from '../toasts/store';

export interface EventFilter {
  outcome: 'all' | 'success' | 'failure';
  /** Hide the app's own activity: its logins (by its key) and its own sudo command lines. */
  hideOperator: boolean;
  text: string;
}

interface EventsStore {
  machine?: string;
  events: AuthEvent[];
  forward: DestinationState[];
  sshdLogLevel?: string;
  live: boolean;
  filter: EventFilter;
  setFilter(f: Partial<EventFilter>): void;
  load(api: ApiClient, machine: string): Promise<void>;
  collect(api: ApiClient): Promise<void>;
  setLive(live: boolean): void;
}

const KEPT = 2000;

export const useEvents = create<EventsStore>((set, get) => ({
  events: [],
  forward: [],
  live: false,
  filter: { outcome: 'all', hideOperator: false, text: '' },
  setFilter: (f) => set({ filter: { ...get().filter, ...f } }),
  async load(api, machine) {
    set({ machine, events: [], forward: [], sshdLogLevel: undefined });
    const r = await api.call('events.list', { machine, limit: KEPT });
    if (!r.ok) return useToasts.getState().error(r.error);
    if (get().machine === machine) set({ events: r.value.events, forward: r.value.forward });
  },
  async collect(api) {
    const machine = get().machine;
    if (!machine) return;
    const r = await api.call('events.collect', { machine });
    if (!r.ok) {
      set({ live: false });
      return useToasts.getState().error(r.error);
    }
    if (get().machine !== machine) return;
    set({
      events: [...get().events, ...r.value.events].slice(-KEPT),
      forward: r.value.forward,
      ...(r.value.sshdLogLevel ? { sshdLogLevel: r.value.sshdLogLevel } : {}),
    });
  },
  setLive: (live) => set({ live }),
}));

export function applyFilter(events: AuthEvent[], f: EventFilter): AuthEvent[] {
  const text = f.text.trim().toLowerCase();
  return events.filter(
    (e) =>
      (f.outcome === 'all' || e.outcome === f.outcome) &&
      !(f.hideOperator && e.operator) &&
      (!text || `${e.action} ${e.user ?? ''} ${e.sourceIp ?? ''} ${e.raw}`.toLowerCase().includes(text)),
  );
}
