/**
 * Fast machine start: once per base image (and memory/CPU size) a template machine boots, answers
 * SSH and has its running state saved; every new machine is made from it (the QEMU provider: an
 * overlay on the template's disk) and resumes that state instead of booting (seconds instead of
 * ~48 s under TCG). A copy would share the template's identity, so
 * before anyone uses it the clone gets its own: the user's key, hostname, SSH host key and
 * machine-id — over the template's own key, which is then removed from the guest.
 */
import { whatItSaid } from '../../shared/said.js';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../shared/errors.js';
import { imageSeeding, type MachineInfo } from '../../shared/types.js';
import type { CreateSpec, OpOptions, Provider } from '../providers/provider.js';
import { shQuote } from '../ssh/executor.js';
import { ensureKeyPair, newEd25519 } from '../ssh/keys.js';
import { fingerprint, KnownHosts } from '../ssh/known-hosts.js';
import { appPath } from '../platform/app-root.js';
import { connect, exec, waitForSsh, type HostKeyCheck, type SshTarget } from '../ssh/session.js';

const TEMPLATE_BOOT_TIMEOUT_MS = 600_000;

/**
 * Bumped when what a template holds changes (v3: the identity agent waits in it; v4: one host key;
 * v5: filtered egress, apt through the package proxy; v6: the agent restarts journald under the
 * copy's machine-id; v7: the user reads the journal without sudo, and the agent reports the
 * identity before it sets the clock; v8: the state is saved beside the disk, which copies
 * use as their backing file, instead of as a snapshot inside a disk each copy duplicates; v10:
 * saved once udev has settled, and the agent puts the copy's hostname in the login message. v9
 * was an experiment that never shipped.)
 */
const TEMPLATE_VERSION = 'v10';

/**
 * Templates before v8 were only ever copied, never a backing file: nothing depends on them once a
 * newer one exists, so they are removed (184 MiB each for 1 GiB of RAM).
 */
export const onlyEverCopied = (template: string): boolean => {
  const v = /-v(\d+)$/.exec(template)?.[1];
  return v !== undefined && Number(v) < 8;
};

async function pruneCopiedTemplates(t: TemplateAccess): Promise<void> {
  for (const m of await t.provider.list())
    if (onlyEverCopied(m.name) && m.state === 'stopped')
      await t.provider.destroy(m.name).catch(() => undefined);
}

export const templateName = (spec: CreateSpec) =>
  `${spec.image.name}-${spec.image.sha256.slice(0, 12)}-${spec.memoryMiB}m-${spec.cpus}c-${TEMPLATE_VERSION}`;

/**
 * The app's user reads the journal without sudo (group systemd-journal; it has passwordless sudo
 * anyway, so this grants nothing new): the login events read just before a rollback skip sudo's
 * ~0.1–0.2 s under TCG. Machines without it (cold boots, Vagrant) are read through sudo.
 */
const JOURNAL_READER =
  '{ ! getent group systemd-journal >/dev/null || sudo -n usermod -aG systemd-journal "$(id -un)"; }';

/**
 * udev may still be loading modules for the CPU's features when boot counts as finished (kvm_amd,
 * then powernow_k8 failing once per CPU, at ~63 s under TCG): saved mid-way, every copy would
 * finish that work in its first second, beside the identity agent.
 */
const UDEV_SETTLED = 'sudo -n udevadm settle --timeout=120 2>/dev/null || true';

/** The agent a template runs (ready-agent.sh, beside this file in the sources and the bundle). */
const AGENT = appPath('electron', 'machines', 'ready-agent.sh');

/** The machine's identity, for its seed: what the agent in the resumed copy applies. */
export function identitySeed(o: {
  user: string;
  hostname: string;
  publicKey: string;
  hostKey: { private: string; public: string };
  now: number;
}): string {
  return [
    `user=${o.user}`,
    `hostname=${o.hostname}`,
    `key=${o.publicKey}`,
    ...o.hostKey.private
      .trim()
      .split('\n')
      .map((l) => `hostkey=${l}`),
    `hostkeypub=${o.hostKey.public.trim()}`,
    `machineid=${randomBytes(16).toString('hex')}`,
    `time=${o.now}`,
    '',
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

/** A first boot whose cloud-init failed is not saved as ready: its errors are the message. */
const CLOUD_INIT_OK = `{ ! command -v cloud-init >/dev/null || cloud-init status >/dev/null 2>&1 || { echo "cloud-init's first boot failed:" >&2; cloud-init status --long >&2; exit 1; }; }`;

/** Boots the template once, waits for SSH, saves its running state and stops it for good. */
async function ensureTemplate(t: TemplateAccess, spec: CreateSpec, o: OpOptions): Promise<string> {
  const name = templateName(spec);
  const ready = () => t.provider.templateSaved!(name);
  if (ready()) return name;
  return withLock(path.join(t.keysDir, '..', name), o.signal, async () => {
    if (ready()) return name;
    // Never saved, so nothing was copied from it: an interrupted build is started over.
    if (t.provider.has(name)) await t.provider.destroy(name);
    t.knownHosts.forget(name);
    const key = ensureKeyPair(t.keysDir, name);
    o.progress?.({
      current: 0,
      max: -1,
      description: `first boot of the ready template for ${spec.image.name} (once per image)`,
    });
    try {
      // A cloud image's template gets its own host key, so cloud-init makes no others for copies to share.
      await createPinned(
        t.provider,
        { ...spec, name, publicKey: key.publicKey, sshPort: undefined, egressAllow: undefined },
        t.knownHosts,
        o,
      );
      const bootStarted = Date.now();
      await t.provider.up(name, o);
      await waitForSsh(await templateTarget(t, name, await t.provider.get(name)), t.knownHosts, {
        timeoutMs: TEMPLATE_BOOT_TIMEOUT_MS,
        signal: o.signal,
        progress: o.progress,
        ...(t.provider.assertAlive ? { isAlive: () => t.provider.assertAlive!(name, 'template boot') } : {}),
        // cloud-init's first boot (users, host keys, network) is part of what the snapshot saves.
        probe: () =>
          'sudo -n true && { cloud-init status --wait >/dev/null 2>&1; systemctl is-system-running --wait >/dev/null 2>&1; true; }',
      });
      o.progress?.({
        current: 0,
        max: -1,
        description: `template ${name} booted and settled in ${((Date.now() - bootStarted) / 1000).toFixed(1)} s`,
      });
      // The agent waits, inside the saved state, for the seed of the machine a copy resumes as.
      const ex = await templateTarget(t, name, await t.provider.get(name));
      const c = await connect(ex, t.knownHosts, { signal: o.signal });
      try {
        const agent = readFileSync(AGENT, 'utf8');
        const r = await exec(
          c,
          `${CLOUD_INIT_OK} && sudo -n modprobe qemu_fw_cfg 2>/dev/null; ${UDEV_SETTLED}; ${JOURNAL_READER} && printf '%s' ${shQuote(agent)} | sudo -n install -m 0755 /dev/stdin /usr/local/sbin/hlab-ready-agent && sudo -n systemd-run --quiet --unit=hlab-ready-agent /usr/local/sbin/hlab-ready-agent && for _ in $(seq 1 300); do [ -e /run/hlab-ready-agent.armed ] && exit 0; sleep 0.1; done; echo 'the identity agent did not start' >&2; exit 1`,
          { timeoutMs: 60_000 },
        );
        if (r.exitCode !== 0)
          throw new HlabError(
            'command-failed',
            `Preparing template "${name}" failed: ${whatItSaid(r.stderr, r.stdout)}`,
          );
      } finally {
        c.end();
      }
      await t.provider.saveTemplate!(name, o);
      await pruneCopiedTemplates(t);
    } catch (err) {
      await t.provider.destroy(name).catch(() => undefined);
      throw err;
    }
    return name;
  });
}

/** The SSH wire-format blob of an OpenSSH public key line: what a server presents and we pin. */
export const hostKeyBlob = (publicLine: string) =>
  Buffer.from(publicLine.trim().split(/\s+/)[1] ?? '', 'base64');

/** A machine's own SSH host key, made here so it is known before the machine first answers. */
export const newHostKey = (machine: string) => newEd25519(`root@${machine}`);

/**
 * Creates a machine; where its seed can carry a host key (cloud-init images), the key is made here
 * and pinned before the first login. Our own seed unit makes its key in the guest instead.
 */
export async function createPinned(
  p: Provider,
  spec: CreateSpec,
  knownHosts: KnownHosts,
  o: OpOptions,
): Promise<MachineInfo> {
  if (imageSeeding(spec.image) !== 'cloud-init') return p.create!(spec, o);
  const hostKey = newHostKey(spec.name);
  knownHosts.forget(spec.name);
  const info = await p.create!({ ...spec, hostKey }, o);
  knownHosts.check(spec.name, hostKeyBlob(hostKey.public));
  return info;
}

/** Waits (cheaply: the host's copy of the serial console) until the agent says it is done. */
async function agentDone(p: Provider, name: string, signal?: AbortSignal): Promise<void> {
  if (!p.consoleTail) return;
  const marker = `hlab-ready-agent: identity of ${name} applied`;
  const until = Date.now() + 60_000;
  while (!p.consoleTail(name, 40).includes(marker)) {
    if (signal?.aborted) throw new HlabError('cancelled', 'The operation was cancelled.');
    if (Date.now() > until)
      throw new HlabError('timeout', `Machine "${name}" did not take its own identity within 60 s.`, {
        machine: name,
        serialTail: p.consoleTail(name),
      });
    await p.assertAlive?.(name, 'resume');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The agent sets the clock beside the identity (a program, on the guest's other CPU), so it may
 * still be at it when the host logs in: the login that proves the machine ready also waits, up
 * to 5 s, until the clock has left the template's past — apt refuses a Release file "not valid
 * yet". Read from bash's EPOCHSECONDS where the login shell is bash: `date` is a program, 0.1-0.3 s.
 */
export const clockSetSince = (seedTime: number): string =>
  `i=0; until [ "\${EPOCHSECONDS:-$(date +%s)}" -ge ${Math.floor(seedTime)} ]; do i=$((i+1)); [ $i -gt 100 ] && exit 1; sleep 0.05; done`;

/** Accepts exactly the host key made for the machine; the template's key means "not yet", not "attack". */
const expectedHostKey = (expected: string): HostKeyCheck => ({
  check(machine, hostKey) {
    if (fingerprint(hostKey) !== expected)
      throw new HlabError('ssh-refused', `Machine "${machine}" does not present its own host key yet.`);
  },
});

/**
 * Creates `spec.name` from the ready template and waits until it answers a fresh login with its
 * own key and its own host key (made here, so it is pinned before the first login: no trust on
 * first use).
 */
export async function createFromReady(
  p: Provider,
  spec: CreateSpec,
  knownHosts: KnownHosts,
  privateKey: string,
  o: OpOptions,
): Promise<MachineInfo> {
  const t = access(p);
  const template = await ensureTemplate(t, spec, o);
  const hostKey = newHostKey(spec.name);
  const blob = hostKeyBlob(hostKey.public);
  knownHosts.forget(spec.name);
  const now = Math.floor(Date.now() / 1000);
  const info = await p.cloneTemplate!(
    template,
    { ...spec, hostKey },
    (user) => identitySeed({ user, hostname: spec.name, publicKey: spec.publicKey, hostKey, now }),
    o,
  );
  try {
    await p.up(spec.name, o);
    const running = await p.get(spec.name);
    if (!running.ssh) throw new HlabError('vm-state', `Machine "${spec.name}" has no SSH endpoint.`);
    o.progress?.({ current: 0, max: -1, description: `waiting for ${spec.name} to take its own identity` });
    await agentDone(p, spec.name, o.signal);
    o.progress?.({ current: 0, max: -1, description: `fresh login to ${spec.name} with its own key` });
    await waitForSsh(
      {
        machine: spec.name,
        host: running.ssh.host,
        port: running.ssh.port,
        user: running.ssh.user,
        privateKey,
      },
      expectedHostKey(fingerprint(blob)),
      { timeoutMs: 60_000, signal: o.signal, retryMs: 100, probe: () => clockSetSince(now) },
    );
    knownHosts.check(spec.name, blob);
    return info;
  } catch (err) {
    // The copy is destroyed: keep what its console said, or the reason goes with it.
    const tail = p.consoleTail?.(spec.name, 25);
    await p.destroy(spec.name).catch(() => undefined);
    knownHosts.forget(spec.name);
    if (err instanceof HlabError && tail && !err.details?.serialTail)
      throw new HlabError(err.code, err.message, { ...err.details, machine: spec.name, serialTail: tail });
    throw err;
  }
}
