/** Per-client token buckets: `ratePerSecond` sustained, bursts up to `burst`. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) {
      throw new Error(`rate limit needs rate > 0 and burst >= 1 (got ${ratePerSecond}, ${burst})`);
    }
  }

  /** Takes one token: 0 when allowed, else how many ms until a token is available. */
  take(client: string): number {
    const now = this.now();
    const bucket = this.buckets.get(client) ?? { tokens: this.burst, atMs: now };
    bucket.tokens = Math.min(
      this.burst,
      bucket.tokens + ((now - bucket.atMs) * this.ratePerSecond) / 1000,
    );
    bucket.atMs = now;
    this.buckets.set(client, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return ((1 - bucket.tokens) * 1000) / this.ratePerSecond;
  }
}
