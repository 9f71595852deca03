/**
 * The pool of lab servers: adding one (its host key pinned, libvirt answering, KVM or TCG), what
 * each has now, where a new machine goes, and the base image each holds. libvirt is the engine on
 * every server; the app is only the scheduler, placing by memory headroom.
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { HlabError } from '../../../shared/errors.js';
import type { LabHostInfo, LabHostSpec, Progress } from '../../../shared/types.js';
import { ensureKeyPair, type KeyPair } from '../../ssh/keys.js';
import { CONNECT_SCRIPT } from '../egress/egress.js';
import { LabHostStore, type LabHostRecord } from './host-store.js';
import { connectLab, hostKeyFingerprint, LabTunnel, type LabSshTarget } from './host-ssh.js';
import { parseNodeFacts } from './parse.js';
import { parseLabUri, virshUri } from './uri.js';
import { sshWrapper, Virsh, virshMessage } from './virsh.js';

/** The storage pool the app keeps its base images and machine disks in, on every server. */
export const POOL = 'hlab';
const POOL_DIR = '/var/lib/libvirt/images/hlab';
const CONNECTOR_VOLUME = 'hlab-egress-connect.pl';
/** A server that does not answer this fast is reported unreachable (its machines too). */
export const PROBE_TIMEOUT_MS = 12_000;
const ADD_TIMEOUT_MS = 60_000;
const HOST_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/i;

export interface PoolOptions {
  /** home/libvirt: hosts.json, known_hosts, the ssh wrapper. */
  dir: string;
  keysDir: string;
  runDir: string;
  env: NodeJS.ProcessEnv;
}

export interface Placement {
  host: string;
  why: string;
}

export class LabPool {
  readonly store: LabHostStore;
  private envCache?: NodeJS.ProcessEnv;
  private readonly tunnels = new Map<string, LabTunnel>();

  constructor(private readonly o: PoolOptions) {
    this.store = new LabHostStore(o.dir);
  }

  /** virsh's environment: our ssh wrapper first on PATH (written on first use). */
  private get env(): NodeJS.ProcessEnv {
    if (!this.envCache) {
      const bin = sshWrapper(this.o.dir, this.store.knownHostsFile, this.o.runDir);
      this.envCache = { ...this.o.env, PATH: `${bin}:${this.o.env.PATH ?? '/usr/bin:/bin'}`, LC_ALL: 'C' };
    }
    return this.envCache;
  }

  /** The app's own key for lab servers (its public half goes in authorized_keys there). */
  appKey(): KeyPair {
    return ensureKeyPair(this.o.keysDir, '.lab-servers');
  }

  private keyFile(rec: Pick<LabHostRecord, 'keyFile'>): string {
    return rec.keyFile ?? this.appKey().privatePath;
  }

  virsh(host: string | LabHostRecord): Virsh {
    const rec = typeof host === 'string' ? this.store.get(host) : host;
    return new Virsh(
      { name: rec.name, connect: virshUri(parseLabUri(rec.uri), this.keyFile(rec)) },
      this.env,
    );
  }

  private sshTarget(rec: LabHostRecord): LabSshTarget {
    const u = parseLabUri(rec.uri);
    if (u.transport !== 'ssh') throw new HlabError('internal', `Lab server "${rec.name}" is local.`);
    return {
      name: rec.name,
      host: u.host,
      port: u.port,
      user: u.user,
      privateKey: readKeyFile(this.keyFile(rec), rec.name),
      ...(rec.hostKey ? { hostKey: rec.hostKey } : {}),
    };
  }

  /** This process's one SSH connection to a server, shared by guest SSH and package forwards. */
  private tunnel(host: string): LabTunnel {
    let t = this.tunnels.get(host);
    if (!t) {
      t = new LabTunnel(() => this.sshTarget(this.store.get(host)));
      this.tunnels.set(host, t);
    }
    return t;
  }

  /** Where this computer reaches `address:port` as the server sees it (its loopback, its guests' network). */
  async endpoint(host: string, address: string, port: number): Promise<{ host: string; port: number }> {
    const rec = this.store.get(host);
    if (parseLabUri(rec.uri).transport === 'local') return { host: address, port };
    return { host: '127.0.0.1', port: await this.tunnel(host).localPort(address, port) };
  }

  /**
   * Registers a lab server: pins its SSH host key (first use, shown to the user), proves virsh
   * works there with the app's key, and records whether its guests get KVM.
   */
  async add(spec: LabHostSpec, signal?: AbortSignal): Promise<LabHostInfo> {
    if (!HOST_NAME.test(spec.name))
      throw new HlabError(
        'bad-request',
        `Invalid lab server name "${spec.name}": use letters, digits, ".", "_" or "-".`,
      );
    if (this.store.has(spec.name))
      throw new HlabError('conflict', `A lab server named "${spec.name}" already exists.`, {
        host: spec.name,
      });
    const u = parseLabUri(spec.uri);
    const dup = this.store.list().find((h) => h.uri === u.uri);
    if (dup)
      throw new HlabError('conflict', `Lab server "${dup.name}" already is ${u.uri}.`, { host: dup.name });
    const rec: LabHostRecord = {
      name: spec.name,
      uri: u.uri,
      ...(spec.keyFile ? { keyFile: spec.keyFile } : {}),
      ...(spec.packageProxy ? { packageProxy: true } : {}),
      accel: 'tcg',
      addedAt: new Date().toISOString(),
    };
    if (u.transport === 'ssh') {
      let seen: string | undefined;
      const c = await connectLab(this.sshTarget(rec), (line) => (seen = line));
      c.end();
      rec.hostKey = seen;
    }
    // The known_hosts entry must exist before virsh's ssh runs: write it with the record, and
    // take the record back out if libvirt does not answer there.
    this.store.add(rec);
    try {
      const v = this.virsh(rec);
      // A daemon's first connection probes QEMU's capabilities: seconds, so adding waits longer.
      const caps = await v.raw(['domcapabilities', '--virttype', 'kvm'], {
        timeoutMs: ADD_TIMEOUT_MS,
        signal,
      });
      const wantKvm = spec.accel ?? 'auto';
      if (wantKvm === 'kvm' && caps.code !== 0)
        throw new HlabError(
          'unavailable',
          `Lab server "${spec.name}" has no KVM: ${virshMessage(caps.stderr)}`,
        );
      const accel = wantKvm === 'tcg' ? 'tcg' : caps.code === 0 ? 'kvm' : 'tcg';
      if (caps.code !== 0 && caps.stderr.includes('failed to connect'))
        throw v.error(['domcapabilities'], caps);
      this.store.update(rec.name, { accel });
      return this.info(this.store.get(rec.name), [], signal, ADD_TIMEOUT_MS);
    } catch (err) {
      this.store.remove(rec.name);
      throw err;
    }
  }

  /** One server's state now; unreachable ones say why, within PROBE_TIMEOUT_MS. */
  async info(
    rec: LabHostRecord,
    machines: string[],
    signal?: AbortSignal,
    timeoutMs = PROBE_TIMEOUT_MS,
  ): Promise<LabHostInfo> {
    const base: LabHostInfo = {
      name: rec.name,
      uri: rec.uri,
      accel: rec.accel,
      packageProxy: rec.packageProxy === true,
      ...(rec.hostKey ? { hostKey: hostKeyFingerprint(rec.hostKey) } : {}),
      reachable: false,
      machines,
    };
    try {
      const out = await this.virsh(rec).run(['version; nodeinfo; nodememstats'], {
        timeoutMs,
        ...(signal ? { signal } : {}),
      });
      return { ...base, reachable: true, ...parseNodeFacts(out) };
    } catch (err) {
      if ((err as HlabError).code === 'cancelled') throw err;
      return { ...base, error: (err as Error).message };
    }
  }

  /**
   * The server with the most headroom for `memoryMiB`: free memory now minus what its stopped lab
   * machines take when they start. `committed` maps a server to that reserve.
   */
  async place(memoryMiB: number, committed: Map<string, number>, signal?: AbortSignal): Promise<Placement> {
    const hosts = this.store.list();
    if (hosts.length === 0)
      throw new HlabError(
        'unavailable',
        'No lab server is registered; add one with: hlab hosts add NAME --uri URI.',
      );
    const infos = await Promise.all(hosts.map((h) => this.info(h, [], signal)));
    const scored = infos
      .filter((i) => i.reachable && i.freeMiB !== undefined)
      .map((i) => ({ i, headroom: (i.freeMiB ?? 0) - (committed.get(i.name) ?? 0) }))
      .sort((a, b) => b.headroom - a.headroom);
    const best = scored[0];
    const down = infos.filter((i) => !i.reachable).map((i) => i.name);
    if (!best || best.headroom < memoryMiB)
      throw new HlabError(
        'unavailable',
        best
          ? `No lab server has ${memoryMiB} MiB of headroom (best: ${best.i.name} with ${best.headroom} MiB).`
          : `No lab server answers (${down.join(', ')}).`,
      );
    return {
      host: best.i.name,
      why: `${best.headroom} MiB headroom of ${best.i.memoryMiB ?? '?'} MiB, ${best.i.accel.toUpperCase()}${down.length ? `; unreachable: ${down.join(', ')}` : ''}`,
    };
  }

  private readonly localReverse = new Map<number, net.Server>();

  /**
   * Keeps `port` on the server's loopback joined to the Unix socket `socket` here (the machine's
   * package proxy) while this process runs: an SSH remote forward, or for the local daemon a
   * listener on this computer's 127.0.0.1. False when another app process already holds it.
   */
  async holdEgress(host: string, port: number, socket: string): Promise<boolean> {
    const rec = this.store.get(host);
    if (parseLabUri(rec.uri).transport === 'ssh') {
      return this.tunnel(host).holdReverse(port, socket);
    }
    if (this.localReverse.has(port)) return true;
    const server = net.createServer((c) => {
      const up = net.connect(socket);
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
      c.pipe(up).pipe(c);
    });
    server.unref();
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) this.localReverse.set(port, server);
    return ok;
  }

  /**
   * The server's copy of the egress connector, a volume of the pool readable by QEMU (0644),
   * uploaded again whenever this app's copy changes. Returns its path on the server.
   */
  async ensureConnector(host: string, signal?: AbortSignal): Promise<string> {
    const v = this.virsh(host);
    const o = signal ? { signal } : {};
    const text = readFileSync(CONNECT_SCRIPT);
    const sha = createHash('sha256').update(text).digest('hex');
    const rec = this.store.get(host);
    const exists = (await v.raw(['vol-key', '--pool', POOL, CONNECTOR_VOLUME], o)).code === 0;
    if (!exists || rec.connectorSha256 !== sha) {
      if (exists) await v.run(['vol-delete', '--pool', POOL, CONNECTOR_VOLUME], o);
      mkdirSync(this.o.runDir, { recursive: true, mode: 0o700 });
      const xml = path.join(this.o.runDir, `connector-${process.pid}.xml`);
      writeFileSync(
        xml,
        `<volume><name>${CONNECTOR_VOLUME}</name><capacity unit='bytes'>${text.length}</capacity><target><format type='raw'/><permissions><mode>0644</mode></permissions></target></volume>\n`,
        { mode: 0o600 },
      );
      try {
        await v.run(['vol-create', POOL, xml], o);
      } finally {
        rmSync(xml, { force: true });
      }
      await v.run(['vol-upload', '--pool', POOL, CONNECTOR_VOLUME, CONNECT_SCRIPT], o);
      this.store.update(host, { connectorSha256: sha });
    }
    return (await v.run(['vol-path', '--pool', POOL, CONNECTOR_VOLUME], o)).trim();
  }

  /** The pool on a server, made (and started at its boot) the first time. */
  async ensurePool(host: string, signal?: AbortSignal): Promise<void> {
    const v = this.virsh(host);
    const info = await v.raw(['pool-info', POOL], { signal });
    if (info.code === 0 && /State:\s+running/.test(info.stdout)) return;
    if (info.code !== 0) {
      if (!info.stderr.includes('Storage pool not found')) throw v.error(['pool-info'], info);
      await v.run(['pool-define-as', POOL, 'dir', '--target', POOL_DIR], { signal });
      await v.run(['pool-build', POOL], { signal });
      await v.run(['pool-autostart', POOL], { signal });
    }
    await v.run(['pool-start', POOL], { signal });
  }

  /**
   * The server's copy of a base image as a volume of the pool: uploaded once, then read back from
   * the server and checked against the image's sha256 before any machine is cloned from it.
   */
  async ensureBase(
    host: string,
    image: { name: string; path: string; sha256: string },
    o: { signal?: AbortSignal; progress?: (p: Progress) => void } = {},
  ): Promise<string> {
    const v = this.virsh(host);
    const vol = `base-${image.sha256.slice(0, 16)}.qcow2`;
    const rec = this.store.get(host);
    const exists = (await v.raw(['vol-key', '--pool', POOL, vol], o)).code === 0;
    if (exists && rec.verifiedBases?.includes(image.sha256)) return vol;
    if (!exists) {
      const bytes = statSync(image.path).size;
      o.progress?.({
        current: 0,
        max: -1,
        description: `uploading image ${image.name} to ${host} (${Math.round(bytes / 1048576)} MiB)`,
      });
      await v.run(['vol-create-as', POOL, vol, String(bytes), '--format', 'raw'], o);
      try {
        await v.run(['vol-upload', '--pool', POOL, vol, image.path], { ...o, timeoutMs: 1_800_000 });
      } catch (err) {
        await v.raw(['vol-delete', '--pool', POOL, vol]);
        throw err;
      }
    }
    o.progress?.({ current: 0, max: -1, description: `checking the copy of ${image.name} on ${host}` });
    const got = await this.volumeSha256(host, vol, o.signal);
    if (got !== image.sha256) {
      await v.raw(['vol-delete', '--pool', POOL, vol]);
      throw new HlabError(
        'image-corrupt',
        `The copy of image ${image.name} on lab server "${host}" reads back as sha256 ${got.slice(0, 16)}…, not ${image.sha256.slice(0, 16)}…; it was removed, try again.`,
        { host },
      );
    }
    this.store.update(host, { verifiedBases: [...(rec.verifiedBases ?? []), image.sha256] });
    return vol;
  }

  /** sha256 of a volume as the server holds it (vol-download into a private file, hashed, removed). */
  private async volumeSha256(host: string, vol: string, signal?: AbortSignal): Promise<string> {
    mkdirSync(this.o.runDir, { recursive: true, mode: 0o700 });
    const tmp = path.join(this.o.runDir, `readback-${process.pid}-${vol}`);
    try {
      await this.virsh(host).run(['vol-download', '--pool', POOL, vol, tmp], {
        timeoutMs: 1_800_000,
        ...(signal ? { signal } : {}),
        what: `Reading ${vol} back`,
      });
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(tmp)) hash.update(chunk as Buffer);
      return hash.digest('hex');
    } finally {
      rmSync(tmp, { force: true });
    }
  }
}

function readKeyFile(file: string, host: string): string {
  try {
    return readFileSync(path.resolve(file), 'utf8');
  } catch (err) {
    throw new HlabError(
      'ssh-auth',
      `Cannot read the SSH key for lab server "${host}" (${file}): ${(err as Error).message}`,
      { host },
    );
  }
}
