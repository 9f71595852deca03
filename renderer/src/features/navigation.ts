import { create } from 'zustand';
import { SECTIONS, type Section } from './sections';

interface NavStore {
  section: Section;
  theme: 'dark' | 'light';
  go(section: Section): void;
  toggleTheme(): void;
}

/** The section a URL names ("#/Runs"): a reload or a shared link lands where the user was. */
export function sectionOf(hash: string): Section | undefined {
  let name: string;
  try {
    name = decodeURIComponent(hash.replace(/^#\/?/, ''));
  } catch {
    return undefined; // a malformed escape in a pasted link: land on the default section
  }
  return SECTIONS.find((s) => s.toLowerCase() === name.toLowerCase());
}

const fromUrl = () => (typeof window === 'undefined' ? undefined : sectionOf(window.location.hash));

export const useNav = create<NavStore>((set, get) => ({
  section: fromUrl() ?? 'Machines',
  theme: 'dark',
  go: (section) => {
    set({ section });
    if (typeof window !== 'undefined' && sectionOf(window.location.hash) !== section)
      window.history.pushState(null, '', `#/${section}`);
  },
  toggleTheme: () => set({ theme: get().theme === 'dark' ? 'light' : 'dark' }),
}));

// Back and forward move between sections as they do between pages.
if (typeof window !== 'undefined')
  window.addEventListener('popstate', () => {
    const s = fromUrl();
    if (s) useNav.setState({ section: s });
  });
