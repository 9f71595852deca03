/**
 * The embedded QEMU provider: machines are qcow2 overlays on a read-only base image; QEMU runs
 * daemonized with user-mode networking (SSH forwarded on 127.0.0.1), a QMP socket, a serial log
 * and a pidfile, so a restarted app re-attaches. Live snapshots are internal qcow2 snapshots
 * (savevm/loadvm over QMP); offline ones go through qemu-img.
 */
import { whatItSaid } from '../../../shared/said.js';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { HlabError } from '../../../shared/errors.js';
import type {
  EgressPolicy,
  MachineFacts,
  MachineInfo,
  ProviderCapabilities,
  SnapshotInfo,
  SshEndpoint,
} from '../../../shared/types.js';
import { imageSeeding } from '../../../shared/types.js';
import { changedAllowList } from '../../../shared/egress.js';
import { freePort } from '../../platform/ports.js';
import { qemuOptValue } from '../../platform/socket-path.js';
import {
  APT_PROXY_CONF,
  DEFAULT_EGRESS_ALLOW,
  EGRESS_SEED_LINE,
  filteredNetdev,
  PROXY_URL,
  recentEgress,
  startEgressProxy,
  stopEgressProxy,
  writeEgressPolicy,
} from '../egress/egress.js';
import { run } from '../../platform/run.js';
import {
  READY_SNAPSHOT,
  refuseTakenSnapshot,
  snapshotNotFound,
  validateSnapshotName,
  type CreateSpec,
  type Detection,
  type EgressChange,
  type OpOptions,
  type Provider,
  type SnapshotManager,
} from '../provider.js';
import { NOCLOUD_LABEL, nocloudFiles } from '../nocloud.js';
import { accelArgs, resolveAccel, type AccelSetting } from './accel.js';
import { MachineStore, type QemuMachineRecord } from './machine-store.js';
import { haltedOnPanic, isQemuAlive, kernelPanic, readPid, serialTail } from './process.js';
import { QmpClient } from './qmp.js';
import { runIncoming, saveMigrationStream, streamLimitBytes } from './template-state.js';

export interface QemuProviderOptions {
  machinesDir: string;
  /** Where the accelerator verdict is cached (shared across homes, like the images). */
  cacheDir: string;
  accel: AccelSetting;
  qemuBinary?: string;
  qemuImg?: string;
}

interface QemuSnapshotJson {
  name: string;
  'vm-state-size': number;
  'date-sec': number;
}

const PACKAGE = 'qemu-system-x86 qemu-utils';

/**
 * Every seed has the same size: a guest reads a fw_cfg file with the size it saw at boot, so a
 * copy resumed from a template reads its own seed completely only if the sizes match.
 */
export const SEED_BYTES = 4096;

export function paddedSeed(text: string): string {
  if (Buffer.byteLength(text) > SEED_BYTES)
    throw new HlabError('internal', `A machine seed is over ${SEED_BYTES} bytes.`);
  return text + '\n'.repeat(SEED_BYTES - Buffer.byteLength(text));
}

/** The kernel's last words before a reboot (as opposed to a panic or a power-off). */
export function guestRebooted(serial: string): boolean {
  return /reboot: Restarting system\s*$/.test(serial.trim());
}

/** The seed line of a filtered machine: its guest configures apt for the proxy and expects no DNS. */
const egressSeed = (rec: QemuMachineRecord) => (rec.network === 'filtered' ? EGRESS_SEED_LINE : '');

/** The NoCloud seed folder QEMU serves as a read-only FAT volume labelled cidata (no root, no mkfs). */
function writeCidata(dir: string, rec: QemuMachineRecord, spec: CreateSpec): void {
  const files = nocloudFiles({
    ...(rec.network === 'filtered' ? { aptProxyConf: APT_PROXY_CONF } : {}),
    instanceId: rec.instanceId ?? spec.name,
    hostname: spec.name,
    user: rec.user,
    publicKey: spec.publicKey,
    ...(spec.hostKey ? { hostKey: spec.hostKey } : {}),
  });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [name, text] of Object.entries(files))
    writeFileSync(path.join(dir, name), text, { mode: 0o600 });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export class QemuProvider implements Provider {
  readonly kind = 'qemu' as const;
  readonly capabilities: ProviderCapabilities = {
    liveSnapshot: true,
    offlineSnapshot: true,
    linkedClone: true,
    restoreNeedsPowerOff: false,
    // Machines run with -no-reboot: a reboot under TCG takes ~47 s this way, 79-206 s in place.
    reboot: 'exit-and-restart',
    console: true,
    clockDrift: true,
    createFromImage: true,
    adoptExisting: false,
    readyClone: true,
    cloudInitSeed: true,
    egressFilter: true,
    hostPool: false,
  };
  readonly store: MachineStore;
  private readonly qemu: string;
  private readonly qemuImg: string;

  constructor(private readonly opts: QemuProviderOptions) {
    this.store = new MachineStore(opts.machinesDir);
    this.qemu = opts.qemuBinary ?? 'qemu-system-x86_64';
    this.qemuImg = opts.qemuImg ?? 'qemu-img';
  }

  async detect(): Promise<Detection> {
    try {
      const r = await run(this.qemu, ['--version'], { timeoutMs: 10_000, packageHint: PACKAGE });
      const version = /version ([\d.]+)/.exec(r.stdout)?.[1];
      await run(this.qemuImg, ['--version'], { timeoutMs: 10_000, packageHint: PACKAGE });
      return {
        available: true,
        version,
        network:
          'filtered: a guest reaches only its egress allow list, through the package proxy; never this host',
      };
    } catch (err) {
      const e = err as HlabError;
      return {
        available: false,
        reason: e.code === 'tool-missing' ? `QEMU is not installed (apt-get install ${PACKAGE})` : e.message,
      };
    }
  }

  private async requireQemu(): Promise<string> {
    const d = await this.detect();
    if (!d.available) {
      throw new HlabError('tool-missing', d.reason ?? 'QEMU is not available.', {
        hint: `install it with: apt-get install ${PACKAGE}`,
      });
    }
    return d.version ?? 'unknown';
  }

  /** The truth about a machine's process: reconciles machine.json with the pidfile. */
  liveState(rec: QemuMachineRecord): { running: boolean; crashedNote?: string } {
    const f = this.store.files(rec.name);
    const pid = readPid(f.pid);
    if (isQemuAlive(pid)) return { running: true };
    if (pid !== undefined || rec.expectRunning) {
      // QEMU is gone but we never stopped it: record it as stopped, keep why.
      rmSync(f.pid, { force: true });
      rmSync(f.qmp, { force: true });
      const wasExpected = rec.expectRunning;
      this.store.update(rec.name, { expectRunning: undefined, activePort: undefined });
      if (wasExpected) {
        const tail = serialTail(f.serial);
        return {
          running: false,
          crashedNote: guestRebooted(tail)
            ? `The guest rebooted; machines run with -no-reboot, so start it again (hlab machine up ${rec.name}).`
            : `QEMU exited unexpectedly. Last serial lines:\n${tail}`,
        };
      }
    }
    return { running: false };
  }

  private toInfo(rec: QemuMachineRecord): MachineInfo {
    const { running, crashedNote } = this.liveState(rec);
    const fresh = this.store.read(rec.name);
    return {
      name: rec.name,
      provider: 'qemu',
      image: rec.image,
      memoryMiB: rec.memoryMiB,
      cpus: rec.cpus,
      state: running ? 'running' : 'stopped',
      createdAt: rec.createdAt,
      ...(running && fresh.activePort
        ? { ssh: { host: '127.0.0.1', port: fresh.activePort, user: rec.user } }
        : {}),
      ...(crashedNote ? { note: crashedNote } : {}),
      ...(fresh.bootFrom
        ? { resumeFrom: fresh.bootFrom }
        : fresh.incoming
          ? { resumeFrom: READY_SNAPSHOT }
          : {}),
      location: this.store.dir(rec.name),
      network: rec.network === 'filtered' ? 'filtered' : 'open',
    };
  }

  egress(name: string, change: EgressChange = {}): EgressPolicy {
    const rec = this.store.read(name);
    const f = this.store.files(name);
    const filtered = rec.network === 'filtered';
    if (filtered && (change.allow?.length || change.remove?.length)) {
      const egressAllow = changedAllowList(rec.egressAllow ?? [], change);
      this.store.update(name, { egressAllow });
      writeEgressPolicy(f.egressPolicy, name, egressAllow);
    } else if (change.allow?.length || change.remove?.length)
      throw new HlabError(
        'unavailable',
        `Machine "${name}" was created before the egress filter and keeps open NAT networking; recreate it to filter its egress.`,
        { machine: name },
      );
    return {
      machine: name,
      network: filtered ? 'filtered' : 'open',
      proxy: PROXY_URL,
      defaults: DEFAULT_EGRESS_ALLOW,
      allow: this.store.read(name).egressAllow ?? [],
      recent: filtered ? recentEgress(f.egressLog) : [],
    };
  }

  has(name: string): boolean {
    return this.store.exists(name);
  }

  async facts(name: string): Promise<MachineFacts> {
    const rec = this.store.read(name);
    return { provider: 'qemu', image: rec.image, imageSha256: rec.imageSha256 };
  }

  async list(): Promise<MachineInfo[]> {
    return this.store.names().map((n) => this.toInfo(this.store.read(n)));
  }

  async get(name: string): Promise<MachineInfo> {
    return this.toInfo(this.store.read(name));
  }

  private templateStore?: QemuProvider;

  /** Templates sit beside the images (keyed by their checksum), shared by every home on the host. */
  templates(): { provider: Provider; dir: string } {
    const dir = path.join(this.opts.cacheDir, 'ready');
    this.templateStore ??= new QemuProvider({ ...this.opts, machinesDir: dir });
    return { provider: this.templateStore, dir };
  }

  /** True once the template's state is saved: it is stopped for good, and copies may be made. */
  templateSaved(template: string): boolean {
    return this.store.exists(template) && existsSync(this.store.files(template).savedState);
  }

  /**
   * Saves the running template's memory and devices as its saved state and stops it for good: from
   * then on its disk is the backing file of every copy, so it never runs again.
   */
  async saveTemplate(template: string, opts: OpOptions = {}): Promise<void> {
    const rec = this.store.read(template);
    const f = this.store.files(template);
    const part = `${f.savedState}.part`;
    opts.progress?.({ current: 0, max: -1, description: `saving the state of template ${template}` });
    const bytes = await this.withQmp(template, (q) =>
      saveMigrationStream(q, {
        socket: f.migrateSocket,
        file: part,
        maxBytes: streamLimitBytes(rec.memoryMiB),
        ...(opts.signal ? { signal: opts.signal } : {}),
      }),
    );
    await this.down(template, { force: true });
    renameSync(part, f.savedState);
    opts.progress?.({
      current: 0,
      max: -1,
      description: `template ${template} saved (${(bytes / 2 ** 20).toFixed(0)} MiB of state)`,
    });
  }

  /**
   * A new machine from a saved template: a qcow2 overlay on the template's disk (milliseconds, no
   * copy), whose first start loads the template's saved state instead of booting.
   */
  async cloneTemplate(
    template: string,
    spec: CreateSpec,
    seed: (user: string) => string,
    opts: OpOptions = {},
  ): Promise<MachineInfo> {
    const tpl = this.templates().provider as QemuProvider;
    const trec = tpl.store.read(template);
    if (!tpl.templateSaved(template))
      throw new HlabError('vm-state', `Template "${template}" has no saved state yet; it cannot be copied.`);
    if (this.store.exists(spec.name))
      throw new HlabError('conflict', `A machine named "${spec.name}" already exists.`, {
        machine: spec.name,
      });
    const f = this.store.files(spec.name);
    const tf = tpl.store.files(template);
    opts.progress?.({ current: 0, max: -1, description: `overlay on the ready template for ${spec.name}` });
    mkdirSync(this.store.dir(spec.name), { recursive: true });
    const r = await run(this.qemuImg, ['create', '-q', '-f', 'qcow2', '-b', tf.disk, '-F', 'qcow2', f.disk], {
      signal: opts.signal,
      packageHint: PACKAGE,
    });
    if (r.code !== 0) {
      rmSync(this.store.dir(spec.name), { recursive: true, force: true });
      throw new HlabError(
        'internal',
        `qemu-img create on template "${template}" failed for "${spec.name}": ${whatItSaid(r.stderr)}`,
      );
    }
    const rec: QemuMachineRecord = {
      name: spec.name,
      image: spec.image.name,
      imagePath: spec.image.path,
      imageSha256: spec.image.sha256,
      memoryMiB: trec.memoryMiB,
      cpus: trec.cpus,
      user: trec.user,
      createdAt: new Date().toISOString(),
      incoming: tf.savedState,
      templateDisk: tf.disk,
      ...(spec.sshPort ? { sshPort: spec.sshPort } : {}),
      ...(trec.seeding ? { seeding: trec.seeding, instanceId: trec.instanceId } : {}),
      ...(trec.network ? { network: trec.network } : {}),
      ...(spec.egressAllow?.length ? { egressAllow: spec.egressAllow } : {}),
    };
    this.store.write(rec);
    // The copy resumes with the same devices as its template, cidata included; its seed describes the
    // copy (the template's instance id, so cloud-init re-runs nothing at its next cold boot).
    if (rec.seeding) writeCidata(f.cidata, rec, spec);
    // Read by the agent waiting in the resumed template, and by hlab-seed at every later cold boot.
    writeFileSync(f.seed, paddedSeed(seed(rec.user) + egressSeed(rec)), { mode: 0o600 });
    return this.toInfo(rec);
  }

  async create(spec: CreateSpec, opts: OpOptions = {}): Promise<MachineInfo> {
    if (this.store.exists(spec.name))
      throw new HlabError('conflict', `A machine named "${spec.name}" already exists.`, {
        machine: spec.name,
      });
    await this.requireQemu();
    const f = this.store.files(spec.name);
    opts.progress?.({ current: 0, max: 1, description: `creating overlay for ${spec.name}` });
    const rec: QemuMachineRecord = {
      name: spec.name,
      image: spec.image.name,
      imagePath: spec.image.path,
      imageSha256: spec.image.sha256,
      memoryMiB: spec.memoryMiB,
      cpus: spec.cpus,
      user: 'lab',
      createdAt: new Date().toISOString(),
      network: 'filtered',
      ...(spec.egressAllow?.length ? { egressAllow: spec.egressAllow } : {}),
      ...(spec.sshPort ? { sshPort: spec.sshPort } : {}),
      ...(imageSeeding(spec.image) === 'cloud-init'
        ? { seeding: 'cloud-init' as const, instanceId: `hlab-${randomBytes(8).toString('hex')}` }
        : {}),
    };
    this.store.write(rec);
    // Absolute backing path: relative ones break once the chain is moved or snapshotted offline.
    const r = await run(
      this.qemuImg,
      ['create', '-q', '-f', 'qcow2', '-b', spec.image.path, '-F', 'qcow2', f.disk],
      { signal: opts.signal },
    );
    if (r.code !== 0) {
      rmSync(this.store.dir(spec.name), { recursive: true, force: true });
      throw new HlabError(
        'internal',
        `qemu-img create failed for machine "${spec.name}": ${whatItSaid(r.stderr)}`,
      );
    }
    writeFileSync(
      f.seed,
      paddedSeed(`user=${rec.user}\nhostname=${spec.name}\nkey=${spec.publicKey}\n${egressSeed(rec)}`),
      { mode: 0o600 },
    );
    if (rec.seeding) writeCidata(f.cidata, rec, spec);
    opts.progress?.({ current: 1, max: 1, description: `created ${spec.name}` });
    return this.toInfo(rec);
  }

  /**
   * QEMU's QMP socket serves one client at a time, so we never hold it: every operation connects,
   * works and disconnects, which lets several app processes (CLI, web host, window) share a VM.
   */
  async withQmp<T>(name: string, fn: (qmp: QmpClient) => Promise<T>): Promise<T> {
    const client = await QmpClient.connect(this.store.files(name).qmp, 30_000);
    try {
      return await fn(client);
    } finally {
      client.close();
    }
  }

  private crashError(name: string, what: string): HlabError {
    const f = this.store.files(name);
    const tail = serialTail(f.serial);
    // A panic's first line scrolls out of the tail behind its stack trace: name it explicitly.
    const panic = kernelPanic(serialTail(f.serial, 400));
    this.liveState(this.store.read(name));
    return new HlabError(
      'vm-crashed',
      `QEMU of machine "${name}" died during ${what}${panic ? `: ${panic}` : '.'}`,
      {
        machine: name,
        serialTail: tail,
      },
    );
  }

  /**
   * Waits until the guest's own reboot or power-off ends QEMU (-no-reboot); false on timeout.
   * The exit is recorded as intended, not as a crash.
   */
  async waitForGuestExit(name: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const f = this.store.files(name);
    const pid = readPid(f.pid);
    const until = Date.now() + timeoutMs;
    while (isQemuAlive(pid)) {
      if (signal?.aborted) throw new HlabError('cancelled', `Waiting for "${name}" to reboot was cancelled.`);
      if (Date.now() > until) return false;
      await new Promise((r) => setTimeout(r, 250));
    }
    rmSync(f.pid, { force: true });
    rmSync(f.qmp, { force: true });
    this.store.update(name, { expectRunning: undefined, activePort: undefined });
    return true;
  }

  consoleTail(name: string, lines = 15): string {
    return serialTail(this.store.files(name).serial, lines);
  }

  /** Throws vm-crashed (with the serial tail) when the machine's QEMU is gone. */
  async assertAlive(name: string, what: string): Promise<void> {
    const f = this.store.files(name);
    if (!isQemuAlive(readPid(f.pid))) throw this.crashError(name, what);
    // A live restore puts back a guest that never printed the panic still ending the log.
    const seen = this.store.read(name).serialAtRestore;
    if (seen !== undefined && existsSync(f.serial) && statSync(f.serial).size <= seen) return;
    const panic = haltedOnPanic(serialTail(f.serial, 3));
    if (panic)
      throw new HlabError('vm-crashed', `The kernel of machine "${name}" halted during ${what}: ${panic}`, {
        machine: name,
        serialTail: serialTail(f.serial),
      });
  }

  async up(name: string, opts: OpOptions = {}): Promise<SshEndpoint> {
    const qemuVersion = await this.requireQemu();
    const rec = this.store.read(name);
    if (this.liveState(rec).running) {
      const cur = this.store.read(name);
      return { host: '127.0.0.1', port: cur.activePort ?? 0, user: rec.user };
    }
    const f = this.store.files(name);
    if (existsSync(f.savedState))
      throw new HlabError(
        'vm-state',
        `"${name}" is a saved ready template: its disk is the backing file of the machines made from it, so it never runs again.`,
        { machine: name },
      );
    for (const [file, what] of [
      [rec.templateDisk, 'disk'],
      [rec.incoming, 'saved state'],
    ] as const)
      if (file && !existsSync(file))
        throw new HlabError(
          'image-missing',
          `The ready template's ${what} ${file}, which machine "${name}" is made from, is missing; recreate the machine.`,
          { machine: name },
        );
    if (!existsSync(rec.imagePath)) {
      throw new HlabError('image-missing', `Base image ${rec.imagePath} of machine "${name}" is missing.`, {
        hint: 'run: hlab image build',
      });
    }
    opts.progress?.({ current: 0, max: -1, description: 'choosing accelerator' });
    const accel = await resolveAccel({
      setting: this.opts.accel,
      qemu: this.qemu,
      qemuVersion,
      image: rec.imagePath,
      cacheDir: this.opts.cacheDir,
    });
    let port = rec.sshPort ?? (await freePort());
    if (rec.sshPort && !(await portIsFree(rec.sshPort))) {
      throw new HlabError(
        'port-in-use',
        `Port 127.0.0.1:${rec.sshPort} chosen for machine "${name}" is already in use.`,
        { machine: name, port: rec.sshPort },
      );
    }
    rmSync(f.serial, { force: true });
    this.store.update(name, { serialAtRestore: undefined });
    rmSync(f.qmp, { force: true });
    let proxy: { ready: Promise<void> } | undefined;
    if (rec.network === 'filtered') {
      writeEgressPolicy(f.egressPolicy, name, rec.egressAllow ?? []);
      proxy = startEgressProxy(name, f);
    }
    for (let attempt = 1; ; attempt += 1) {
      // Inherited as fd 3 (no shell, no path QEMU parses); reopened per attempt, read from offset 0.
      const incomingFd = rec.incoming ? openSync(rec.incoming, 'r') : undefined;
      const args = [
        '-name',
        `hlab-${name}`,
        ...accelArgs(accel),
        '-machine',
        'pc',
        '-smp',
        String(rec.cpus),
        '-m',
        String(rec.memoryMiB),
        '-drive',
        `file=${qemuOptValue(f.disk)},if=virtio,format=qcow2,cache=writeback,discard=unmap`,
        '-netdev',
        rec.network === 'filtered'
          ? filteredNetdev(port, f.egressSocket)
          : `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:22`,
        '-device',
        'virtio-net-pci,netdev=n0',
        '-device',
        'virtio-rng-pci',
        '-fw_cfg',
        `name=opt/hlab/seed,file=${qemuOptValue(f.seed)}`,
        ...(rec.seeding
          ? [
              '-drive',
              `if=virtio,driver=vvfat,dir=${qemuOptValue(f.cidata)},label=${NOCLOUD_LABEL},read-only=on`,
            ]
          : []),
        '-qmp',
        `unix:${qemuOptValue(f.qmp)},server=on,wait=off`,
        '-serial',
        `file:${f.serial}`,
        '-display',
        'none',
        '-nodefaults',
        // A guest reboot ends QEMU and the engine starts it again: much faster than an in-place
        // reboot under TCG (~47 s vs 79-206 s), and a boot that panics ends instead of looping.
        '-no-reboot',
        '-daemonize',
        '-pidfile',
        f.pid,
        ...(incomingFd !== undefined ? ['-incoming', 'fd:3'] : rec.bootFrom ? ['-loadvm', rec.bootFrom] : []),
      ];
      opts.progress?.({
        current: 0,
        max: -1,
        description: rec.incoming
          ? `resuming ${name} from the ready template's saved state (${accel})`
          : rec.bootFrom
            ? `resuming ${name} from snapshot ${rec.bootFrom} (${accel})`
            : `starting ${name} (${accel})`,
      });
      const r = await run(this.qemu, args, {
        signal: opts.signal,
        timeoutMs: 120_000,
        packageHint: PACKAGE,
        ...(incomingFd !== undefined ? { extraFds: [incomingFd] } : {}),
      }).finally(() => incomingFd !== undefined && closeSync(incomingFd));
      if (r.code === 0) break;
      writeFileSync(f.stderr, r.stderr);
      const portClash = /host forwarding rule|Could not set up host forwarding/i.test(r.stderr);
      if (portClash && !rec.sshPort && attempt < 3) {
        port = await freePort();
        continue;
      }
      // QEMU did not start and will not be retried: its proxy goes too.
      stopEgressProxy(f);
      if (portClash)
        throw new HlabError(
          'port-in-use',
          `Port 127.0.0.1:${port} for machine "${name}" is already in use.`,
          { machine: name, port },
        );
      throw new HlabError('vm-crashed', `QEMU failed to start machine "${name}": ${whatItSaid(r.stderr)}`, {
        machine: name,
        serialTail: serialTail(f.serial),
      });
    }
    this.store.update(name, { activePort: port, expectRunning: true, bootFrom: undefined });
    opts.progress?.({
      current: 0,
      max: -1,
      description: `QEMU of ${name} is up; asking its QMP and egress proxy`,
    });
    await Promise.all([
      // QEMU daemonizes before it reads an incoming state; the machine is up once it has loaded it.
      this.withQmp(name, (q) =>
        rec.incoming
          ? runIncoming(q, () => this.assertAlive(name, "loading the ready template's saved state"))
          : q.execute('query-status'),
      ).catch((err: unknown) => {
        if (rec.incoming && !isQemuAlive(readPid(f.pid)))
          throw this.crashError(name, "loading the ready template's saved state");
        throw err;
      }),
      proxy?.ready,
    ]);
    if (rec.incoming) this.store.update(name, { incoming: undefined });
    return { host: '127.0.0.1', port, user: rec.user };
  }

  async down(name: string, opts: OpOptions & { force?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const rec = this.store.read(name);
    if (!this.liveState(rec).running) return;
    const f = this.store.files(name);
    const pid = readPid(f.pid);
    const waitExit = async (ms: number) => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        if (!isQemuAlive(pid)) return true;
        await new Promise((r) => setTimeout(r, 250));
      }
      return !isQemuAlive(pid);
    };
    // Clear the flag first: this exit is intended, not a crash.
    this.store.update(name, { expectRunning: undefined });
    let exited = false;
    if (!opts.force) {
      opts.progress?.({ current: 0, max: -1, description: `ACPI power-down of ${name}` });
      try {
        await this.withQmp(name, (q) => q.execute('system_powerdown'));
        exited = await waitExit(opts.timeoutMs ?? 90_000);
      } catch {
        exited = !isQemuAlive(pid);
      }
    }
    if (!exited && pid) {
      opts.progress?.({ current: 0, max: -1, description: `killing ${name}` });
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      if (!(await waitExit(5_000))) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await waitExit(5_000);
      }
    }
    rmSync(f.pid, { force: true });
    rmSync(f.qmp, { force: true });
    stopEgressProxy(f);
    this.store.update(name, { activePort: undefined });
  }

  async destroy(name: string): Promise<void> {
    this.store.read(name);
    await this.down(name, { force: true });
    rmSync(this.store.dir(name), { recursive: true, force: true });
  }

  readonly snapshots: SnapshotManager = {
    list: (machine) => this.listSnapshots(machine),
    take: (machine, snapshot, opts) => this.takeSnapshot(machine, snapshot, opts),
    restore: (machine, snapshot, opts) => this.restoreSnapshot(machine, snapshot, opts),
    remove: (machine, snapshot) => this.removeSnapshot(machine, snapshot),
  };

  private toSnapshot(machine: string, s: QemuSnapshotJson): SnapshotInfo {
    const times = this.store.read(machine).snapshotTimes ?? {};
    return {
      name: s.name,
      live: s['vm-state-size'] > 0,
      createdAt: times[s.name] ?? new Date(s['date-sec'] * 1000).toISOString(),
      ...(s['vm-state-size'] > 0 ? { vmStateBytes: s['vm-state-size'] } : {}),
    };
  }

  private async listSnapshots(machine: string): Promise<SnapshotInfo[]> {
    const rec = this.store.read(machine);
    const f = this.store.files(machine);
    let raw: QemuSnapshotJson[];
    if (this.liveState(rec).running) {
      type Block = { inserted?: { file?: string; image?: { snapshots?: QemuSnapshotJson[] } } };
      const blocks = await this.withQmp(machine, (q) => q.execute<Block[]>('query-block'));
      raw =
        blocks.find((b) => b.inserted?.file === f.disk || b.inserted?.image)?.inserted?.image?.snapshots ??
        [];
    } else {
      const r = await run(this.qemuImg, ['info', '-U', '--output=json', f.disk], { packageHint: PACKAGE });
      if (r.code !== 0)
        throw new HlabError(
          'internal',
          `qemu-img info failed for machine "${machine}": ${whatItSaid(r.stderr)}`,
        );
      raw = (JSON.parse(r.stdout) as { snapshots?: QemuSnapshotJson[] }).snapshots ?? [];
    }
    return raw.map((s) => this.toSnapshot(machine, s));
  }

  private async findSnapshot(machine: string, snapshot: string): Promise<SnapshotInfo> {
    const found = (await this.listSnapshots(machine)).find((s) => s.name === snapshot);
    if (!found) {
      throw snapshotNotFound(machine, snapshot);
    }
    return found;
  }

  /** qemu-img snapshot -c|-a|-d on a stopped machine's disk. */
  private async offlineSnapshot(
    machine: string,
    flag: '-c' | '-a' | '-d',
    snapshot: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const r = await run(this.qemuImg, ['snapshot', flag, snapshot, this.store.files(machine).disk], {
      signal,
      packageHint: PACKAGE,
    });
    if (r.code !== 0) {
      throw new HlabError(
        'internal',
        `qemu-img snapshot ${flag} failed on machine "${machine}": ${whatItSaid(r.stderr)}`,
        { machine, snapshot },
      );
    }
  }

  private async hmpChecked(machine: string, commandLine: string, what: string): Promise<void> {
    let out: string;
    try {
      out = await this.withQmp(machine, (q) => q.hmp(commandLine, 600_000));
    } catch (err) {
      if ((err as HlabError).code === 'vm-crashed' || !isQemuAlive(readPid(this.store.files(machine).pid)))
        throw this.crashError(machine, what);
      throw err;
    }
    if (out.trim())
      throw new HlabError('internal', `${what} on machine "${machine}" failed: ${out.trim()}`, { machine });
    await this.assertAlive(machine, what);
  }

  private async takeSnapshot(machine: string, snapshot: string, opts: OpOptions = {}): Promise<SnapshotInfo> {
    validateSnapshotName(snapshot);
    const rec = this.store.read(machine);
    refuseTakenSnapshot(await this.listSnapshots(machine), machine, snapshot);
    const running = this.liveState(rec).running;
    opts.progress?.({
      current: 0,
      max: -1,
      description: `${running ? 'live' : 'offline'} snapshot ${snapshot} of ${machine}`,
    });
    if (running) {
      await this.hmpChecked(machine, `savevm ${snapshot}`, `snapshot take "${snapshot}"`);
    } else {
      await this.offlineSnapshot(machine, '-c', snapshot, opts.signal);
    }
    const times = { ...(this.store.read(machine).snapshotTimes ?? {}), [snapshot]: new Date().toISOString() };
    this.store.update(machine, { snapshotTimes: times });
    return this.findSnapshot(machine, snapshot);
  }

  private async restoreSnapshot(
    machine: string,
    snapshot: string,
    opts: OpOptions = {},
  ): Promise<SnapshotInfo> {
    validateSnapshotName(snapshot);
    const rec = this.store.read(machine);
    // Look before touching anything: a missing snapshot must leave the VM exactly as it was.
    const snap = await this.findSnapshot(machine, snapshot);
    const running = this.liveState(rec).running;
    opts.progress?.({ current: 0, max: -1, description: `restoring ${snapshot} on ${machine}` });
    if (running) {
      if (!snap.live) {
        throw new HlabError(
          'vm-state',
          `Snapshot "${snapshot}" of "${machine}" holds no VM state; stop the machine to restore it.`,
          { machine, snapshot },
        );
      }
      // Before loadvm: whatever the serial log holds now (a panic, say) is not the restored guest's.
      const serial = this.store.files(machine).serial;
      this.store.update(machine, { serialAtRestore: existsSync(serial) ? statSync(serial).size : 0 });
      await this.hmpChecked(machine, `loadvm ${snapshot}`, `snapshot restore "${snapshot}"`);
      await this.withQmp(machine, async (q) => {
        const status = await q.execute<{ status: string }>('query-status');
        if (status.status !== 'running') await q.execute('cont');
      });
    } else if (snap.live) {
      this.store.update(machine, { bootFrom: snapshot });
    } else {
      await this.offlineSnapshot(machine, '-a', snapshot, opts.signal);
      this.store.update(machine, { bootFrom: undefined });
    }
    return snap;
  }

  private async removeSnapshot(machine: string, snapshot: string): Promise<void> {
    validateSnapshotName(snapshot);
    const rec = this.store.read(machine);
    await this.findSnapshot(machine, snapshot);
    if (this.liveState(rec).running) {
      await this.hmpChecked(machine, `delvm ${snapshot}`, `snapshot delete "${snapshot}"`);
    } else {
      await this.offlineSnapshot(machine, '-d', snapshot);
    }
    const times = { ...(this.store.read(machine).snapshotTimes ?? {}) };
    delete times[snapshot];
    this.store.update(machine, {
      snapshotTimes: times,
      ...(rec.bootFrom === snapshot ? { bootFrom: undefined } : {}),
    });
  }
}
