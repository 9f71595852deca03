/** The provider interface every VM backend implements, with declared capabilities (no stubs). */
import type {
  ImageInfo,
  MachineInfo,
  Progress,
  ProviderCapabilities,
  ProviderKind,
  SnapshotInfo,
  SshEndpoint,
} from '../../shared/types.js';

export interface OpOptions {
  signal?: AbortSignal;
  progress?: (p: Progress) => void;
}

export interface Detection {
  available: boolean;
  version?: string;
  reason?: string;
}

export interface SnapshotManager {
  take(machine: string, snapshot: string, opts?: OpOptions): Promise<SnapshotInfo>;
  restore(machine: string, snapshot: string, opts?: OpOptions): Promise<SnapshotInfo>;
  list(machine: string): Promise<SnapshotInfo[]>;
  remove(machine: string, snapshot: string): Promise<void>;
}

/** A machine to create: the base image is already resolved and checksum-verified by the caller. */
export interface CreateSpec {
  name: string;
  image: Pick<ImageInfo, 'name' | 'path' | 'sha256'>;
  memoryMiB: number;
  cpus: number;
  sshPort?: number;
  publicKey: string;
}

export interface Provider {
  readonly kind: ProviderKind;
  readonly capabilities: ProviderCapabilities;
  detect(): Promise<Detection>;
  list(): Promise<MachineInfo[]>;
  get(name: string): Promise<MachineInfo>;
  create(spec: CreateSpec, opts?: OpOptions): Promise<MachineInfo>;
  up(name: string, opts?: OpOptions): Promise<SshEndpoint>;
  down(name: string, opts?: OpOptions & { force?: boolean }): Promise<void>;
  destroy(name: string): Promise<void>;
  snapshots: SnapshotManager;
}

/** Machine and snapshot names end up in file names and QEMU command lines: keep them tame. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
