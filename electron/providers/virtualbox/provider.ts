/**
 * VirtualBox through `VBoxManage` (LC_ALL=C): a user's existing VM added by name or UUID, or a
 * machine made from our base image (qemu-img convert to VDI, one template VM per image checksum,
 * a linked clone per machine). SSH goes through a NAT rule on 127.0.0.1. VirtualBox restores only
 * a powered-off VM: its capabilities say so and the machine layer powers off, restores and starts.
 *
 * VirtualBox cannot be installed where this was written: the command builders and parsers are
 * tested against recorded real outputs (test/fixtures/virtualbox/), not a live VirtualBox.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../../shared/errors.js';
import type { AdoptSpec, MachineInfo, ProviderCapabilities, SshEndpoint } from '../../../shared/types.js';
import { run } from '../../platform/run.js';
import { RecordedProvider } from '../recorded-provider.js';
import type { BaseRecord } from '../record-store.js';
import {
  validateSnapshotName,
  type CommandRunner,
  type CreateSpec,
  type Detection,
  type OpOptions,
  type Provider,
  type SnapshotManager,
} from '../provider.js';
import {
  driverWarning,
  NO_SNAPSHOTS,
  parseError,
  parseListVms,
  parseSnapshots,
  parseVersion,
  parseVmInfo,
  vmState,
  type VmInfo,
} from './parse.js';

export interface VirtualBoxMachineRecord extends BaseRecord {
  /** The VM's UUID (names may repeat or change; UUIDs do not). */
  uuid: string;
  sshUser: string;
  /** The user's own key for an added VM; our per-machine key otherwise. */
  sshKeyFile?: string;
  /** Host port of the NAT rule to the guest's port 22, on 127.0.0.1. */
  sshPort: number;
}

export interface VirtualBoxProviderOptions {
  storeDir: string;
  /** Where template VDIs made from our images are kept. */
  imageDir: string;
  vboxmanage?: string;
  qemuImg?: string;
  runner?: CommandRunner;
  env?: NodeJS.ProcessEnv;
  /** Picks a free host port for a NAT rule (tests fix it). */
  freePort: () => Promise<number>;
  /** Waits between retries of a locked session (tests pass 0). */
  retryDelayMs?: number;
}

const PACKAGE = 'virtualbox';
const NAT_RULE = 'hlab-ssh';
const ACPI_TIMEOUT_MS = 60_000;
const LOCK_RETRIES = 3;

type VBoxResult = { code: number; stdout: string; stderr: string };

/**
 * What a VirtualBox guest reaches: its NAT is not filtered. Before 7.0, NAT's
 * natlocalhostreachable is on, so 10.0.2.2 is this host's loopback (the web host included).
 */
export function virtualBoxNetwork(version: string): string {
  const major = Number(version.split('.')[0]);
  return major >= 7
    ? "not filtered: a guest reaches the network through VirtualBox's NAT (since 7.0 not this host's loopback)"
    : `not filtered: a guest reaches the network through VirtualBox's NAT, and before 7.0 also this host's loopback services at 10.0.2.2 (natlocalhostreachable); turn that off per VM: VBoxManage modifyvm VM --natlocalhostreachable1 off`;
}

export class VirtualBoxProvider extends RecordedProvider<VirtualBoxMachineRecord> implements Provider {
  readonly kind = 'virtualbox' as const;
  readonly capabilities: ProviderCapabilities = {
    liveSnapshot: true,
    offlineSnapshot: true,
    linkedClone: true,
    restoreNeedsPowerOff: true,
    reboot: 'in-place',
    console: false,
    clockDrift: true,
    createFromImage: true,
    adoptExisting: true,
    readyClone: false,
    cloudInitSeed: false,
    egressFilter: false,
    hostPool: false,
  };
  private readonly runner: CommandRunner;
  private readonly bin: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly opts: VirtualBoxProviderOptions) {
    super(opts.storeDir);
    this.runner = opts.runner ?? run;
    this.bin = opts.vboxmanage ?? 'VBoxManage';
    this.env = { ...(opts.env ?? process.env), LC_ALL: 'C', LANG: 'C' };
  }

  /**
   * One VBoxManage call. Failure is a non-zero exit OR a `VBoxManage: error:` line (it happens with
   * exit 0); "locked by a session" right after a power-off is retried, as Vagrant does.
   */
  private async vbox(
    args: string[],
    o: OpOptions & { machine?: string; okIf?: (r: VBoxResult) => boolean } = {},
  ) {
    for (let attempt = 1; ; attempt++) {
      const r = await this.runner(this.bin, args, {
        env: this.env,
        signal: o.signal,
        timeoutMs: 10 * 60_000,
        packageHint: PACKAGE,
      });
      const err = parseError(r.stderr);
      if (o.okIf?.(r) || (r.code === 0 && !err)) return r;
      if (
        err?.code === 'VBOX_E_INVALID_OBJECT_STATE' &&
        /locked/i.test(err.message) &&
        attempt < LOCK_RETRIES
      ) {
        await new Promise((res) => setTimeout(res, this.opts.retryDelayMs ?? 1000));
        continue;
      }
      throw this.failure(args, r, o.machine);
    }
  }

  private failure(args: string[], r: VBoxResult, machine?: string): HlabError {
    const err = parseError(r.stderr);
    const words = err?.message ?? (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' ');
    const what = `VBoxManage ${args.slice(0, 2).join(' ')}`;
    const details = { ...(machine ? { machine } : {}), ...(err?.code ? { vboxCode: err.code } : {}) };
    if (err?.code === 'VBOX_E_OBJECT_NOT_FOUND')
      return new HlabError(
        /snapshot/i.test(words) ? 'snapshot-not-found' : 'vm-not-found',
        `${what}: ${words}`,
        details,
      );
    if (err?.code === 'VBOX_E_INVALID_OBJECT_STATE' || err?.code === 'VBOX_E_INVALID_VM_STATE')
      return new HlabError('vm-state', `${what}: ${words}`, details);
    if (err?.verr)
      return new HlabError('vm-crashed', `${what} could not start the VM: ${words}`, {
        ...details,
        verr: err.verr,
        hint:
          err.verr === 'VERR_VMX_NO_VMX' || err.verr === 'VERR_SVM_NO_SVM'
            ? 'hardware virtualisation is off or taken by another hypervisor (KVM)'
            : undefined,
      });
    return new HlabError('command-failed', `${what} failed (exit ${r.code}): ${words}`, details);
  }

  async detect(): Promise<Detection> {
    try {
      const r = await this.runner(this.bin, ['--version'], {
        env: this.env,
        timeoutMs: 30_000,
        packageHint: PACKAGE,
      });
      const version = parseVersion(r.stdout);
      const warning = driverWarning(r.stdout);
      if (r.code !== 0 || !version)
        return { available: false, reason: `VBoxManage --version failed: ${r.stderr.trim()}` };
      if (warning) return { available: false, version, reason: warning };
      return { available: true, version, network: virtualBoxNetwork(version) };
    } catch (err) {
      const e = err as HlabError;
      return {
        available: false,
        reason: e.code === 'tool-missing' ? 'VirtualBox is not installed (VBoxManage not found)' : e.message,
      };
    }
  }

  private async info(uuid: string, machine?: string): Promise<VmInfo> {
    const r = await this.vbox(['showvminfo', uuid, '--machinereadable'], { machine });
    return parseVmInfo(r.stdout);
  }

  protected async toInfo(rec: VirtualBoxMachineRecord): Promise<MachineInfo> {
    const vm = await this.info(rec.uuid, rec.name);
    const state = vm.accessible ? vmState(vm.state) : 'stopped';
    const ssh: SshEndpoint = {
      host: '127.0.0.1',
      port: rec.sshPort,
      user: rec.sshUser,
      ...(rec.sshKeyFile ? { identityFile: rec.sshKeyFile } : {}),
    };
    return {
      name: rec.name,
      provider: 'virtualbox',
      image: rec.image,
      memoryMiB: vm.memoryMiB,
      cpus: vm.cpus,
      state,
      createdAt: rec.createdAt,
      location: `${vm.name} {${rec.uuid}}`,
      ...(rec.adopted ? { adopted: true } : {}),
      ...(state === 'running' ? { ssh } : {}),
      ...(!vm.accessible
        ? { note: 'VirtualBox reports this VM as inaccessible (its files are missing or locked).' }
        : {}),
      ...(vm.state === 'saved'
        ? { note: 'The VM is in a saved state: starting it resumes where it was.' }
        : {}),
    };
  }

  /** The VM by name or UUID, as VirtualBox lists it. */
  private async find(ref: string): Promise<{ name: string; uuid: string }> {
    const vms = parseListVms((await this.vbox(['list', 'vms'])).stdout);
    const want = ref.replace(/^\{|\}$/g, '').toLowerCase();
    const hit = vms.find((v) => v.uuid === want) ?? vms.find((v) => v.name === ref);
    if (!hit)
      throw new HlabError(
        'vm-not-found',
        `VirtualBox has no VM named or with UUID "${ref}" (VBoxManage list vms).`,
      );
    return hit;
  }

  /** The NAT rule to port 22 on 127.0.0.1: the VM's own if it has one, else one we add. */
  private async sshForward(vm: VmInfo, machine: string): Promise<number> {
    const own = vm.forwards.find(
      (f) => f.proto === 'tcp' && f.guestPort === 22 && (f.hostIp === '127.0.0.1' || f.hostIp === ''),
    );
    if (own) return own.hostPort;
    const port = await this.opts.freePort();
    const rule = `${NAT_RULE},tcp,127.0.0.1,${port},,22`;
    const running = vmState(vm.state) === 'running';
    await this.vbox(
      running ? ['controlvm', vm.uuid, 'natpf1', rule] : ['modifyvm', vm.uuid, '--natpf1', rule],
      {
        machine,
      },
    );
    return port;
  }

  async adopt(spec: AdoptSpec): Promise<MachineInfo> {
    if (!spec.vm) throw new HlabError('bad-request', 'A VirtualBox machine is added with --vm NAME|UUID.');
    if (!spec.sshUser)
      throw new HlabError('bad-request', 'A VirtualBox machine needs --ssh-user (and usually --ssh-key).');
    if (spec.sshKeyFile && !existsSync(spec.sshKeyFile))
      throw new HlabError('bad-request', `SSH key file ${spec.sshKeyFile} does not exist.`);
    const ref = await this.find(spec.vm);
    const vm = await this.info(ref.uuid, spec.name);
    const sshPort = await this.sshForward(vm, spec.name);
    const rec: VirtualBoxMachineRecord = {
      name: spec.name,
      uuid: ref.uuid,
      adopted: true,
      image: `VirtualBox VM ${ref.name}`,
      sshUser: spec.sshUser,
      ...(spec.sshKeyFile ? { sshKeyFile: path.resolve(spec.sshKeyFile) } : {}),
      sshPort,
      createdAt: new Date().toISOString(),
    };
    this.store.write(rec);
    return this.toInfo(rec);
  }

  private templateName(image: CreateSpec['image']): string {
    return `hlab-template-${image.name}-${image.sha256.slice(0, 12)}`;
  }

  /** One template VM per image checksum, made once: our qcow2 converted to VDI, snapshot "base". */
  private async ensureTemplate(image: CreateSpec['image'], o: OpOptions): Promise<string> {
    const name = this.templateName(image);
    const existing = parseListVms((await this.vbox(['list', 'vms'])).stdout).find((v) => v.name === name);
    if (existing) return existing.uuid;
    const vdi = path.join(this.opts.imageDir, `${name}.vdi`);
    mkdirSync(this.opts.imageDir, { recursive: true });
    o.progress?.({ current: 0, max: 3, description: `converting ${image.name} to VDI` });
    if (!existsSync(vdi)) {
      const r = await this.runner(
        this.opts.qemuImg ?? 'qemu-img',
        ['convert', '-O', 'vdi', image.path, vdi],
        {
          signal: o.signal,
          timeoutMs: 30 * 60_000,
          packageHint: 'qemu-utils',
        },
      );
      if (r.code !== 0) {
        rmSync(vdi, { force: true });
        throw new HlabError('command-failed', `qemu-img convert to VDI failed: ${r.stderr.trim()}`);
      }
    }
    o.progress?.({ current: 1, max: 3, description: `registering template ${name}` });
    await this.vbox(['createvm', '--name', name, '--ostype', 'Debian_64', '--register']);
    const uuid = (await this.find(name)).uuid;
    await this.vbox(['modifyvm', uuid, '--memory', '1024', '--cpus', '2', '--nic1', 'nat', '--ioapic', 'on']);
    await this.vbox(['storagectl', uuid, '--name', 'SATA', '--add', 'sata', '--portcount', '1']);
    await this.vbox([
      'storageattach',
      uuid,
      '--storagectl',
      'SATA',
      '--port',
      '0',
      '--device',
      '0',
      '--type',
      'hdd',
      '--medium',
      vdi,
    ]);
    await this.vbox(['snapshot', uuid, 'take', 'base']);
    return uuid;
  }

  async create(spec: CreateSpec, opts: OpOptions = {}): Promise<MachineInfo> {
    const template = await this.ensureTemplate(spec.image, opts);
    opts.progress?.({ current: 2, max: 3, description: `linked clone ${spec.name}` });
    const vmName = `hlab-${spec.name}`;
    await this.vbox([
      'clonevm',
      template,
      '--snapshot',
      'base',
      '--options',
      'link',
      '--name',
      vmName,
      '--register',
    ]);
    const uuid = (await this.find(vmName)).uuid;
    // The seed our image's first-boot unit reads (user, hostname, key): DMI system serial, since
    // VirtualBox has no fw_cfg. Base64 keeps the key's spaces and newlines intact.
    const seed = Buffer.from(`user=lab\nhostname=${spec.name}\nkey=${spec.publicKey}\n`).toString('base64');
    await this.vbox(['modifyvm', uuid, '--memory', String(spec.memoryMiB), '--cpus', String(spec.cpus)]);
    await this.vbox([
      'setextradata',
      uuid,
      'VBoxInternal/Devices/pcbios/0/Config/DmiSystemSerial',
      `hlab-seed:${seed}`,
    ]);
    const sshPort = spec.sshPort ?? (await this.opts.freePort());
    await this.vbox(['modifyvm', uuid, '--natpf1', `${NAT_RULE},tcp,127.0.0.1,${sshPort},,22`]);
    const rec: VirtualBoxMachineRecord = {
      name: spec.name,
      uuid,
      adopted: false,
      image: spec.image.name,
      imageSha256: spec.image.sha256,
      sshUser: 'lab',
      sshPort,
      createdAt: new Date().toISOString(),
    };
    this.store.write(rec);
    return this.toInfo(rec);
  }

  async up(name: string, opts: OpOptions = {}): Promise<SshEndpoint> {
    const rec = this.store.read(name);
    const vm = await this.info(rec.uuid, name);
    if (vmState(vm.state) !== 'running') {
      opts.progress?.({ current: 0, max: -1, description: `starting ${vm.name}` });
      // Some hosts exit 1 although the VM started: its own words decide (as Vagrant does).
      await this.vbox(['startvm', rec.uuid, '--type', 'headless'], {
        machine: name,
        signal: opts.signal,
        okIf: (r) => /has been successfully started/.test(r.stdout),
      });
    }
    return {
      host: '127.0.0.1',
      port: rec.sshPort,
      user: rec.sshUser,
      ...(rec.sshKeyFile ? { identityFile: rec.sshKeyFile } : {}),
    };
  }

  async down(name: string, opts: OpOptions & { force?: boolean } = {}): Promise<void> {
    const rec = this.store.read(name);
    if (vmState((await this.info(rec.uuid, name)).state) !== 'running') return;
    if (!opts.force) {
      await this.vbox(['controlvm', rec.uuid, 'acpipowerbutton'], { machine: name });
      const until = Date.now() + ACPI_TIMEOUT_MS;
      while (Date.now() < until) {
        if (opts.signal?.aborted) throw new HlabError('cancelled', `Stopping "${name}" was cancelled.`);
        if (vmState((await this.info(rec.uuid, name)).state) === 'stopped') return;
        await new Promise((r) => setTimeout(r, Math.min(2000, this.opts.retryDelayMs ?? 2000)));
      }
    }
    await this.vbox(['controlvm', rec.uuid, 'poweroff'], {
      machine: name,
      // Already off by the time we asked: that is what we wanted.
      okIf: (r) => /is not currently running|Invalid machine state: PoweredOff/.test(r.stderr),
    });
  }

  async destroy(name: string): Promise<void> {
    const rec = this.store.read(name);
    // A user's own VM is only forgotten: deleting it is not ours to do.
    if (!rec.adopted) {
      await this.down(name, { force: true });
      await this.vbox(['unregistervm', rec.uuid, '--delete'], { machine: name });
    }
    this.store.remove(name);
  }

  readonly snapshots: SnapshotManager = {
    list: async (machine) => {
      const rec = this.store.read(machine);
      return (await this.vboxSnapshots(rec)).map((s) => this.snapshotInfo(rec, s.name, false));
    },
    take: async (machine, snapshot, opts = {}) => {
      validateSnapshotName(snapshot);
      const rec = this.store.read(machine);
      // VirtualBox allows duplicate names; we do not, so restore can never pick the wrong one.
      if ((await this.vboxSnapshots(rec)).some((s) => s.name === snapshot))
        throw new HlabError('conflict', `Machine "${machine}" already has a snapshot "${snapshot}".`, {
          machine,
          snapshot,
        });
      const live = vmState((await this.info(rec.uuid, machine)).state) === 'running';
      await this.vbox(['snapshot', rec.uuid, 'take', snapshot, ...(live ? ['--live'] : [])], {
        machine,
        signal: opts.signal,
      });
      return this.rememberSnapshot(machine, snapshot, live);
    },
    restore: async (machine, snapshot, opts = {}) => {
      validateSnapshotName(snapshot);
      const rec = this.store.read(machine);
      const snap = await this.findSnapshot(rec, snapshot);
      if (vmState((await this.info(rec.uuid, machine)).state) === 'running')
        throw new HlabError(
          'vm-state',
          `Machine "${machine}" is running: VirtualBox restores a snapshot only while the VM is powered off.`,
          { machine },
        );
      await this.vbox(['snapshot', rec.uuid, 'restore', snap.uuid], { machine, signal: opts.signal });
      return this.snapshotInfo(rec, snapshot, false);
    },
    remove: async (machine, snapshot) => {
      validateSnapshotName(snapshot);
      const rec = this.store.read(machine);
      const snap = await this.findSnapshot(rec, snapshot);
      await this.vbox(['snapshot', rec.uuid, 'delete', snap.uuid], { machine });
      this.forgetSnapshot(machine, snapshot);
    },
  };

  private async vboxSnapshots(rec: VirtualBoxMachineRecord) {
    // "does not have any snapshots" is exit 1 on stdout: an empty list, not an error.
    const r = await this.vbox(['snapshot', rec.uuid, 'list', '--machinereadable'], {
      machine: rec.name,
      okIf: (x) => x.stdout.trim() === NO_SNAPSHOTS,
    });
    return r.stdout.trim() === NO_SNAPSHOTS ? [] : parseSnapshots(r.stdout);
  }

  private async findSnapshot(rec: VirtualBoxMachineRecord, snapshot: string) {
    const snap = (await this.vboxSnapshots(rec)).find((s) => s.name === snapshot);
    if (!snap)
      throw new HlabError('snapshot-not-found', `Machine "${rec.name}" has no snapshot "${snapshot}".`, {
        machine: rec.name,
        snapshot,
      });
    return snap;
  }
}
