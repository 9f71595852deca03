import { create } from 'zustand';
import type { ConnectionState } from '../../api/ws-transport';

interface ConnectionStore {
  state: ConnectionState;
  detail: string;
  set(state: ConnectionState, detail: string): void;
}

export const useConnection = create<ConnectionStore>((set) => ({
  state: 'connecting',
  detail: '',
  set: (state, detail) => set({ state, detail }),
}));
