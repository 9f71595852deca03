import { create } from 'zustand';
import type { Section } from './sections';

interface NavStore {
  section: Section;
  theme: 'dark' | 'light';
  go(section: Section): void;
  toggleTheme(): void;
}

export const useNav = create<NavStore>((set, get) => ({
  section: 'Machines',
  theme: 'dark',
  go: (section) => set({ section }),
  toggleTheme: () => set({ theme: get().theme === 'dark' ? 'light' : 'dark' }),
}));
