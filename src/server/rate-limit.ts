/**
 * Token buckets per client (a verified key, else the remote address). The defaults let one client send tens of
 * thousands of requests in a burst — a 10k-artifact registration, however the client chunks it — and cap what
 * it can sustain.
 */

export interface RateLimitOptions {
  /** Requests per second a client can sustain; 0 turns limiting off. */
  perSecond: number;
  /** Requests a client can make at once. */
  burst: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { perSecond: 500, burst: 20_000 };

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly options: RateLimitOptions,
    private readonly now: () => number = () => performance.now() / 1000,
  ) {}

  /** Takes one token; returns 0 when allowed, else the seconds to wait. */
  take(client: string): number {
    if (this.options.perSecond <= 0) return 0;
    const t = this.now();
    const b = this.buckets.get(client) ?? { tokens: this.options.burst, at: t };
    b.tokens = Math.min(this.options.burst, b.tokens + (t - b.at) * this.options.perSecond);
    b.at = t;
    if (b.tokens < 1) {
      this.buckets.set(client, b);
      return (1 - b.tokens) / this.options.perSecond;
    }
    b.tokens -= 1;
    this.buckets.set(client, b);
    if (this.buckets.size > 100_000) this.sweep(t);
    return 0;
  }

  /** Forgets clients whose bucket has refilled (they would start full anyway). */
  private sweep(t: number): void {
    for (const [k, b] of this.buckets)
      if (b.tokens + (t - b.at) * this.options.perSecond >= this.options.burst) this.buckets.delete(k);
  }
}
