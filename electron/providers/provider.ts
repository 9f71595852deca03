/**
 * The provider interface every VM backend implements, with declared capabilities (no stubs):
 * what a provider cannot do is said in its capabilities, and the optional methods below exist
 * exactly when the capability that needs them is declared.
 */
import { NAME_PATTERN } from '../../shared/names.js';
import { HlabError } from '../../shared/errors.js';
import type {
  AdoptSpec,
  EgressPolicy,
  ImageInfo,
  LabHostInfo,
  LabHostSpec,
  MachineFacts,
  MachineInfo,
  Progress,
  ProviderCapabilities,
  ProviderKind,
  SnapshotInfo,
  SshEndpoint,
} from '../../shared/types.js';

/** The live snapshot a ready template holds and a clone resumes on its first start. */
export const READY_SNAPSHOT = 'ready';

export interface OpOptions {
  signal?: AbortSignal;
  progress?: (p: Progress) => void;
}

export interface Detection {
  available: boolean;
  version?: string;
  reason?: string;
  /** What a guest of this provider reaches on the network, in one sentence for people. */
  network?: string;
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
  image: Pick<ImageInfo, 'name' | 'path' | 'sha256' | 'source' | 'seeding'>;
  memoryMiB: number;
  cpus: number;
  sshPort?: number;
  publicKey: string;
  /** The machine's SSH host key, made and pinned by the app; seeded where the provider can (cloud-init). */
  hostKey?: { private: string; public: string };
  /** HOST:PORT entries the guest may reach besides Debian's mirrors (providers with an egress filter). */
  egressAllow?: string[];
  /** With capabilities.hostPool: the lab server to place it on (else the one with most headroom). */
  host?: string;
}

/** With capabilities.hostPool: the lab servers machines are placed on. */
export interface HostPool {
  add(spec: LabHostSpec, opts?: OpOptions): Promise<LabHostInfo>;
  list(opts?: OpOptions): Promise<LabHostInfo[]>;
  /** Refuses while machines are placed there, unless `forget` (their records go; the server keeps its domains). */
  remove(name: string, o?: { forget?: boolean }): Promise<{ removed: string; forgot: string[] }>;
  /** The app's public key to put in a lab server's authorized_keys. */
  publicKey(): string;
}

export interface Provider {
  readonly kind: ProviderKind;
  readonly capabilities: ProviderCapabilities;
  detect(): Promise<Detection>;
  /** Whether this provider holds a machine of that name (machine names are unique across providers). */
  has(name: string): boolean;
  list(): Promise<MachineInfo[]>;
  get(name: string): Promise<MachineInfo>;
  facts(name: string): Promise<MachineFacts>;
  /** With capabilities.createFromImage. */
  create?(spec: CreateSpec, opts?: OpOptions): Promise<MachineInfo>;
  /** With capabilities.adoptExisting. */
  adopt?(spec: AdoptSpec, opts?: OpOptions): Promise<MachineInfo>;
  up(name: string, opts?: OpOptions): Promise<SshEndpoint>;
  down(name: string, opts?: OpOptions & { force?: boolean }): Promise<void>;
  /** Deletes a machine the app created; an adopted one is only forgotten, never deleted. */
  destroy(name: string): Promise<void>;
  snapshots: SnapshotManager;
  /** With capabilities.console: the console's last lines (what the guest wrote to its serial port). */
  consoleTail?(name: string, lines?: number): string;
  /** With capabilities.console: throws an error carrying the console's last lines if the VM died. */
  assertAlive?(name: string, what: string): Promise<void>;
  /**
   * With capabilities.readyClone: where templates live (a provider of their own, in a folder
   * shared across homes like the images), and a new machine made from a stopped template's disk.
   */
  templates?(): { provider: Provider; dir: string };
  /** With capabilities.readyClone, on the templates' provider: true once copies may be made. */
  templateSaved?(template: string): boolean;
  /** Saves a running template's state for its copies to resume, and stops it for good. */
  saveTemplate?(template: string, opts?: OpOptions): Promise<void>;
  /** `seed(user)`: the machine's seed text, which the agent in the resumed template applies. */
  cloneTemplate?(
    template: string,
    spec: CreateSpec,
    seed: (user: string) => string,
    opts?: OpOptions,
  ): Promise<MachineInfo>;
  /** With reboot 'exit-and-restart': true once the hypervisor ended after the guest rebooted. */
  waitForGuestExit?(name: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  /**
   * With capabilities.egressFilter: what the guest may reach, after adding or removing HOST:PORT
   * entries of its own allow list (effective at the guest's next connection, no restart).
   */
  egress?(name: string, change?: EgressChange): EgressPolicy;
  /** With capabilities.hostPool. */
  hosts?: HostPool;
}

export interface EgressChange {
  allow?: string[];
  remove?: string[];
}

/** Machine and snapshot names: one rule, shared with the forms that check them as the user types. */
export { NAME_PATTERN };

export function validateSnapshotName(snapshot: string): void {
  if (!NAME_PATTERN.test(snapshot) || /^\d+$/.test(snapshot)) {
    throw new HlabError(
      'snapshot-invalid',
      `Invalid snapshot name "${snapshot}": use letters, digits, ".", "_" or "-" (not only digits, at most 63 characters).`,
      { snapshot },
    );
  }
}

/** A snapshot that is not there: nothing was touched. */
export const snapshotNotFound = (machine: string, snapshot: string) =>
  new HlabError(
    'snapshot-not-found',
    `Machine "${machine}" has no snapshot "${snapshot}"; nothing was changed.`,
    {
      machine,
      snapshot,
    },
  );

/** Refuses a snapshot name the machine already has (taking it would fail half-way or overwrite). */
export function refuseTakenSnapshot(existing: SnapshotInfo[], machine: string, snapshot: string): void {
  if (existing.some((s) => s.name === snapshot))
    throw new HlabError('conflict', `Machine "${machine}" already has a snapshot "${snapshot}".`, {
      machine,
      snapshot,
    });
}

/** Runs a host command; providers take one so tests can replay recorded transcripts. */
export type CommandRunner = (
  cmd: string,
  args: string[],
  opts: {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    signal?: AbortSignal;
    timeoutMs?: number;
    onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
    packageHint?: string;
  },
) => Promise<{ code: number; stdout: string; stderr: string }>;
