/** Workshops and the open trainee session: re-fetched on "workshops.changed"; long calls show progress and can be cancelled. */
import { create } from 'zustand';
import type { MethodName, ReqOf, ResOf } from '../../../../shared/api';
import type { ApiClient } from '../../../../shared/rpc';
import type { LabIssue } from '../../../../shared/steps';
import type { Progress } from '../../../../shared/types';
import type {
  CheckResult,
  WorkshopProgress,
  WorkshopStatus,
  WorkshopSummary,
} from '../../../../shared/workshops';
import { useToasts } from '../toasts/store';

interface Busy {
  label: string;
  progress?: Progress;
  cancel: () => void;
  startedAt: number;
}

interface WorkshopsStore {
  workshops: WorkshopSummary[];
  sessions: WorkshopProgress[];
  issues: LabIssue[];
  /** The machine of the session shown. */
  open?: string;
  status?: WorkshopStatus;
  lastCheck?: CheckResult;
  busy?: Busy;
  /** Bumped after a reset or a reboot: the terminal reconnects. */
  terminalEpoch: number;
  refresh(api: ApiClient): Promise<void>;
  show(api: ApiClient, machine: string | undefined): Promise<void>;
  call<M extends MethodName>(
    api: ApiClient,
    label: string,
    method: M,
    params: ReqOf<M>,
  ): Promise<ResOf<M> | undefined>;
}

export const useWorkshops = create<WorkshopsStore>((set, get) => ({
  workshops: [],
  sessions: [],
  issues: [],
  terminalEpoch: 0,
  async refresh(api) {
    const r = await api.call('workshops.list', {});
    if (!r.ok) return useToasts.getState().error(r.error);
    set({ workshops: r.value.workshops, sessions: r.value.sessions, issues: r.value.issues });
    const open = get().open;
    if (open) {
      const s = await api.call('workshops.status', { machine: open });
      if (s.ok) set({ status: s.value });
    }
  },
  async show(api, machine) {
    set({ open: machine, status: undefined, lastCheck: undefined });
    if (!machine) return;
    const s = await api.call('workshops.status', { machine });
    if (s.ok) set({ status: s.value });
    else useToasts.getState().error(s.error);
  },
  async call(api, label, method, params) {
    const controller = new AbortController();
    set({ busy: { label, cancel: () => controller.abort(), startedAt: Date.now() } });
    const r = await api.call(method, params, {
      signal: controller.signal,
      onProgress: (progress) => {
        const b = get().busy;
        if (b) set({ busy: { ...b, progress } });
      },
    });
    set({ busy: undefined });
    if (!r.ok) {
      if (r.error.code !== 'cancelled') useToasts.getState().error(r.error);
      return undefined;
    }
    return r.value;
  },
}));
