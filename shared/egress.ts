/**
 * Egress allow-list entries ("HOST:PORT"), checked the same way wherever they come from: the CLI,
 * the API, the egress-allow setting. Plain data and validation only.
 */
import { HlabError } from './errors.js';

/** Where a filtered guest's apt finds the package proxy (written by hlab-seed or cloud-init). */
export const GUEST_APT_PROXY_FILE = '/etc/apt/apt.conf.d/00hlab-egress';

export const MAX_EGRESS_ENTRIES = 64;

/** A lower-case DNS name or an IPv4 address: what the proxy accepts as a host too. */
const HOST_RE =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** "HOST:PORT" in its canonical form, or a bad-request error naming the entry. */
export function egressEntry(raw: string): string {
  const m = /^([^:\s]+):(\d{1,5})$/.exec(raw.trim());
  const host = (m?.[1] ?? '').toLowerCase().replace(/\.$/, '');
  const port = Number(m?.[2]);
  if (!m || !HOST_RE.test(host) || port < 1 || port > 65535)
    throw new HlabError(
      'bad-request',
      `Egress entry ${JSON.stringify(raw)} is not HOST:PORT (a DNS name or IPv4 address, a port 1-65535; 10.0.2.2 means this host).`,
    );
  return `${host}:${port}`;
}

/** A space- or comma-separated list of entries (the egress-allow setting). */
export const egressEntries = (text: string): string[] =>
  text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(egressEntry);

export function changedAllowList(
  current: string[],
  change: { allow?: string[]; remove?: string[] },
): string[] {
  const remove = new Set((change.remove ?? []).map(egressEntry));
  const next = [...new Set([...current, ...(change.allow ?? []).map(egressEntry)])].filter(
    (e) => !remove.has(e),
  );
  if (next.length > MAX_EGRESS_ENTRIES)
    throw new HlabError('bad-request', `An egress allow list holds at most ${MAX_EGRESS_ENTRIES} entries.`);
  return next;
}
