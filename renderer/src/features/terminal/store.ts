import { create } from 'zustand';

export interface TerminalTab {
  key: number;
  machine: string;
  state: 'connecting' | 'open' | 'closed';
  reason?: string;
}

interface TerminalStore {
  tabs: TerminalTab[];
  active?: number;
  open(machine: string): void;
  close(key: number): void;
  focus(key: number): void;
  setState(key: number, state: TerminalTab['state'], reason?: string): void;
}

let nextKey = 1;
export const useTerminals = create<TerminalStore>((set, get) => ({
  tabs: [],
  open: (machine) => {
    const key = nextKey++;
    set({ tabs: [...get().tabs, { key, machine, state: 'connecting' }], active: key });
  },
  close: (key) => {
    const tabs = get().tabs.filter((t) => t.key !== key);
    set({ tabs, active: get().active === key ? tabs.at(-1)?.key : get().active });
  },
  focus: (key) => set({ active: key }),
  setState: (key, state, reason) =>
    set({
      tabs: get().tabs.map((t) =>
        t.key === key ? { ...t, state, ...(reason ? { reason } : { reason: undefined }) } : t,
      ),
    }),
}));
