/**
 * Token buckets keyed by who (a seat, a socket, a remote address): `take` answers at once whether
 * an action may go ahead, and how long to wait if not. The number of keys is bounded, so a flood
 * of new addresses cannot grow the table without end.
 */
export interface Rate {
  /** Actions allowed at once. */
  burst: number;
  /** Actions regained per second. */
  perSecond: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly rate: Rate,
    private readonly maxKeys = 4096,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Takes `cost` from key's bucket; returns 0 when allowed, else the seconds until it would be. */
  take(key: string, cost = 1): number {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.rate.burst, at: t };
    b.tokens = Math.min(this.rate.burst, b.tokens + ((t - b.at) / 1000) * this.rate.perSecond);
    b.at = t;
    this.remember(key, b);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return 0;
    }
    return Math.max(1, Math.ceil((cost - b.tokens) / this.rate.perSecond));
  }

  /** Whether key's bucket is empty now (takes nothing): for "refused outright" checks. */
  blocked(key: string): boolean {
    const b = this.buckets.get(key);
    if (!b) return false;
    return b.tokens + ((this.now() - b.at) / 1000) * this.rate.perSecond < 1;
  }

  private remember(key: string, b: Bucket): void {
    this.buckets.delete(key);
    this.buckets.set(key, b);
    // Oldest first: a full table forgets the key used longest ago (a full bucket again).
    while (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest === undefined) break;
      this.buckets.delete(oldest);
    }
  }
}

/** The class server's limits, in one place (the README's safety table lists them). */
export const CLASS_LIMITS = {
  /** Link redemptions per remote address. */
  redeem: { burst: 10, perSecond: 10 / 60 },
  /** Refused cookies or links per remote address before it is refused outright for a while. */
  failedAuth: { burst: 20, perSecond: 20 / 300 },
  /** Checks per seat: each one logs in over SSH and runs a script. */
  check: { burst: 5, perSecond: 5 / 60 },
  /** Resets per seat: each one restores a snapshot with the VM's RAM. */
  reset: { burst: 3, perSecond: 3 / 60 },
  /** Messages per WebSocket (keystrokes are one message each). */
  messages: { burst: 400, perSecond: 200 },
  /** Bytes per WebSocket. */
  bytes: { burst: 4 * 1024 * 1024, perSecond: 1024 * 1024 },
} as const satisfies Record<string, Rate>;
