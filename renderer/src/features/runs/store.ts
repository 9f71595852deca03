/** Runs: the journal's history plus live events of runs started anywhere (UI, CLI, web host). */
import { create } from 'zustand';
import type { ApiClient } from '../../../../shared/rpc';
import type { RunSummary, StampedEvent } from '../../../../shared/runs';
import { useToasts } from '../toasts/store';

interface RunsStore {
  history: RunSummary[];
  events: Record<string, StampedEvent[]>;
  selected?: string;
  starting?: { cancel: () => void };
  subscribed: boolean;
  /** The recipe and machine picked in the start form: kept when the user leaves the section. */
  picked: { recipe: string; machine: string };
  pick(p: Partial<{ recipe: string; machine: string }>): void;
  subscribe(api: ApiClient): () => void;
  refresh(api: ApiClient): Promise<void>;
  select(api: ApiClient, id: string): Promise<void>;
  start(api: ApiClient, recipe: string, machine: string): Promise<RunSummary | undefined>;
  recover(api: ApiClient, id: string): Promise<void>;
}

export const useRuns = create<RunsStore>((set, get) => ({
  history: [],
  events: {},
  subscribed: false,
  picked: { recipe: '', machine: '' },
  pick: (p) => set({ picked: { ...get().picked, ...p } }),
  subscribe(api) {
    // A live run only learns its id from run-started; later events carry it in the payload.
    let live = '';
    const off = api.on('runs.event', ({ runId, event }) => {
      if (event.type === 'run-started') live = event.runId;
      const id = runId || live;
      if (!id) return;
      const list = get().events[id] ?? [];
      if (list.some((e) => e.seq === event.seq)) return;
      set({ events: { ...get().events, [id]: [...list, event] } });
      if (event.type === 'run-started') set({ selected: id });
      // The history shows a live run at its top and its steps as they finish.
      if (event.type === 'run-started' || event.type === 'step-finished' || event.type === 'run-finished')
        void get().refresh(api);
    });
    set({ subscribed: true });
    return off;
  },
  async refresh(api) {
    const r = await api.call('runs.list', {});
    if (r.ok) set({ history: r.value });
    else useToasts.getState().error(r.error);
  },
  async select(api, id) {
    set({ selected: id });
    const r = await api.call('runs.get', { id });
    if (r.ok) set({ events: { ...get().events, [id]: r.value.events } });
    else useToasts.getState().error(r.error);
  },
  async start(api, recipe, machine) {
    const controller = new AbortController();
    set({ starting: { cancel: () => controller.abort() } });
    const r = await api.call('runs.start', { recipe, machine }, { signal: controller.signal });
    set({ starting: undefined });
    void get().refresh(api);
    if (!r.ok) {
      useToasts.getState().error(r.error);
      return undefined;
    }
    return r.value;
  },
  async recover(api, id) {
    const r = await api.call('runs.recover', { id });
    if (!r.ok) useToasts.getState().error(r.error);
    await get().refresh(api);
    await get().select(api, id);
  },
}));
