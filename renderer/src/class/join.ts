/**
 * Joining a class: the link's token sits in the URL fragment (never sent to a server by the
 * browser); the page posts it once to /class/redeem and gets an HttpOnly cookie back. The token
 * leaves the address bar at once, so it is not in history or a screenshot.
 */
import type { ClassPrincipal } from '../../../shared/class';

const TOKEN = /^[A-Za-z0-9_-]{16,64}$/;

export function takeToken(
  loc: Pick<Location, 'hash' | 'pathname'>,
  history: Pick<History, 'replaceState'>,
): string | undefined {
  const token = loc.hash.replace(/^#/, '');
  if (!token) return undefined;
  history.replaceState(null, '', loc.pathname);
  return TOKEN.test(token) ? token : undefined;
}

export async function redeem(token: string, name: string): Promise<ClassPrincipal> {
  const r = await fetch('/class/redeem', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, name }),
    credentials: 'same-origin',
  });
  const body = (await r.json().catch(() => ({}))) as { error?: string } & Partial<ClassPrincipal>;
  if (!r.ok) throw new Error(body.error ?? `The class server answered ${r.status}.`);
  return body as ClassPrincipal;
}

/** Who this browser already is (a cookie from an earlier join), or undefined. */
export async function whoAmI(): Promise<ClassPrincipal | undefined> {
  const r = await fetch('/class/me', { credentials: 'same-origin' });
  return r.ok ? ((await r.json()) as ClassPrincipal) : undefined;
}
