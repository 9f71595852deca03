/**
 * Lab-server connection URIs. Only the two forms the app drives are accepted — the local daemon
 * (`qemu:///system`) and a remote one over SSH (`qemu+ssh://user@host[:port]/system`) — and every
 * part is checked against a whitelist, because the URI ends up on virsh's and ssh's command lines.
 * The key file is the app's business (it adds `keyfile=`), so a URI carries no query of its own.
 */
import { HlabError } from '../../../shared/errors.js';

export type LabUri =
  | { transport: 'local'; uri: string }
  | { transport: 'ssh'; uri: string; user: string; host: string; port: number };

const HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const USER = /^[a-z_][a-z0-9_-]{0,31}$/i;

function bad(uri: string, why: string): HlabError {
  return new HlabError(
    'bad-request',
    `Lab server URI "${uri.slice(0, 200)}" ${why}. Use qemu:///system (this computer) or qemu+ssh://USER@HOST[:PORT]/system.`,
  );
}

export function parseLabUri(uri: string): LabUri {
  if (uri === 'qemu:///system') return { transport: 'local', uri };
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    throw bad(uri, 'is not a URI');
  }
  if (u.protocol !== 'qemu+ssh:') throw bad(uri, `uses "${u.protocol.replace(/:$/, '')}"`);
  if (u.pathname !== '/system') throw bad(uri, 'must end in /system (the system daemon)');
  if (u.search || u.hash || u.password) throw bad(uri, 'may not carry a query, fragment or password');
  const user = decodeURIComponent(u.username);
  if (!USER.test(user)) throw bad(uri, 'needs a user name (qemu+ssh://USER@HOST/system)');
  if (!HOST.test(u.hostname)) throw bad(uri, `names an invalid host "${u.hostname}"`);
  const port = u.port ? Number(u.port) : 22;
  return {
    transport: 'ssh',
    uri: `qemu+ssh://${user}@${u.hostname}${u.port ? `:${port}` : ''}/system`,
    user,
    host: u.hostname,
    port,
  };
}

/** What virsh connects to: the URI with the key file and no terminal prompts. */
export function virshUri(lab: LabUri, keyFile: string | undefined): string {
  if (lab.transport === 'local') return lab.uri;
  const q = new URLSearchParams({ ...(keyFile ? { keyfile: keyFile } : {}), no_tty: '1' });
  return `${lab.uri}?${q.toString()}`;
}

/** The `known_hosts` name OpenSSH looks a host up by. */
export const knownHostsName = (lab: { host: string; port: number }) =>
  lab.port === 22 ? lab.host : `[${lab.host}]:${lab.port}`;
