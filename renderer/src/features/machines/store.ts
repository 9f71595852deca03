/** Machines, providers, images and snapshots: re-fetched whole on a "changed" event. */
import { create } from 'zustand';
import type { MethodName, ReqOf, ResOf } from '../../../../shared/api';
import type {
  ImageInfo,
  MachineInfo,
  Progress,
  ProviderStatus,
  SnapshotInfo,
} from '../../../../shared/types';
import type { ApiClient } from '../../../../shared/rpc';
import { useToasts } from '../toasts/store';

export interface RunningOp {
  label: string;
  progress?: Progress;
  cancel: () => void;
  /** When it began (ms since the epoch): the UI ticks the elapsed time itself. */
  startedAt: number;
  /** The machine it creates or changes, when the key is not the machine's own name. */
  machine?: string;
}

interface MachinesStore {
  machines: MachineInfo[];
  providers: ProviderStatus[];
  images: ImageInfo[];
  snapshots: Record<string, SnapshotInfo[]>;
  loaded: boolean;
  ops: Record<string, RunningOp>;
  refresh(api: ApiClient): Promise<void>;
  loadSnapshots(api: ApiClient, machine: string): Promise<void>;
  runOp<M extends MethodName>(
    api: ApiClient,
    key: string,
    label: string,
    method: M,
    params: ReqOf<M>,
    machine?: string,
  ): Promise<ResOf<M> | undefined>;
}

export const useMachines = create<MachinesStore>((set, get) => ({
  machines: [],
  providers: [],
  images: [],
  snapshots: {},
  loaded: false,
  ops: {},
  async refresh(api) {
    const [m, p, i] = await Promise.all([
      api.call('machines.list', {}),
      api.call('providers.list', {}),
      api.call('images.list', {}),
    ]);
    set({
      machines: m.ok ? m.value : get().machines,
      providers: p.ok ? p.value : get().providers,
      images: i.ok ? i.value : get().images,
      loaded: m.ok,
    });
    if (!m.ok) useToasts.getState().error(m.error);
  },
  async loadSnapshots(api, machine) {
    const r = await api.call('snapshots.list', { machine });
    if (r.ok) set({ snapshots: { ...get().snapshots, [machine]: r.value } });
  },
  async runOp(api, key, label, method, params, machine) {
    const controller = new AbortController();
    const op: RunningOp = { label, cancel: () => controller.abort(), startedAt: Date.now() };
    set({ ops: { ...get().ops, [key]: machine ? { ...op, machine } : op } });
    const r = await api.call(method, params, {
      signal: controller.signal,
      onProgress: (progress) => {
        const op = get().ops[key];
        if (op) set({ ops: { ...get().ops, [key]: { ...op, progress } } });
      },
    });
    const ops = { ...get().ops };
    delete ops[key];
    set({ ops });
    // Errors are scoped to what they are about: the next success there takes them away.
    if (!r.ok) {
      if (r.error.code !== 'cancelled') useToasts.getState().error(r.error, key);
      return undefined;
    }
    useToasts.getState().clearScope(key);
    return r.value;
  },
}));
