import { create } from 'zustand';
import type { ApiError } from '../../../../shared/errors';

export interface ToastAction {
  label: string;
  run(): void;
}

export interface Toast {
  id: number;
  kind: 'error' | 'info';
  text: string;
  hint?: string;
  /** The error code, for a tooltip: a person reads the message, not the code. */
  code?: string;
  /** What the toast is about (a machine, a form); it goes when that succeeds. */
  scope?: string;
  action?: ToastAction;
}

interface ToastStore {
  toasts: Toast[];
  push(t: Omit<Toast, 'id'>): void;
  error(e: ApiError, scope?: string): void;
  dismiss(id: number): void;
  /** The cause of these toasts is gone (the same thing worked, or the user fixed the field). */
  clearScope(scope: string): void;
}

/** How long a toast stays: a confirmation briefly, an error long enough to read its next step. */
export const TOAST_MS = { info: 6_000, error: 20_000 } as const;

let next = 1;
export const useToasts = create<ToastStore>((set, get) => ({
  toasts: [],
  push: (t) => {
    const id = next++;
    // One toast per scope: a newer message about the same thing replaces the older one.
    const kept = t.scope ? get().toasts.filter((x) => x.scope !== t.scope) : get().toasts;
    set({ toasts: [...kept, { ...t, id }].slice(-5) });
    setTimeout(() => get().dismiss(id), TOAST_MS[t.kind]);
  },
  error: (e, scope) => {
    const hint = typeof e.details?.hint === 'string' ? e.details.hint : undefined;
    get().push({
      kind: 'error',
      text: e.message,
      code: e.code,
      ...(hint ? { hint } : {}),
      ...(scope ? { scope } : {}),
    });
  },
  dismiss: (id) => set({ toasts: get().toasts.filter((t) => t.id !== id) }),
  clearScope: (scope) => set({ toasts: get().toasts.filter((t) => t.scope !== scope) }),
}));
