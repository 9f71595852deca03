/** Domain types shared by the main process, the CLI and the renderer. Plain data only. */

export interface Progress {
  /** Units done so far. */
  current: number;
  /** Total units; a negative value means indeterminate. */
  max: number;
  description: string;
}

export type ProviderKind = 'qemu' | 'vagrant' | 'virtualbox';

export interface ProviderCapabilities {
  liveSnapshot: boolean;
  offlineSnapshot: boolean;
  linkedClone: boolean;
}

export interface ProviderStatus {
  kind: ProviderKind;
  available: boolean;
  version?: string;
  reason?: string;
  capabilities: ProviderCapabilities;
}

export type MachineState = 'stopped' | 'starting' | 'running' | 'stopping' | 'crashed';

export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
}

export interface MachineInfo {
  name: string;
  provider: ProviderKind;
  image: string;
  memoryMiB: number;
  cpus: number;
  state: MachineState;
  ssh?: SshEndpoint;
  createdAt: string;
  /** Why the machine is in its state (e.g. the last serial lines of a crash). */
  note?: string;
}

export interface MachineSpec {
  name: string;
  provider?: ProviderKind;
  image?: string;
  memoryMiB?: number;
  cpus?: number;
  /** Fixed host port for SSH on 127.0.0.1; a free one is picked when absent. */
  sshPort?: number;
}

export interface SnapshotInfo {
  name: string;
  /** true when it holds the running VM state (restores without a boot). */
  live: boolean;
  createdAt: string;
  vmStateBytes?: number;
}

export interface ImageInfo {
  name: string;
  path: string;
  sizeBytes: number;
  sha256: string;
  kernel: string;
  recipeHash: string;
  builtAt: string;
  source: 'built' | 'pulled';
  packages: string[];
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface AppInfo {
  name: string;
  version: string;
  home: string;
  platform: string;
  node: string;
}
