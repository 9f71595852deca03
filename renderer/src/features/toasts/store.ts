import { create } from 'zustand';
import type { ApiError } from '../../../../shared/errors';

export interface Toast {
  id: number;
  kind: 'error' | 'info';
  text: string;
  hint?: string;
}

interface ToastStore {
  toasts: Toast[];
  push(t: Omit<Toast, 'id'>): void;
  error(e: ApiError): void;
  dismiss(id: number): void;
}

let next = 1;
export const useToasts = create<ToastStore>((set, get) => ({
  toasts: [],
  push: (t) => {
    const id = next++;
    set({ toasts: [...get().toasts, { ...t, id }].slice(-5) });
    // Errors stay until dismissed (they carry the next action); confirmations fade.
    if (t.kind === 'info') setTimeout(() => get().dismiss(id), 6000);
  },
  error: (e) => {
    const hint = typeof e.details?.hint === 'string' ? e.details.hint : undefined;
    get().push({ kind: 'error', text: `${e.message} (${e.code})`, ...(hint ? { hint } : {}) });
  },
  dismiss: (id) => set({ toasts: get().toasts.filter((t) => t.id !== id) }),
}));
