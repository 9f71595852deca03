/**
 * Seat links and sessions. A link carries a 128-bit random token (in the URL fragment, so it
 * never reaches a server log or a Referer); the server keeps only its SHA-256. A token is
 * redeemed once for a session id (256-bit, in an HttpOnly cookie), also kept only hashed.
 * Revoking a seat kills its link and every session it made; ending the class kills them all.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ClassPrincipal } from '../../../shared/class.js';

export type Principal = ClassPrincipal;

interface LinkEntry {
  principal: Principal;
  redeemed: boolean;
}

interface SessionEntry {
  principal: Principal;
}

export const TOKEN_BYTES = 16;
const SESSION_BYTES = 32;
/** Tokens and session ids are base64url of random bytes; nothing else is looked up. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{16,64}$/;

const digest = (secret: string) => createHash('sha256').update(secret).digest('hex');
const keyOf = (p: Principal) => (p.role === 'trainer' ? 'trainer' : p.seat);

export type RedeemResult =
  { ok: true; principal: Principal; session: string } | { ok: false; reason: 'unknown' | 'used' | 'ended' };

export class ClassTokens {
  private readonly links = new Map<string, LinkEntry>();
  private readonly sessions = new Map<string, SessionEntry>();
  private ended = false;

  /** A new link for a seat or the trainer; any older link and its sessions stop working. */
  issue(principal: Principal): string {
    this.revoke(principal);
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    this.links.set(digest(token), { principal, redeemed: false });
    return token;
  }

  /** Ends the principal's link and sessions; returns whether anything was live. */
  revoke(principal: Principal): boolean {
    const key = keyOf(principal);
    let live = false;
    for (const [h, l] of this.links)
      if (keyOf(l.principal) === key) {
        live ||= !l.redeemed;
        this.links.delete(h);
      }
    for (const [h, s] of this.sessions)
      if (keyOf(s.principal) === key) {
        live = true;
        this.sessions.delete(h);
      }
    return live;
  }

  redeem(token: unknown): RedeemResult {
    if (this.ended) return { ok: false, reason: 'ended' };
    if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) return { ok: false, reason: 'unknown' };
    const link = this.links.get(digest(token));
    if (!link) return { ok: false, reason: 'unknown' };
    if (link.redeemed) return { ok: false, reason: 'used' };
    link.redeemed = true;
    const session = randomBytes(SESSION_BYTES).toString('base64url');
    this.sessions.set(digest(session), { principal: link.principal });
    return { ok: true, principal: link.principal, session };
  }

  /** The principal of a session cookie's value, or undefined (unknown, revoked, class ended). */
  session(value: unknown): Principal | undefined {
    if (this.ended || typeof value !== 'string' || !TOKEN_SHAPE.test(value)) return undefined;
    return this.sessions.get(digest(value))?.principal;
  }

  /** Whether a seat has a link not yet redeemed or a live session. */
  live(principal: Principal): boolean {
    const key = keyOf(principal);
    return (
      [...this.links.values()].some((l) => keyOf(l.principal) === key) ||
      [...this.sessions.values()].some((s) => keyOf(s.principal) === key)
    );
  }

  end(): void {
    this.ended = true;
    this.links.clear();
    this.sessions.clear();
  }
}
