/**
 * Fast machine start: once per base image (and memory/CPU size) a template machine boots, answers
 * SSH and is saved as a live snapshot; every new machine is a copy of it that resumes instead of
 * booting (seconds instead of ~48 s under TCG). A copy would share the template's identity, so
 * before anyone uses it the clone gets its own: the user's key, hostname, SSH host key and
 * machine-id — over the template's own key, which is then removed from the guest.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../shared/errors.js';
import type { MachineInfo } from '../../shared/types.js';
import { READY_SNAPSHOT, type CreateSpec, type OpOptions, type Provider } from '../providers/provider.js';
import { shQuote } from '../ssh/executor.js';
import { ensureKeyPair } from '../ssh/keys.js';
import { KnownHosts } from '../ssh/known-hosts.js';
import { connect, exec, waitForSsh, type SshTarget } from '../ssh/session.js';
import ssh2 from 'ssh2';

const { utils } = ssh2;

const TEMPLATE_BOOT_TIMEOUT_MS = 600_000;

/** Bumped when what a template holds changes (v2: root accepts the template key, so no sudo). */
const TEMPLATE_VERSION = 'v2';

export const templateName = (spec: CreateSpec) =>
  `${spec.image.name}-${spec.image.sha256.slice(0, 12)}-${spec.memoryMiB}m-${spec.cpus}c-${TEMPLATE_VERSION}`;

export interface Identity {
  hostname: string;
  /** The machine's user key (authorized for `user`). */
  publicKey: string;
  user: string;
  /** The machine's own SSH host key, made on the host so it is pinned before the first login. */
  hostKey: { private: string; public: string };
  now: number;
}

/**
 * Runs as root on the clone (over the template's key): the machine's own user key, hostname,
 * host key, machine-id and clock; the last thing it does is drop the template key.
 */
export function identityScript(o: Identity): string {
  const home = `$(getent passwd ${shQuote(o.user)} | cut -d: -f6)`;
  return [
    'set -e',
    `date -u -s @${o.now} >/dev/null`,
    `echo ${shQuote(o.hostname)} > /etc/hostname`,
    `hostname ${shQuote(o.hostname)}`,
    `sed -i "s/^127.0.1.1 .*/127.0.1.1 ${o.hostname}/" /etc/hosts`,
    'tr -d - < /proc/sys/kernel/random/uuid > /etc/machine-id',
    'rm -f /etc/ssh/ssh_host_*',
    // sshd re-executes itself for every connection and reads the host key then: no restart needed.
    `(umask 077; printf '%s\\n' ${shQuote(o.hostKey.private.trim())} > /etc/ssh/ssh_host_ed25519_key)`,
    `printf '%s\\n' ${shQuote(o.hostKey.public.trim())} > /etc/ssh/ssh_host_ed25519_key.pub`,
    `printf '%s\\n' ${shQuote(o.publicKey)} > "${home}/.ssh/authorized_keys"`,
    'rm -f /root/.ssh/authorized_keys',
  ].join('\n');
}

/** One builder at a time per template, across processes: a lock folder with the owner's pid. */
async function withLock<T>(dir: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  const lock = `${dir}.lock`;
  mkdirSync(path.dirname(lock), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      const age = (() => {
        try {
          return Date.now() - statSync(lock).mtimeMs;
        } catch {
          return 0;
        }
      })();
      // A builder that died leaves its lock: older than any template build, it is stale.
      if (age > TEMPLATE_BOOT_TIMEOUT_MS + 120_000) rmSync(lock, { recursive: true, force: true });
      if (signal?.aborted) throw new HlabError('cancelled', 'The operation was cancelled.');
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

interface TemplateAccess {
  provider: Provider;
  keysDir: string;
  knownHosts: KnownHosts;
}

function access(p: Provider): TemplateAccess {
  const t = p.templates?.();
  if (!t) throw new HlabError('unavailable', `Provider "${p.kind}" keeps no ready templates.`);
  return {
    provider: t.provider,
    keysDir: path.join(t.dir, '.keys'),
    knownHosts: new KnownHosts(path.join(t.dir, '.known_hosts.json')),
  };
}

async function templateTarget(t: TemplateAccess, name: string, info: MachineInfo): Promise<SshTarget> {
  if (!info.ssh) throw new HlabError('vm-state', `Template "${name}" has no SSH endpoint.`);
  return {
    machine: name,
    host: info.ssh.host,
    port: info.ssh.port,
    user: info.ssh.user,
    privateKey: ensureKeyPair(t.keysDir, name).privateKey,
  };
}

/** Boots the template once, waits for SSH, saves the live snapshot and stops it. */
async function ensureTemplate(t: TemplateAccess, spec: CreateSpec, o: OpOptions): Promise<string> {
  const name = templateName(spec);
  const ready = async () =>
    t.provider.has(name) &&
    (await t.provider.get(name)).state === 'stopped' &&
    (await t.provider.snapshots.list(name)).some((s) => s.name === READY_SNAPSHOT && s.live);
  if (await ready()) return name;
  return withLock(path.join(t.keysDir, '..', name), o.signal, async () => {
    if (await ready()) return name;
    if (t.provider.has(name)) await t.provider.destroy(name);
    t.knownHosts.forget(name);
    const key = ensureKeyPair(t.keysDir, name);
    o.progress?.({
      current: 0,
      max: -1,
      description: `first boot of the ready template for ${spec.image.name} (once per image)`,
    });
    try {
      await t.provider.create!({ ...spec, name, publicKey: key.publicKey, sshPort: undefined }, o);
      await t.provider.up(name, o);
      await waitForSsh(await templateTarget(t, name, await t.provider.get(name)), t.knownHosts, {
        timeoutMs: TEMPLATE_BOOT_TIMEOUT_MS,
        signal: o.signal,
        progress: o.progress,
        ...(t.provider.assertAlive ? { isAlive: () => t.provider.assertAlive!(name, 'template boot') } : {}),
        probe: () => 'sudo -n true && systemctl is-system-running --wait >/dev/null 2>&1; true',
      });
      // Clones are given their identity as root over this key (no sudo round trip under TCG).
      const ex = await templateTarget(t, name, await t.provider.get(name));
      const c = await connect(ex, t.knownHosts, { signal: o.signal });
      try {
        const r = await exec(
          c,
          // $HOME is expanded by the login shell (the template user's), before sudo.
          'sudo -n sh -c "install -d -m 0700 /root/.ssh && install -m 0600 $HOME/.ssh/authorized_keys /root/.ssh/authorized_keys"',
          { timeoutMs: 60_000 },
        );
        if (r.exitCode !== 0)
          throw new HlabError('command-failed', `Preparing template "${name}" failed: ${r.stderr.trim()}`);
      } finally {
        c.end();
      }
      await t.provider.snapshots.take(name, READY_SNAPSHOT, o);
      await t.provider.down(name, { force: true });
    } catch (err) {
      await t.provider.destroy(name).catch(() => undefined);
      throw err;
    }
    return name;
  });
}

/**
 * Creates `spec.name` from the ready template and starts it with its own identity. The caller then
 * waits for SSH with the machine's own key (which also pins its new host key).
 */
/** The SSH wire-format blob of an OpenSSH public key line: what a server presents and we pin. */
const keyBlob = (publicLine: string) => Buffer.from(publicLine.trim().split(/\s+/)[1] ?? '', 'base64');

/**
 * Creates `spec.name` from the ready template and starts it with its own identity; its host key
 * is made here and pinned in `knownHosts` before the first login, so there is no trust on first
 * use. The caller then proves a fresh login with the machine's own key.
 */
export async function createFromReady(
  p: Provider,
  spec: CreateSpec,
  knownHosts: KnownHosts,
  o: OpOptions,
): Promise<MachineInfo> {
  const t = access(p);
  const template = await ensureTemplate(t, spec, o);
  const info = await p.cloneTemplate!(template, spec, o);
  try {
    await p.up(spec.name, o);
    o.progress?.({ current: 0, max: -1, description: `giving ${spec.name} its own identity` });
    const running = await p.get(spec.name);
    const asLab = await templateTarget(t, template, running);
    const hostKey = utils.generateKeyPairSync('ed25519', { comment: `root@${spec.name}` });
    const client = await connect({ ...asLab, user: 'root' }, t.knownHosts, {
      signal: o.signal,
      timeoutMs: 60_000,
    });
    try {
      const r = await exec(
        client,
        identityScript({
          hostname: spec.name,
          publicKey: spec.publicKey,
          user: running.ssh?.user ?? asLab.user,
          hostKey,
          now: Math.floor(Date.now() / 1000),
        }),
        { timeoutMs: 60_000, signal: o.signal },
      );
      if (r.exitCode !== 0)
        throw new HlabError(
          'command-failed',
          `Giving "${spec.name}" its own identity failed: ${r.stderr.trim()}`,
          {
            machine: spec.name,
          },
        );
    } finally {
      client.end();
    }
    knownHosts.forget(spec.name);
    knownHosts.check(spec.name, keyBlob(hostKey.public));
    // The template's state must not come back (it holds the template's key).
    o.progress?.({ current: 0, max: -1, description: `dropping the template snapshot from ${spec.name}` });
    await p.snapshots.remove(spec.name, READY_SNAPSHOT);
    return info;
  } catch (err) {
    await p.destroy(spec.name).catch(() => undefined);
    knownHosts.forget(spec.name);
    throw err;
  }
}
