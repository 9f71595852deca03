/**
 * The machine layer everything above uses: which provider owns a machine, its SSH target and
 * executor, readiness after a boot or restore, and the facts the engine records. Providers are
 * registered once (core/context.ts); nothing here or above knows which hypervisor it talks to —
 * differences arrive as capabilities.
 */
import { readFileSync } from 'node:fs';
import { HlabError } from '../../shared/errors.js';
import type {
  AdoptSpec,
  EgressPolicy,
  MachineFacts,
  MachineInfo,
  Progress,
  ProviderCapabilities,
  ProviderKind,
  ProviderStatus,
  SnapshotInfo,
} from '../../shared/types.js';
import { imageSeeding } from '../../shared/types.js';
import type { CreateSpec, EgressChange, HostPool, OpOptions, Provider } from '../providers/provider.js';
import { SshExecutor } from '../ssh/executor.js';
import { dropKept } from '../ssh/keeper.js';
import { createFromReady, createPinned } from './ready-clone.js';
import { ensureKeyPair } from '../ssh/keys.js';
import type { KnownHosts } from '../ssh/known-hosts.js';
import { waitForSsh, type SshTarget } from '../ssh/session.js';
import { endpointOf, type LoginHandover } from '../ssh/handover.js';

export interface ReadyOptions {
  signal?: AbortSignal;
  progress?: (p: Progress) => void;
  timeoutMs: number;
  /** Set the guest clock in the same connection (after a restore or a resume). */
  fixClock?: boolean;
  /** Ready only when sudo works in that connection too. */
  proveSudo?: boolean;
  /** Ready only once the guest runs a boot other than this one (an in-place reboot). */
  bootIdOtherThan?: string;
  /** Give up once sshd has answered but refused the key for this long (a lock-out, not a slow boot). */
  authRefusedGraceMs?: number;
  /** Keep the login that proved readiness for the terminal that opens next (a workshop Reset). */
  handOver?: boolean;
  /** Told as each SSH attempt starts (see waitForSsh). */
  onAttempt?: () => void;
}

export const BOOT_ID = 'cat /proc/sys/kernel/random/boot_id';

export class Machines {
  constructor(
    private readonly o: {
      providers: Provider[];
      keysDir: string;
      knownHosts: KnownHosts;
      /**
       * The socket of a machine's kept connection (`hlab exec`): let go before every restore, so no
       * command runs on a session from before the snapshot (engine rollback, recovery, Reset alike).
       */
      keeperSocket?: (machine: string) => string;
      /** Where a proven login waits for the next terminal (`handOver`). */
      handover?: LoginHandover;
    },
  ) {}

  get knownHosts(): KnownHosts {
    return this.o.knownHosts;
  }

  providers(): Provider[] {
    return this.o.providers;
  }

  provider(kind: ProviderKind): Provider {
    const p = this.o.providers.find((x) => x.kind === kind);
    if (!p) throw new HlabError('unavailable', `Provider "${kind}" is not part of this version.`);
    return p;
  }

  async statuses(): Promise<ProviderStatus[]> {
    return Promise.all(
      this.o.providers.map(async (p) => ({
        kind: p.kind,
        ...(await p.detect()),
        capabilities: p.capabilities,
      })),
    );
  }

  exists(name: string): boolean {
    return this.o.providers.some((p) => p.has(name));
  }

  owner(name: string): Provider {
    const p = this.o.providers.find((x) => x.has(name));
    if (!p) throw new HlabError('vm-not-found', `No machine named "${name}".`, { machine: name });
    return p;
  }

  /** The lab servers of the provider that places machines on a pool of hosts. */
  hosts(): HostPool {
    const p = this.o.providers.find((x) => x.capabilities.hostPool && x.hosts);
    if (!p?.hosts) throw new HlabError('unavailable', 'No provider here places machines on lab servers.');
    return p.hosts;
  }

  capabilities(name: string): ProviderCapabilities {
    return this.owner(name).capabilities;
  }

  /** Every provider's machines in one list; a provider whose tool is missing lists none. */
  async list(): Promise<MachineInfo[]> {
    const all = await Promise.all(this.o.providers.map((p) => p.list().catch(() => [])));
    return all.flat().sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): Promise<MachineInfo> {
    return this.owner(name).get(name);
  }

  facts(name: string): Promise<MachineFacts> {
    return this.owner(name).facts(name);
  }

  /** What the machine's guest may reach (a provider with an egress filter), after the change. */
  egress(name: string, change: EgressChange = {}): EgressPolicy {
    const p = this.owner(name);
    if (!p.egress || !p.capabilities.egressFilter)
      throw new HlabError(
        'unavailable',
        `Machine "${name}" (${p.kind}) uses its hypervisor's own NAT: its provider has no egress filter (see hlab providers list).`,
        { machine: name },
      );
    return p.egress(name, change);
  }

  /**
   * `ready`: where the provider keeps ready templates, the machine resumes a copy of one (given its
   * own identity) and is running, SSH proven with its own key, when this returns.
   */
  async create(
    kind: ProviderKind,
    spec: CreateSpec,
    opts: OpOptions & { ready?: boolean } = {},
  ): Promise<MachineInfo> {
    this.refuseTaken(spec.name);
    const p = this.provider(kind);
    if (!p.create || !p.capabilities.createFromImage)
      throw new HlabError('unavailable', `Provider "${kind}" cannot create machines from an image.`);
    await this.requireAvailable(p);
    if (imageSeeding(spec.image) === 'cloud-init' && !p.capabilities.cloudInitSeed)
      throw new HlabError(
        'unavailable',
        `Image "${spec.image.name}" is a cloud image (users come from cloud-init), which provider "${kind}" does not seed; use a built image (hlab image build) or the qemu provider.`,
        { provider: kind, image: spec.image.name },
      );
    if (!opts.ready || !p.capabilities.readyClone) return createPinned(p, spec, this.o.knownHosts, opts);
    await createFromReady(
      p,
      spec,
      this.o.knownHosts,
      ensureKeyPair(this.o.keysDir, spec.name).privateKey,
      opts,
    );
    return p.get(spec.name);
  }

  async adopt(spec: AdoptSpec, opts: OpOptions = {}): Promise<MachineInfo> {
    this.refuseTaken(spec.name);
    const p = this.provider(spec.provider);
    if (!p.adopt || !p.capabilities.adoptExisting)
      throw new HlabError('unavailable', `Provider "${spec.provider}" cannot add existing machines.`);
    await this.requireAvailable(p);
    return p.adopt(spec, opts);
  }

  /** Says why a provider cannot be used here (not installed, driver not loaded) before trying. */
  private async requireAvailable(p: Provider): Promise<void> {
    const d = await p.detect();
    if (!d.available)
      throw new HlabError(
        'unavailable',
        `Provider "${p.kind}" is not available here: ${d.reason ?? 'unknown reason'}.`,
        {
          provider: p.kind,
        },
      );
  }

  private refuseTaken(name: string): void {
    if (this.exists(name))
      throw new HlabError('conflict', `A machine named "${name}" already exists.`, {
        machine: name,
        hint: `pick another name, or remove that one first: hlab machine rm ${name}`,
      });
  }

  /** Where to SSH to, with which key: the provider's own key file if it names one, else ours. */
  target(info: MachineInfo): SshTarget {
    if (info.state !== 'running' || !info.ssh) {
      throw new HlabError(
        'vm-state',
        `Machine "${info.name}" is ${info.state}; start it first (hlab machine up ${info.name}).`,
        { machine: info.name },
      );
    }
    return {
      machine: info.name,
      host: info.ssh.host,
      port: info.ssh.port,
      user: info.ssh.user,
      privateKey: info.ssh.identityFile
        ? readKey(info.name, info.ssh.identityFile)
        : ensureKeyPair(this.o.keysDir, info.name).privateKey,
    };
  }

  async targetOf(name: string): Promise<SshTarget> {
    return this.target(await this.get(name));
  }

  /** An executor that always finds the machine's current SSH endpoint (it changes across starts). */
  executor(name: string): SshExecutor {
    return new SshExecutor(() => this.targetOf(name), this.o.knownHosts);
  }

  /** SSH answers (and proves sudo when setting the clock); with a console, a crash ends the wait. */
  async waitReady(name: string, o: ReadyOptions): Promise<MachineInfo> {
    const p = this.owner(name);
    const info = await p.get(name);
    const assertAlive = p.assertAlive?.bind(p);
    const bootId = o.bootIdOtherThan?.replace(/[^0-9a-f-]/g, '');
    const target = this.target(info);
    const handover = o.handOver ? this.o.handover : undefined;
    await waitForSsh(target, this.o.knownHosts, {
      timeoutMs: o.timeoutMs,
      ...(handover ? { keep: (client) => handover.put(name, endpointOf(target), client) } : {}),
      signal: o.signal,
      progress: o.progress,
      ...(o.onAttempt ? { onAttempt: o.onAttempt } : {}),
      ...(o.authRefusedGraceMs ? { authRefusedGraceMs: o.authRefusedGraceMs } : {}),
      ...(assertAlive ? { isAlive: () => assertAlive(name, 'boot') } : {}),
      // One connection does it all: proves SSH (and sudo) work and sets the clock a restore left behind.
      probe: () =>
        [
          bootId ? `test "$(${BOOT_ID})" != '${bootId}'` : 'true',
          ...(o.fixClock ? [`sudo -n date -u -s @${Math.floor(Date.now() / 1000)} >/dev/null`] : []),
          ...(o.proveSudo && !o.fixClock ? ['sudo -n true'] : []),
        ].join(' && '),
    });
    return p.get(name);
  }

  /** Starts a machine and waits for SSH; a start that resumes a live snapshot also gets its clock set. */
  async up(name: string, o: OpOptions & { timeoutMs: number }): Promise<MachineInfo> {
    const p = this.owner(name);
    const resumed = Boolean((await p.get(name)).resumeFrom);
    try {
      await p.up(name, o);
      return await this.waitReady(name, { ...o, fixClock: resumed && p.capabilities.clockDrift });
    } catch (err) {
      // A start that was cancelled must not leave a half-booted VM behind.
      if ((err as HlabError).code === 'cancelled') await p.down(name, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Restores a snapshot and, when the machine runs afterwards (or `start` asks for it), waits until
   * SSH answers with the clock set. Providers that restore only powered-off machines are powered
   * off first and started again.
   */
  async restore(
    name: string,
    snapshot: string,
    o: OpOptions & {
      timeoutMs: number;
      start?: boolean;
      proveSudo?: boolean;
      handOver?: boolean;
      phase?: (name: string, ms: number) => void;
    },
  ): Promise<SnapshotInfo> {
    const p = this.owner(name);
    let t = performance.now();
    const lap = (phase: string) => {
      const now = performance.now();
      o.phase?.(phase, now - t);
      t = now;
    };
    const wasRunning = (await p.get(name)).state === 'running';
    if (this.o.keeperSocket) await dropKept(this.o.keeperSocket(name));
    // A login proven before this restore must not reach a terminal after it.
    this.o.handover?.drop(name);
    lap('state + drop kept connection');
    if (p.capabilities.restoreNeedsPowerOff && wasRunning) {
      // Look it up first: a missing snapshot must leave the machine running, untouched.
      if (!(await p.snapshots.list(name)).some((s) => s.name === snapshot))
        throw new HlabError('snapshot-not-found', `Machine "${name}" has no snapshot "${snapshot}".`, {
          machine: name,
          snapshot,
        });
      await p.down(name, { force: true, signal: o.signal });
    }
    const snap = await p.snapshots.restore(name, snapshot, o);
    lap('restore');
    const runningNow = (await p.get(name)).state === 'running';
    lap('state after');
    if (!runningNow && (o.start || (wasRunning && p.capabilities.restoreNeedsPowerOff))) {
      await p.up(name, o);
      lap('start');
    }
    if (runningNow || o.start || wasRunning) {
      // The wait for sshd (connections reset while the guest's network wakes) is named apart from
      // the login that answered: one is the guest's, the other this app's guarantee.
      let answering = t;
      await this.waitReady(name, {
        ...o,
        fixClock: p.capabilities.clockDrift,
        onAttempt: () => (answering = performance.now()),
      });
      o.phase?.('until sshd answers', answering - t);
      t = answering;
      const clock = p.capabilities.clockDrift;
      lap(
        ['fresh login', ...(clock || o.proveSudo ? ['sudo'] : []), ...(clock ? ['clock'] : [])].join(' + '),
      );
    }
    return snap;
  }

  /** The current boot's id: an in-place reboot is proven by a different one. */
  async bootId(name: string): Promise<string> {
    const ex = this.executor(name);
    try {
      return (await ex.exec(BOOT_ID, { timeoutMs: 30_000 })).stdout.trim();
    } finally {
      ex.reset();
    }
  }
}

function readKey(machine: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new HlabError(
      'ssh-auth',
      `Cannot read the SSH key of machine "${machine}" (${file}): ${(err as Error).message}`,
      { machine },
    );
  }
}
