/** Host-side probes the engine runs besides a step's own checks: can we still get in, and is sudo alive? */
import ssh2 from 'ssh2';
import type { HlabError } from '../../shared/errors.js';
import type { Probe } from '../../shared/steps.js';
import { SshExecutor } from '../ssh/executor.js';
import type { KnownHosts } from '../ssh/known-hosts.js';
import { pinnedHostKey, type SshTarget } from '../ssh/session.js';

export interface ProbeResult {
  pass: boolean;
  output: string;
}

export interface ProbeEnv {
  target: () => Promise<SshTarget>;
  knownHosts: KnownHosts;
  /** Units that had already failed before the run (not the step's fault). */
  failedBefore: string[];
}

export const FAILED_UNITS = "systemctl list-units --failed --plain --no-legend | awk '{print $1}'";

/** Offers only the `none` method and reads which methods the server still allows: no secret is sent. */
async function authMethods(t: SshTarget, knownHosts: KnownHosts): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    let offered: string[] | undefined;
    let hostKeyError: Error | undefined;
    c.on('error', (err) => (offered ? resolve(offered) : reject(hostKeyError ?? err)));
    c.on('ready', () => {
      c.end();
      resolve(['none']);
    });
    c.connect({
      host: t.host,
      port: t.port,
      username: t.user,
      readyTimeout: 20_000,
      // Pinned like every other connection: an impostor's answer would prove nothing.
      hostVerifier: pinnedHostKey(knownHosts, t.machine, (err) => (hostKeyError = err)),
      authHandler: (methodsLeft, _partial, next) => {
        if (methodsLeft === null) return next({ type: 'none', username: t.user });
        offered = methodsLeft;
        return next(false as never);
      },
    });
  });
}

/**
 * Why a fresh login failed, in the words a person needs (ux review I-9): not "read ECONNRESET" but
 * what it means for a hardening step. The raw error follows in brackets.
 */
export function loginFailure(err: unknown): string {
  const e = err as Partial<HlabError> & Error;
  const raw = e.message.replace(/\.$/, '');
  if (e.code === 'ssh-auth') return `sshd refused the fresh key login: the change locks users out (${raw})`;
  if (e.code === 'ssh-refused' || e.code === 'ssh-timeout' || e.code === 'host-unreachable')
    return `sshd did not let a fresh login through: the change locks users out or stopped sshd (${raw})`;
  return raw;
}

/** What a probe of the one shared login says when that login failed. */
const failedFor = (probe: Probe, err: unknown): ProbeResult => ({
  pass: false,
  output:
    probe === 'fresh-ssh-login' ? loginFailure(err) : `no fresh login to check it with: ${loginFailure(err)}`,
});

export async function runProbe(probe: Probe, env: ProbeEnv): Promise<ProbeResult> {
  const fresh = new SshExecutor(env.target, env.knownHosts);
  try {
    switch (probe) {
      case 'fresh-ssh-login': {
        const r = await fresh.exec('id -un');
        return { pass: r.exitCode === 0, output: `fresh login as ${r.stdout.trim()}` };
      }
      case 'sudo': {
        const r = await fresh.exec('sudo -n true');
        return { pass: r.exitCode === 0, output: r.exitCode === 0 ? 'sudo -n true works' : r.stderr.trim() };
      }
      case 'no-failed-units': {
        const r = await fresh.exec(FAILED_UNITS);
        const now = r.stdout.split('\n').filter(Boolean);
        const added = now.filter((u) => !env.failedBefore.includes(u));
        return {
          pass: added.length === 0,
          output: added.length ? `newly failed: ${added.join(', ')}` : 'no newly failed units',
        };
      }
      case 'password-login-refused': {
        const methods = await authMethods(await env.target(), env.knownHosts);
        const weak = methods.filter((m) => m === 'password' || m === 'keyboard-interactive' || m === 'none');
        return { pass: weak.length === 0, output: `server offers: ${methods.join(', ') || 'nothing'}` };
      }
      case 'root-login-refused': {
        const r = await fresh.exec(
          "sudo -n sshd -T -C user=root,host=x,addr=127.0.0.1 | grep -i '^permitrootlogin'",
        );
        return { pass: r.stdout.trim().toLowerCase() === 'permitrootlogin no', output: r.stdout.trim() };
      }
    }
  } catch (err) {
    return probe === 'fresh-ssh-login'
      ? failedFor(probe, err)
      : { pass: false, output: (err as Error).message };
  } finally {
    fresh.reset();
  }
}

/** The probes that need nothing but a fresh connection: proven together, in one round trip. */
export const CONNECTION_PROBES: Probe[] = ['fresh-ssh-login', 'sudo', 'no-failed-units'];

/**
 * One fresh connection proves a key login, sudo and no newly failed units at once (three
 * connections cost ~1 s each under TCG). A lost connection fails every probe asked for.
 */
export async function runConnectionProbes(
  probes: Probe[],
  env: ProbeEnv,
): Promise<Array<[Probe, ProbeResult]>> {
  const fresh = new SshExecutor(env.target, env.knownHosts);
  try {
    const r = await fresh.exec(`id -un; echo '##sudo'; sudo -n true 2>&1; echo "##rc=$?"; ${FAILED_UNITS}`);
    const [user = '', rest = ''] = r.stdout.split('\n##sudo\n');
    const rc = /^##rc=(\d+)$/m.exec(rest);
    const sudoOut = rest.slice(0, rc?.index ?? 0).trim();
    const units = rc
      ? rest
          .slice((rc.index ?? 0) + rc[0].length)
          .split('\n')
          .filter(Boolean)
      : [];
    const added = units.filter((u) => !env.failedBefore.includes(u));
    const results: Record<string, ProbeResult> = {
      'fresh-ssh-login': { pass: user.trim() !== '', output: `fresh login as ${user.trim()}` },
      sudo: {
        pass: rc?.[1] === '0',
        output: rc?.[1] === '0' ? 'sudo -n true works' : sudoOut || 'sudo -n true failed',
      },
      'no-failed-units': {
        pass: rc !== null && added.length === 0,
        output: added.length ? `newly failed: ${added.join(', ')}` : 'no newly failed units',
      },
    };
    return probes.map((p) => [p, results[p] ?? { pass: false, output: `${p} is not a connection probe` }]);
  } catch (err) {
    return probes.map((p) => [p, failedFor(p, err)]);
  } finally {
    fresh.reset();
  }
}
