/** Domain types shared by the main process, the CLI and the renderer. Plain data only. */

export interface Progress {
  /** Units done so far. */
  current: number;
  /** Total units; a negative value means indeterminate. */
  max: number;
  description: string;
}

export type ProviderKind = 'qemu' | 'vagrant' | 'virtualbox' | 'libvirt';

/**
 * How a hypervisor differs, declared by its provider so that no code above asks which one it is
 * (the shape of lima's DriverFeatures).
 */
export interface ProviderCapabilities {
  /** Snapshots hold the running state and restore without a boot. */
  liveSnapshot: boolean;
  /** Snapshots of a stopped machine (disk only). */
  offlineSnapshot: boolean;
  linkedClone: boolean;
  /** Restore works only on a powered-off machine (VirtualBox): power off, restore, start again. */
  restoreNeedsPowerOff: boolean;
  /**
   * 'exit-and-restart': the hypervisor ends when the guest reboots and the provider starts it
   * again (QEMU -no-reboot); 'in-place': the guest reboots inside the running VM and the engine
   * waits for SSH to go away and come back with a new boot id.
   */
  reboot: 'exit-and-restart' | 'in-place';
  /** A serial console to read a crash from, and crash detection while waiting for SSH. */
  console: boolean;
  /** After a restore the guest clock stands at the snapshot's time and must be set. */
  clockDrift: boolean;
  /** Creates machines from our base image. */
  createFromImage: boolean;
  /** Adopts a machine the user already has (a Vagrant project, a VirtualBox VM). */
  adoptExisting: boolean;
  /**
   * New machines start from a copy of a booted template's live snapshot (one per image, memory
   * and CPUs) instead of a cold boot, then get their own identity.
   */
  readyClone: boolean;
  /**
   * Boots cloud images (users, keys and host keys from a cloud-init NoCloud seed it attaches), so
   * an image pulled from a distribution's cloud image server can become a machine.
   */
  cloudInitSeed: boolean;
  /**
   * The guest reaches nothing on the host or the network except what its egress allow list names,
   * through a package proxy the app runs for it (QEMU user networking with restrict=on). Other
   * providers' guests use their hypervisor's own NAT.
   */
  egressFilter: boolean;
  /**
   * Machines live on lab servers the user registers (`hlab hosts add`), reached over SSH; each
   * machine stays on the host it was placed on.
   */
  hostPool: boolean;
}

/** A lab server to register: a libvirt connection URI (`qemu:///system`, `qemu+ssh://user@host/system`). */
export interface LabHostSpec {
  name: string;
  uri: string;
  /** The SSH private key for qemu+ssh; the app's own lab-server key when absent. */
  keyFile?: string;
  /** How its guests run: `auto` asks libvirt whether KVM is there. */
  accel?: 'auto' | 'kvm' | 'tcg';
  /**
   * The server lets QEMU start the package-proxy connector for its guests (`seccomp_sandbox = 0`
   * in its qemu.conf): machines placed there reach their egress allow list; elsewhere nothing.
   */
  packageProxy?: boolean;
}

/** A registered lab server and what it has now (when it answered). */
export interface LabHostInfo {
  name: string;
  uri: string;
  accel: 'kvm' | 'tcg';
  /** Its guests reach their egress allow list through the app's package proxy (LabHostSpec.packageProxy). */
  packageProxy: boolean;
  /** SHA256 fingerprint of the SSH host key pinned when it was added (qemu+ssh). */
  hostKey?: string;
  reachable: boolean;
  /** Why it is unreachable or refused, in one sentence. */
  error?: string;
  libvirtVersion?: string;
  qemuVersion?: string;
  cpus?: number;
  memoryMiB?: number;
  freeMiB?: number;
  /** This app's machines placed on it. */
  machines: string[];
}

export interface ProviderStatus {
  kind: ProviderKind;
  available: boolean;
  version?: string;
  reason?: string;
  /** What a guest of this provider reaches on the network, in one sentence for people. */
  network?: string;
  capabilities: ProviderCapabilities;
}

/** 'unreachable': its lab server does not answer (the machine itself may be fine). */
export type MachineState = 'stopped' | 'starting' | 'running' | 'stopping' | 'crashed' | 'unreachable';

export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
  /** A key file named by the machine's own tooling (vagrant ssh-config); else the app's key. */
  identityFile?: string;
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
  /** A live snapshot the next start resumes from instead of booting. */
  resumeFrom?: string;
  /** Where the machine lives, in the provider's own terms (a Vagrant project directory, a VM UUID). */
  location?: string;
  /** The user's own machine, added to the app: destroying it only forgets it. */
  adopted?: boolean;
  /** Snapshot names, when the listing asked for them. */
  snapshots?: string[];
  /**
   * 'filtered': the guest reaches only its egress allow list, through the app's package proxy;
   * 'open': the hypervisor's NAT (machines of other providers, and QEMU machines made before the filter);
   * 'isolated': the guest reaches nothing at all, only its SSH is forwarded (libvirt lab machines).
   */
  network?: 'filtered' | 'open' | 'isolated';
  /** The lab server the machine runs on (a provider with a pool of hosts); it stays there. */
  host?: string;
}

/** One connection the package proxy relayed or refused for a guest. */
export interface EgressLogEntry {
  time: string;
  verdict: 'allowed' | 'refused' | 'unreachable' | 'bad-request' | 'error';
  method?: string;
  /** HOST:PORT as the guest asked for it. */
  target?: string;
  reason?: string;
}

/** What a filtered machine's guest may reach, and what it tried lately. */
export interface EgressPolicy {
  machine: string;
  /** 'isolated': the guest reaches nothing at all (a lab machine on a server without the package proxy). */
  network: 'filtered' | 'open' | 'isolated';
  /** Where the guest finds the proxy (apt is configured with it). */
  proxy: string;
  /** HOST:PORT entries every filtered machine may reach (Debian's mirrors). */
  defaults: string[];
  /** This machine's own additions (e.g. 10.0.2.2:PORT for a repository served on the host). */
  allow: string[];
  /** The proxy's latest entries for this machine, newest last. */
  recent: EgressLogEntry[];
}

/** What the engine and the evidence record about a machine's origin. */
export interface MachineFacts {
  provider: ProviderKind;
  /** Base image or box name. */
  image: string;
  /** Its sha256 when known (our images; boxes built from them). */
  imageSha256?: string;
  /** The lab server it runs on, as `NAME (URI)` (a provider with a pool of hosts). */
  host?: string;
}

/** An existing machine to adopt: a Vagrant project directory, or a VirtualBox VM by name or UUID. */
export interface AdoptSpec {
  name: string;
  provider: ProviderKind;
  /** Vagrant: the project directory (holding the Vagrantfile). */
  dir?: string;
  /** Vagrant: the machine in a multi-machine Vagrantfile (default "default"); VirtualBox: VM name or UUID. */
  vm?: string;
  /** SSH user and key where the provider cannot name them (VirtualBox). */
  sshUser?: string;
  sshKeyFile?: string;
  /** libvirt: the lab server holding the domain named by `vm`. */
  host?: string;
}

export interface MachineSpec {
  name: string;
  provider?: ProviderKind;
  image?: string;
  memoryMiB?: number;
  cpus?: number;
  /** Fixed host port for SSH on 127.0.0.1; a free one is picked when absent. */
  sshPort?: number;
  /** libvirt: the lab server to place it on; the one with the most headroom when absent. */
  host?: string;
  /**
   * Start at once from the image's ready template (a copy of a booted machine's live snapshot,
   * given its own identity) where the provider can; the machine is running when create returns.
   */
  ready?: boolean;
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
  /** Absent in manifests written before cloud images could boot: built = hlab-seed, pulled = cloud-init. */
  seeding?: ImageSeeding;
}

export const IMAGE_SEEDINGS = ['hlab-seed', 'cloud-init'] as const;
export type ImageSeeding = (typeof IMAGE_SEEDINGS)[number];

export const imageSeeding = (i: Pick<ImageInfo, 'seeding' | 'source'>): ImageSeeding =>
  i.seeding ?? (i.source === 'pulled' ? 'cloud-init' : 'hlab-seed');

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** Bytes dropped from the front of each stream: a result keeps a bounded tail of what the guest printed. */
  truncated?: { stdoutBytes: number; stderrBytes: number };
}

export interface AppInfo {
  name: string;
  version: string;
  home: string;
  platform: string;
  node: string;
}
