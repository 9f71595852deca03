/**
 * The libvirt provider: machines on a pool of lab servers, each reached over `qemu+ssh://` (or
 * the local daemon), driven through virsh. A machine is a linked clone (a qcow2 volume backed by
 * the server's verified copy of our base image) with a domain the app defines; snapshots are
 * libvirt's internal ones, RAM included. A machine stays on the server it was placed on (libvirt
 * refuses to migrate a domain with internal snapshots).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { EGRESS_SEED_LINE, stopEgressProxy, type EgressProxyFiles } from '../egress/egress.js';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { HlabError } from '../../../shared/errors.js';
import type {
  AdoptSpec,
  EgressPolicy,
  LabHostInfo,
  LabHostSpec,
  MachineFacts,
  MachineInfo,
  ProviderCapabilities,
  SshEndpoint,
} from '../../../shared/types.js';
import { run } from '../../platform/run.js';
import {
  NAME_PATTERN,
  type CreateSpec,
  type Detection,
  type EgressChange,
  type HostPool,
  type OpOptions,
  type Provider,
  type SnapshotManager,
} from '../provider.js';
import { domainXml, forwardedSshPort } from './domain-xml.js';
import { RecordStore } from '../record-store.js';
import { machinesOn, type LibvirtMachineRecord } from './machine-store.js';
import { labEgressFiles, machineEgress, relayEgress } from './machine-egress.js';
import { LabSnapshots, type RestorePath } from './snapshots.js';

export type { RestorePath } from './snapshots.js';
import { domainState, firstIpv4, parseDomainList, type DomainState } from './parse.js';
import { LabPool, POOL, PROBE_TIMEOUT_MS } from './pool.js';

export interface LibvirtProviderOptions {
  /** home/libvirt */
  dir: string;
  keysDir: string;
  runDir: string;
  env: NodeJS.ProcessEnv;
}

const PORTS = { min: 20_000, max: 60_000 };

export class LibvirtProvider implements Provider {
  readonly kind = 'libvirt' as const;
  readonly capabilities: ProviderCapabilities = {
    liveSnapshot: true,
    offlineSnapshot: true,
    linkedClone: true,
    restoreNeedsPowerOff: false,
    reboot: 'in-place',
    console: false,
    clockDrift: true,
    createFromImage: true,
    adoptExisting: true,
    readyClone: false,
    cloudInitSeed: false,
    egressFilter: true,
    hostPool: true,
  };
  readonly pool: LabPool;
  readonly store: RecordStore<LibvirtMachineRecord>;
  readonly restorePath: RestorePath;

  constructor(private readonly o: LibvirtProviderOptions) {
    this.pool = new LabPool({ dir: o.dir, keysDir: o.keysDir, runDir: o.runDir, env: o.env });
    this.store = new RecordStore<LibvirtMachineRecord>(o.dir);
    const r = o.env.HLAB_LIBVIRT_RESTORE ?? 'monitor';
    if (r !== 'monitor' && r !== 'revert')
      throw new HlabError('bad-request', `HLAB_LIBVIRT_RESTORE must be monitor or revert (got "${r}").`);
    this.restorePath = r;
  }

  async detect(): Promise<Detection> {
    try {
      const r = await run('virsh', ['--version'], { timeoutMs: 10_000, packageHint: 'libvirt-clients' });
      const n = this.pool.store.list().length;
      return {
        available: true,
        version: r.stdout.trim(),
        network:
          "filtered: a guest reaches only its egress allow list, through the app's package proxy (forwarded over SSH); never its lab server or other guests",
        ...(n === 0 ? { reason: 'no lab server registered yet (hlab hosts add NAME --uri URI)' } : {}),
      };
    } catch (err) {
      const e = err as HlabError;
      return {
        available: false,
        reason:
          e.code === 'tool-missing' ? 'virsh is not installed (apt-get install libvirt-clients)' : e.message,
      };
    }
  }

  has(name: string): boolean {
    return this.store.exists(name);
  }

  private v(rec: LibvirtMachineRecord) {
    return this.pool.virsh(rec.host);
  }

  /** Where SSH reaches the guest, as the lab server sees it: our forward, else its DHCP lease. */
  private async guestAddress(
    rec: LibvirtMachineRecord,
    xml: string,
  ): Promise<{ address: string; port: number }> {
    const port = forwardedSshPort(xml);
    if (port) return { address: '127.0.0.1', port };
    const out = await this.v(rec).run(['domifaddr', rec.domain, '--source', 'lease'], {
      timeoutMs: PROBE_TIMEOUT_MS,
    });
    const ip = firstIpv4(out);
    if (!ip)
      throw new HlabError(
        'ssh-refused',
        `Domain "${rec.domain}" on lab server "${rec.host}" has no address yet.`,
        {
          machine: rec.name,
        },
      );
    return { address: ip, port: 22 };
  }

  private async endpoint(rec: LibvirtMachineRecord, xml: string): Promise<SshEndpoint> {
    const a = await this.guestAddress(rec, xml);
    const local = await this.pool.endpoint(rec.host, a.address, a.port);
    return { ...local, user: rec.user, ...(rec.identityFile ? { identityFile: rec.identityFile } : {}) };
  }

  private info(
    rec: LibvirtMachineRecord,
    state: DomainState | 'unreachable',
    extra: Partial<MachineInfo> = {},
  ): MachineInfo {
    return {
      name: rec.name,
      provider: 'libvirt',
      image: rec.image,
      memoryMiB: rec.memoryMiB,
      cpus: rec.cpus,
      state:
        state === 'unreachable'
          ? 'unreachable'
          : state === 'running' || state === 'paused'
            ? 'running'
            : state === 'crashed'
              ? 'crashed'
              : 'stopped',
      createdAt: rec.createdAt,
      location: `${rec.domain} on ${rec.host}`,
      host: rec.host,
      network: rec.adopted ? 'open' : (rec.network ?? 'isolated'),
      ...(rec.adopted ? { adopted: true } : {}),
      ...(state === 'paused' ? { note: 'The domain is paused (virsh resume).' } : {}),
      ...extra,
    };
  }

  /** The machine now; a running filtered one gets its package path from this process too. */
  get(name: string): Promise<MachineInfo> {
    return this.inspect(name, true);
  }

  /** `relay`: also start the package path (not for listings: a `machine list` starts no proxies). */
  private async inspect(name: string, relay: boolean): Promise<MachineInfo> {
    const rec = this.store.read(name);
    let out: string;
    try {
      out = await this.v(rec).run([`domstate ${rec.domain}; dumpxml ${rec.domain}`], {
        timeoutMs: PROBE_TIMEOUT_MS,
      });
    } catch (err) {
      const e = err as HlabError;
      if (e.code === 'host-unreachable') return this.info(rec, 'unreachable', { note: e.message });
      throw e;
    }
    const state = domainState(out.split('\n')[0] ?? '');
    if (state !== 'running') return this.info(rec, state);
    const note = relay ? await this.relayEgress(rec) : undefined;
    return this.info(rec, state, { ssh: await this.endpoint(rec, out), ...(note ? { note } : {}) });
  }

  /** One virsh call per server; an unreachable server marks its machines so, with its error. */
  async list(): Promise<MachineInfo[]> {
    const byHost = new Map<string, LibvirtMachineRecord[]>();
    for (const n of this.store.names()) {
      const r = this.store.read(n);
      byHost.set(r.host, [...(byHost.get(r.host) ?? []), r]);
    }
    const lists = await Promise.all(
      [...byHost].map(async ([host, recs]) => {
        let states: Map<string, DomainState>;
        try {
          states = parseDomainList(
            await this.pool.virsh(host).run(['list', '--all'], { timeoutMs: PROBE_TIMEOUT_MS }),
          );
        } catch (err) {
          return recs.map((r) => this.info(r, 'unreachable', { note: (err as Error).message }));
        }
        return Promise.all(
          recs.map((r) => {
            const s = states.get(r.domain);
            if (s === 'running') return this.inspect(r.name, false);
            return this.info(
              r,
              s ?? 'other',
              s ? {} : { note: `Domain "${r.domain}" is gone from lab server "${host}".` },
            );
          }),
        );
      }),
    );
    return lists.flat();
  }

  async facts(name: string): Promise<MachineFacts> {
    const rec = this.store.read(name);
    return {
      provider: 'libvirt',
      image: rec.image,
      ...(rec.imageSha256 ? { imageSha256: rec.imageSha256 } : {}),
      host: `${rec.host} (${this.pool.store.get(rec.host).uri})`,
    };
  }

  /** Reserve per server: the memory of its stopped machines, which they take when they start. */
  private async committed(): Promise<Map<string, number>> {
    const m = new Map<string, number>();
    for (const info of await this.list())
      if (info.state === 'stopped' && info.host) m.set(info.host, (m.get(info.host) ?? 0) + info.memoryMiB);
    return m;
  }

  async create(spec: CreateSpec, opts: OpOptions = {}): Promise<MachineInfo> {
    if (this.store.exists(spec.name))
      throw new HlabError('conflict', `A machine named "${spec.name}" already exists.`, {
        machine: spec.name,
      });
    const host = spec.host ? this.pool.store.get(spec.host).name : await this.placeFor(spec, opts);
    const hostRec = this.pool.store.get(host);
    const v = this.pool.virsh(host);
    const sig = opts.signal ? { signal: opts.signal } : {};
    await this.pool.ensurePool(host, opts.signal);
    const base = await this.pool.ensureBase(host, spec.image, opts);
    // QEMU's seccomp sandbox (libvirt's default) kills a QEMU that starts a process: only a server
    // that allows it gets the connector, and its guests package access.
    const egress = hostRec.packageProxy
      ? { connector: await this.pool.ensureConnector(host, opts.signal), port: this.freshPort() }
      : undefined;
    const volume = `${spec.name}.qcow2`;
    const domain = `hlab-${spec.name}`;
    if ((await v.raw(['dominfo', domain], sig)).code === 0)
      throw new HlabError('conflict', `Lab server "${host}" already has a domain "${domain}".`, { host });
    opts.progress?.({ current: 0, max: -1, description: `linked clone ${volume} on ${host}` });
    const capacity = /Capacity:\s+(\d+) bytes/.exec(
      await v.run(['vol-info', '--bytes', '--pool', POOL, base], sig),
    )?.[1];
    await v.run(
      [
        'vol-create-as',
        POOL,
        volume,
        capacity ?? '8G',
        '--format',
        'qcow2',
        '--backing-vol',
        base,
        '--backing-vol-format',
        'qcow2',
      ],
      sig,
    );
    try {
      const disk = (await v.run(['vol-path', '--pool', POOL, volume], sig)).trim();
      await this.define(
        host,
        domainXml({
          domain,
          machine: spec.name,
          accel: hostRec.accel,
          memoryMiB: spec.memoryMiB,
          cpus: spec.cpus,
          diskPath: disk,
          sshPort: this.freshPort(),
          seed: `user=lab\nhostname=${spec.name}\nkey=${spec.publicKey}\n${egress ? EGRESS_SEED_LINE : ''}`,
          ...(egress ? { egress } : {}),
        }),
        sig,
      );
    } catch (err) {
      await v.raw(['vol-delete', '--pool', POOL, volume]);
      throw err;
    }
    const rec: LibvirtMachineRecord = {
      name: spec.name,
      adopted: false,
      host,
      domain,
      image: spec.image.name,
      imageSha256: spec.image.sha256,
      memoryMiB: spec.memoryMiB,
      cpus: spec.cpus,
      user: 'lab',
      createdAt: new Date().toISOString(),
      volume,
      ...(egress
        ? {
            network: 'filtered' as const,
            egressPort: egress.port,
            ...(spec.egressAllow?.length ? { egressAllow: spec.egressAllow } : {}),
          }
        : {}),
    };
    this.store.write(rec);
    opts.progress?.({ current: 1, max: 1, description: `created ${spec.name} on lab server ${host}` });
    return this.info(rec, 'shut off');
  }

  private async placeFor(spec: CreateSpec, opts: OpOptions): Promise<string> {
    const p = await this.pool.place(spec.memoryMiB, await this.committed(), opts.signal);
    opts.progress?.({
      current: 0,
      max: -1,
      description: `placing ${spec.name} on lab server ${p.host} (${p.why})`,
    });
    return p.host;
  }

  /**
   * A port on the server's loopback for a guest's SSH. The app cannot see which are free there;
   * a start that finds it taken moves the machine to another (up()).
   */
  private freshPort(): number {
    return randomInt(PORTS.min, PORTS.max);
  }

  private async define(host: string, xml: string, o: { signal?: AbortSignal } = {}): Promise<void> {
    const tmp = path.join(this.o.runDir, `define-${process.pid}-${randomInt(1e9)}.xml`);
    mkdirSync(this.o.runDir, { recursive: true, mode: 0o700 });
    writeFileSync(tmp, xml, { mode: 0o600 });
    try {
      await this.pool.virsh(host).run(['define', tmp], o);
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  async adopt(spec: AdoptSpec, opts: OpOptions = {}): Promise<MachineInfo> {
    if (!spec.host)
      throw new HlabError('bad-request', 'host is required: the lab server that holds the domain.');
    const host = this.pool.store.get(spec.host).name;
    const domain = spec.vm ?? '';
    if (!NAME_PATTERN.test(domain))
      throw new HlabError(
        'bad-request',
        `vm must name the libvirt domain (letters, digits, ".", "_", "-"), got "${domain}".`,
      );
    if (!spec.sshUser || !spec.sshKeyFile)
      throw new HlabError(
        'bad-request',
        'sshUser and sshKeyFile are required: the guest user and key the app logs in with.',
      );
    const v = this.pool.virsh(host);
    const sig = opts.signal ? { signal: opts.signal } : {};
    const info = await v.raw(['dominfo', domain], sig);
    if (info.code !== 0) {
      const names = [...parseDomainList(await v.run(['list', '--all'], sig)).keys()];
      throw new HlabError(
        'vm-not-found',
        `Lab server "${host}" has no domain "${domain}"; it has: ${names.join(', ') || 'none'}.`,
        {
          host,
        },
      );
    }
    const mem = Number(/Max memory:\s+(\d+) KiB/.exec(info.stdout)?.[1] ?? 0);
    const rec: LibvirtMachineRecord = {
      name: spec.name,
      host,
      domain,
      image: `libvirt domain ${domain}`,
      memoryMiB: Math.round(mem / 1024),
      cpus: Number(/CPU\(s\):\s+(\d+)/.exec(info.stdout)?.[1] ?? 1),
      user: spec.sshUser,
      identityFile: spec.sshKeyFile,
      createdAt: new Date().toISOString(),
      adopted: true,
    };
    this.store.write(rec);
    return this.get(spec.name);
  }

  async up(name: string, opts: OpOptions = {}): Promise<SshEndpoint> {
    const rec = this.store.read(name);
    const v = this.v(rec);
    const sig = opts.signal ? { signal: opts.signal } : {};
    for (let attempt = 1; ; attempt += 1) {
      const cur = await this.get(name);
      if (cur.state === 'unreachable')
        throw new HlabError('host-unreachable', cur.note ?? `Lab server "${rec.host}" is unreachable.`, {
          host: rec.host,
        });
      if (cur.state === 'running' && cur.ssh) return cur.ssh;
      opts.progress?.({ current: 0, max: -1, description: `starting ${name} on ${rec.host}` });
      const r = await v.raw(['start', rec.domain], { ...sig, timeoutMs: 120_000 });
      if (r.code === 0) break;
      // Another process on the server took the port we forward: move to a fresh one and retry.
      if (/host forwarding/i.test(r.stderr) && !rec.adopted && attempt < 3) {
        const xml = await v.run(['dumpxml', '--inactive', rec.domain], sig);
        const old = forwardedSshPort(xml);
        if (old)
          await this.define(
            rec.host,
            xml.replace(`127.0.0.1:${old}-:22`, `127.0.0.1:${this.freshPort()}-:22`),
            sig,
          );
        continue;
      }
      throw v.error(['start'], r, `Starting machine "${name}"`);
    }
    const info = await this.get(name);
    if (!info.ssh)
      throw new HlabError(
        'vm-crashed',
        `Machine "${name}" stopped right after it started on "${rec.host}".`,
        { machine: name },
      );
    return info.ssh;
  }

  async down(name: string, opts: OpOptions & { force?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const rec = this.store.read(name);
    const v = this.v(rec);
    const state = async () =>
      domainState(await v.run(['domstate', rec.domain], { timeoutMs: PROBE_TIMEOUT_MS }));
    if ((await state()) === 'shut off') return;
    if (!opts.force) {
      opts.progress?.({ current: 0, max: -1, description: `ACPI power-down of ${name}` });
      await v.raw(['shutdown', rec.domain]);
      const until = Date.now() + (opts.timeoutMs ?? 90_000);
      while (Date.now() < until) {
        if ((await state()) === 'shut off') return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    const r = await v.raw(['destroy', rec.domain]);
    if (r.code !== 0 && (await state()) !== 'shut off') throw v.error(['destroy'], r);
  }

  async destroy(name: string): Promise<void> {
    const rec = this.store.read(name);
    if (rec.adopted) return this.store.remove(name);
    const v = this.v(rec);
    let listed;
    try {
      listed = await v.raw(['dominfo', rec.domain], { timeoutMs: PROBE_TIMEOUT_MS });
    } catch (err) {
      if ((err as HlabError).code !== 'host-unreachable') throw err;
      throw new HlabError(
        'host-unreachable',
        `Machine "${name}" cannot be deleted: lab server "${rec.host}" is unreachable. When it is gone for good, forget it with: hlab hosts rm ${rec.host} --forget.`,
        { machine: name, host: rec.host },
      );
    }
    if (listed.code === 0) {
      await v.raw(['destroy', rec.domain]);
      await v.run(['undefine', rec.domain, '--snapshots-metadata', '--managed-save']);
    }
    if (rec.volume) await v.raw(['vol-delete', '--pool', POOL, rec.volume]);
    stopEgressProxy(this.egressFiles(name));
    rmSync(path.join(this.o.dir, 'egress', name), { recursive: true, force: true });
    this.store.remove(name);
  }

  egressFiles(name: string): EgressProxyFiles {
    return labEgressFiles(this.o.dir, name);
  }

  /** A running filtered machine's package path, from this process (see relayEgress). */
  private relayEgress(rec: LibvirtMachineRecord): Promise<string | undefined> {
    return relayEgress(rec, this.egressFiles(rec.name), this.pool);
  }

  egress(name: string, change: EgressChange = {}): EgressPolicy {
    return machineEgress(this.store, name, change, this.egressFiles(name));
  }

  async assertAlive(name: string, what: string): Promise<void> {
    const rec = this.store.read(name);
    const s = domainState(await this.v(rec).run(['domstate', rec.domain], { timeoutMs: PROBE_TIMEOUT_MS }));
    if (s !== 'running')
      throw new HlabError(
        'vm-crashed',
        `Machine "${name}" (${rec.domain} on ${rec.host}) is ${s} during ${what}.`,
        {
          machine: name,
        },
      );
  }

  readonly hosts: HostPool = {
    add: (spec: LabHostSpec, opts?: OpOptions) => this.pool.add(spec, opts?.signal),
    list: async (): Promise<LabHostInfo[]> =>
      Promise.all(
        this.pool.store.list().map((h) =>
          this.pool.info(
            h,
            machinesOn(this.store, h.name).map((r) => r.name),
          ),
        ),
      ),
    remove: async (name, o = {}) => {
      this.pool.store.get(name);
      const placed = machinesOn(this.store, name).map((r) => r.name);
      if (placed.length && !o.forget)
        throw new HlabError(
          'conflict',
          `Lab server "${name}" still holds machines ${placed.join(', ')}: destroy them first, or forget them with --forget (their domains stay on the server).`,
          { host: name },
        );
      for (const m of placed) this.store.remove(m);
      this.pool.store.remove(name);
      return { removed: name, forgot: placed };
    },
    publicKey: () => this.pool.appKey().publicKey,
  };

  readonly snapshots: SnapshotManager = new LabSnapshots(
    (m) => {
      const rec = this.store.read(m);
      return { rec, v: this.v(rec) };
    },
    () => this.restorePath,
  );
}
