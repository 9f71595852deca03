/**
 * Vagrant: a machine is a Vagrant project directory (and a machine in its Vagrantfile), driven
 * through the `vagrant` CLI only, with LC_ALL=C and --machine-readable where it exists. Nothing here
 * assumes the libvirt plugin: state, provider and SSH endpoint are read from what `vagrant status`
 * and `vagrant ssh-config` say, so a Vagrantfile for VirtualBox, libvirt, VMware or a cloud works.
 * Machines the app creates use a box built from our own base image (vagrant-libvirt).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HlabError } from '../../../shared/errors.js';
import type {
  AdoptSpec,
  MachineInfo,
  ProviderCapabilities,
  SnapshotInfo,
  SshEndpoint,
} from '../../../shared/types.js';
import { run } from '../../platform/run.js';
import {
  validateSnapshotName,
  type CommandRunner,
  type CreateSpec,
  type Detection,
  type OpOptions,
  type Provider,
  type SnapshotManager,
} from '../provider.js';
import { ensureBox } from './box.js';
import { errorExit, machineState, uiText, parseSnapshotList, parseSshConfig, parseStatus } from './parse.js';
import { RecordedProvider } from '../recorded-provider.js';
import type { BaseRecord } from '../record-store.js';

export interface VagrantMachineRecord extends BaseRecord {
  /** The project directory holding the Vagrantfile. */
  dir: string;
  /** The machine inside the Vagrantfile ("default" unless multi-machine). */
  vm: string;
  memoryMiB: number;
  cpus: number;
}

export interface VagrantProviderOptions {
  /** Records and the projects of machines the app created. */
  storeDir: string;
  /** Where boxes built from our images are cached. */
  boxDir: string;
  vagrant?: string;
  runner?: CommandRunner;
  env?: NodeJS.ProcessEnv;
}

const PACKAGE = 'vagrant';
/** `vagrant status` costs ~1.5-3 s of Ruby start-up: what we learnt is reused this long. */
const STATE_TTL_MS = 10_000;
const UP_TIMEOUT_MS = 20 * 60_000;
const CALL_TIMEOUT_MS = 5 * 60_000;

export class VagrantProvider extends RecordedProvider<VagrantMachineRecord> implements Provider {
  readonly kind = 'vagrant' as const;
  readonly capabilities: ProviderCapabilities = {
    // vagrant-libvirt and VirtualBox both save the running state with a snapshot.
    liveSnapshot: true,
    offlineSnapshot: true,
    linkedClone: false,
    // `vagrant snapshot restore` powers a VirtualBox VM off and on again by itself.
    restoreNeedsPowerOff: false,
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
  private readonly vagrant: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly cache = new Map<string, { at: number; state: string; ssh?: SshEndpoint }>();

  constructor(private readonly opts: VagrantProviderOptions) {
    super(opts.storeDir);
    this.runner = opts.runner ?? run;
    this.vagrant = opts.vagrant ?? 'vagrant';
    this.env = {
      ...(opts.env ?? process.env),
      LC_ALL: 'C',
      VAGRANT_CHECKPOINT_DISABLE: '1',
      VAGRANT_NO_COLOR: '1',
    };
  }

  private home(): string {
    return this.env.HOME ?? os.homedir();
  }

  /** One vagrant call in a project; a non-zero exit becomes an error with Vagrant's own words. */
  private async call(
    rec: Pick<VagrantMachineRecord, 'name' | 'dir'>,
    args: string[],
    o: OpOptions & { timeoutMs?: number; allowFailure?: boolean } = {},
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const r = await this.runner(this.vagrant, args, {
      cwd: rec.dir,
      env: this.env,
      signal: o.signal,
      timeoutMs: o.timeoutMs ?? CALL_TIMEOUT_MS,
      packageHint: PACKAGE,
      ...(o.progress
        ? {
            onLine: (line: string) => {
              const text = uiText(line);
              if (text) o.progress?.({ current: 0, max: -1, description: text.slice(0, 200) });
            },
          }
        : {}),
    });
    if (r.code !== 0 && !o.allowFailure) throw this.failure(rec.name, args, r);
    return r;
  }

  private failure(
    machine: string,
    args: string[],
    r: { code: number; stdout: string; stderr: string },
  ): HlabError {
    const exit = errorExit(r.stdout);
    const words = (exit?.message || r.stderr.trim() || r.stdout.trim()).split('\n').slice(-6).join('\n');
    const what = `vagrant ${args.filter((a) => a !== '--machine-readable').join(' ')}`;
    if (/SnapshotNotFound/.test(exit?.kind ?? '') || /snapshot name .* was not found/is.test(words))
      return new HlabError('snapshot-not-found', `${what} failed for machine "${machine}": ${words}`, {
        machine,
      });
    return new HlabError(
      'command-failed',
      `${what} failed for machine "${machine}" (exit ${r.code}): ${words}`,
      {
        machine,
      },
    );
  }

  async detect(): Promise<Detection> {
    try {
      const r = await this.runner(this.vagrant, ['--version'], {
        env: this.env,
        timeoutMs: 60_000,
        packageHint: PACKAGE,
      });
      const version = /Vagrant (\d+\.\d+\.\d+)/.exec(r.stdout)?.[1];
      if (r.code !== 0 || !version)
        return { available: false, reason: `vagrant --version failed: ${r.stderr.trim()}` };
      return {
        available: true,
        version,
        network:
          "not filtered: a guest reaches the network, and this host's services on the libvirt network's address, through libvirt's NAT",
      };
    } catch (err) {
      const e = err as HlabError;
      return {
        available: false,
        reason:
          e.code === 'tool-missing' ? `Vagrant is not installed (apt-get install ${PACKAGE})` : e.message,
      };
    }
  }

  private forget(name: string): void {
    this.cache.delete(name);
  }

  /** State and SSH endpoint, from Vagrant (or from what it said less than STATE_TTL_MS ago). */
  private async live(rec: VagrantMachineRecord): Promise<{ state: string; ssh?: SshEndpoint }> {
    const hit = this.cache.get(rec.name);
    if (hit && Date.now() - hit.at < STATE_TTL_MS) return hit;
    const r = await this.call(rec, ['status', rec.vm, '--machine-readable'], { timeoutMs: 120_000 });
    const status = parseStatus(r.stdout).get(rec.vm);
    if (!status)
      throw new HlabError(
        'vm-not-found',
        `The Vagrantfile in ${rec.dir} has no machine "${rec.vm}" (machine "${rec.name}").`,
        { machine: rec.name },
      );
    const ssh = machineState(status.state) === 'running' ? await this.sshConfig(rec) : undefined;
    const entry = { at: Date.now(), state: status.state, ...(ssh ? { ssh } : {}) };
    this.cache.set(rec.name, entry);
    return entry;
  }

  private async sshConfig(rec: VagrantMachineRecord): Promise<SshEndpoint | undefined> {
    const r = await this.call(rec, ['ssh-config', rec.vm], { allowFailure: true, timeoutMs: 120_000 });
    if (r.code !== 0) return undefined;
    const c = parseSshConfig(r.stdout, this.home());
    if (!c) return undefined;
    const key = c.identityFiles.find((f) => existsSync(f)) ?? c.identityFiles[0];
    return { host: c.host, port: c.port, user: c.user, ...(key ? { identityFile: key } : {}) };
  }

  protected async toInfo(rec: VagrantMachineRecord): Promise<MachineInfo> {
    const live = await this.live(rec);
    const state = machineState(live.state);
    return {
      name: rec.name,
      provider: 'vagrant',
      image: rec.image,
      memoryMiB: rec.memoryMiB,
      cpus: rec.cpus,
      state,
      createdAt: rec.createdAt,
      location: `${rec.dir} (${rec.vm})`,
      ...(rec.adopted ? { adopted: true } : {}),
      ...(state === 'running' && live.ssh ? { ssh: live.ssh } : {}),
      ...(live.state === 'not_created'
        ? { note: 'Vagrant has not created this machine yet: start it.' }
        : {}),
      ...(state === 'running' && !live.ssh
        ? { note: '`vagrant ssh-config` names no SSH endpoint yet.' }
        : {}),
    };
  }

  async adopt(spec: AdoptSpec, opts: OpOptions = {}): Promise<MachineInfo> {
    if (!spec.dir)
      throw new HlabError(
        'bad-request',
        'A Vagrant machine is added with --dir PATH (its project directory).',
      );
    const dir = path.resolve(spec.dir);
    if (!existsSync(path.join(dir, 'Vagrantfile')))
      throw new HlabError('bad-request', `${dir} holds no Vagrantfile: give the Vagrant project directory.`);
    const vm = spec.vm ?? 'default';
    const probe = { name: spec.name, dir };
    const r = await this.call(probe, ['status', '--machine-readable'], { ...opts, timeoutMs: 120_000 });
    const machines = parseStatus(r.stdout);
    if (!machines.has(vm))
      throw new HlabError(
        'vm-not-found',
        `The Vagrantfile in ${dir} has no machine "${vm}" (it has: ${[...machines.keys()].join(', ') || 'none'}).`,
      );
    const rec: VagrantMachineRecord = {
      name: spec.name,
      dir,
      vm,
      adopted: true,
      image: boxOf(dir, vm) ?? 'unknown box',
      memoryMiB: 0,
      cpus: 0,
      createdAt: new Date().toISOString(),
    };
    this.store.write(rec);
    return this.toInfo(rec);
  }

  async create(spec: CreateSpec, opts: OpOptions = {}): Promise<MachineInfo> {
    const box = await ensureBox(spec.image, {
      boxDir: this.opts.boxDir,
      vagrant: this.vagrant,
      runner: this.runner,
      env: this.env,
      ...opts,
    });
    const dir = this.store.projectDir(spec.name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(dir, 'Vagrantfile'), vagrantfile(box, spec));
    const rec: VagrantMachineRecord = {
      name: spec.name,
      dir,
      vm: 'default',
      adopted: false,
      image: spec.image.name,
      imageSha256: spec.image.sha256,
      memoryMiB: spec.memoryMiB,
      cpus: spec.cpus,
      createdAt: new Date().toISOString(),
    };
    this.store.write(rec);
    return this.toInfo(rec);
  }

  async up(name: string, opts: OpOptions = {}): Promise<SshEndpoint> {
    const rec = this.store.read(name);
    this.forget(name);
    try {
      await this.call(rec, ['up', rec.vm, '--no-provision', '--machine-readable'], {
        ...opts,
        timeoutMs: UP_TIMEOUT_MS,
      });
    } finally {
      this.forget(name);
    }
    const info = await this.toInfo(rec);
    if (!info.ssh)
      throw new HlabError(
        'ssh-refused',
        `Machine "${name}" is ${info.state} but \`vagrant ssh-config\` names no SSH endpoint.`,
        {
          machine: name,
        },
      );
    return info.ssh;
  }

  async down(name: string, opts: OpOptions & { force?: boolean } = {}): Promise<void> {
    const rec = this.store.read(name);
    this.forget(name);
    try {
      await this.call(rec, ['halt', rec.vm, ...(opts.force ? ['--force'] : []), '--machine-readable'], opts);
    } finally {
      this.forget(name);
    }
  }

  async destroy(name: string): Promise<void> {
    const rec = this.store.read(name);
    this.forget(name);
    // A user's own project is only forgotten: destroying their VM is not ours to do.
    if (!rec.adopted) {
      await this.call(rec, ['destroy', '-f', rec.vm, '--machine-readable'], { timeoutMs: 10 * 60_000 });
      rmSync(rec.dir, { recursive: true, force: true });
    }
    this.store.remove(name);
  }

  readonly snapshots: SnapshotManager = {
    list: (machine) => this.listSnapshots(machine),
    take: (machine, snapshot, opts) => this.takeSnapshot(machine, snapshot, opts),
    restore: (machine, snapshot, opts) => this.restoreSnapshot(machine, snapshot, opts),
    remove: (machine, snapshot) => this.removeSnapshot(machine, snapshot),
  };

  private async listSnapshots(machine: string): Promise<SnapshotInfo[]> {
    const rec = this.store.read(machine);
    const r = await this.call(rec, ['snapshot', 'list', rec.vm, '--machine-readable'], {
      timeoutMs: 120_000,
    });
    // Taken outside the app: Vagrant does not say when or how; a running VM's snapshot holds its RAM.
    return parseSnapshotList(r.stdout, rec.vm).map((n) => this.snapshotInfo(rec, n, true));
  }

  private async findSnapshot(machine: string, snapshot: string): Promise<SnapshotInfo> {
    const found = (await this.listSnapshots(machine)).find((s) => s.name === snapshot);
    if (!found)
      throw new HlabError('snapshot-not-found', `Machine "${machine}" has no snapshot "${snapshot}".`, {
        machine,
        snapshot,
      });
    return found;
  }

  private async takeSnapshot(machine: string, snapshot: string, opts: OpOptions = {}): Promise<SnapshotInfo> {
    validateSnapshotName(snapshot);
    const rec = this.store.read(machine);
    if ((await this.listSnapshots(machine)).some((s) => s.name === snapshot))
      throw new HlabError('conflict', `Machine "${machine}" already has a snapshot "${snapshot}".`, {
        machine,
        snapshot,
      });
    const live = machineState((await this.live(rec)).state) === 'running';
    await this.call(rec, ['snapshot', 'save', rec.vm, snapshot, '--machine-readable'], opts);
    return this.rememberSnapshot(machine, snapshot, live);
  }

  private async restoreSnapshot(
    machine: string,
    snapshot: string,
    opts: OpOptions = {},
  ): Promise<SnapshotInfo> {
    validateSnapshotName(snapshot);
    // Looked up first: a missing snapshot leaves the machine exactly as it was.
    const found = await this.findSnapshot(machine, snapshot);
    const rec = this.store.read(machine);
    this.forget(machine);
    try {
      // Never re-provision on restore (VirtualBox would start the VM and run provisioners).
      await this.call(
        rec,
        ['snapshot', 'restore', rec.vm, snapshot, '--no-provision', '--machine-readable'],
        opts,
      );
    } finally {
      this.forget(machine);
    }
    return found;
  }

  private async removeSnapshot(machine: string, snapshot: string): Promise<void> {
    validateSnapshotName(snapshot);
    await this.findSnapshot(machine, snapshot);
    const rec = this.store.read(machine);
    await this.call(rec, ['snapshot', 'delete', rec.vm, snapshot, '--machine-readable']);
    this.forgetSnapshot(machine, snapshot);
  }
}

/** The box a machine was made from, where Vagrant recorded it (box_meta, Vagrant >= 2.2). */
function boxOf(dir: string, vm: string): string | undefined {
  const machineDir = path.join(dir, '.vagrant', 'machines', vm);
  if (!existsSync(machineDir)) return undefined;
  for (const provider of ['libvirt', 'virtualbox', 'vmware_desktop', 'hyperv', 'docker']) {
    const meta = path.join(machineDir, provider, 'box_meta');
    if (!existsSync(meta)) continue;
    try {
      const m = JSON.parse(readFileSync(meta, 'utf8')) as { name?: string; version?: string };
      if (m.name) return m.version ? `${m.name} ${m.version}` : m.name;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function vagrantfile(box: string, spec: CreateSpec): string {
  const hostname = /^[a-z0-9-]{1,63}$/i.test(spec.name) ? `  config.vm.hostname = "${spec.name}"\n` : '';
  // TCG-safe CPU model: with no usable KVM, libvirt's default host-model fails to start.
  return `# Made by Hardening Lab for machine "${spec.name}" from image ${spec.image.name} (${spec.image.sha256}).
Vagrant.configure("2") do |config|
  config.vm.box = "${box}"
${hostname}  config.vm.synced_folder ".", "/vagrant", disabled: true
  config.ssh.insert_key = false
  config.vm.provider :libvirt do |lv|
    lv.driver = ENV.fetch("HLAB_LIBVIRT_DRIVER", "kvm")
    lv.cpu_mode = "custom"
    lv.cpu_model = "qemu64"
    lv.memory = ${spec.memoryMiB}
    lv.cpus = ${spec.cpus}
    lv.graphics_type = "none"
    lv.video_type = "none"
  end
end
`;
}
