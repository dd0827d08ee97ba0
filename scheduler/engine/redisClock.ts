/**
 * What this process knows of the Redis clock: the offset (Redis TIME minus the local clock) lies
 * in [lowMs, highMs]. A sample is a Redis time read by a command sent at local `sentAtMs` and
 * answered at `receivedAtMs`: Redis read its clock in between, so the offset lies in
 * [redisNowMs - receivedAtMs, redisNowMs - sentAtMs], an interval as wide as the round trip.
 *
 * A call that sat through a stall (a Redis or network pause of seconds) gives a valid but wide
 * interval: taking its upper bound as the offset made "now" jump ahead by the stall's length, and
 * cron plans then called slots that had not come yet due or missed. So a sample with a long round
 * trip does not replace a narrower estimate; it replaces it only when the two disagree (the local
 * clock was stepped) or the estimate is old. Whatever the estimate, Redis TIME decides in the
 * scripts (cronFire.lua refuses a plan made for an instant it has not reached).
 */

/** Round trips up to this are trusted: such a sample always replaces the estimate. */
export const TRUSTED_ROUND_TRIP_MS = 100;
/** An estimate older than this is replaced by any sample (clocks drift). */
export const ESTIMATE_MAX_AGE_MS = 60_000;

export class RedisClockEstimate {
  /** Lower bound of Redis clock minus local clock, ms. */
  lowMs = 0;
  /** Upper bound of Redis clock minus local clock, ms. */
  highMs = 0;
  private sampledAtMs: number | undefined;

  /**
   * Takes a sample into account. `replace`: it replaces the estimate whatever its round trip.
   * Returns whether it did.
   */
  observe(redisNowMs: number, sentAtMs: number, receivedAtMs: number, replace = false): boolean {
    // Both clocks are read in whole milliseconds (Redis TIME's microseconds floored): the true
    // offset may be up to 1 ms below the difference of the two readings.
    const low = redisNowMs - Math.max(sentAtMs, receivedAtMs) - 1;
    const high = redisNowMs - sentAtMs;
    const roundTripMs = high - low;
    const take =
      replace ||
      this.sampledAtMs === undefined ||
      roundTripMs <= Math.max(TRUSTED_ROUND_TRIP_MS, this.highMs - this.lowMs) ||
      high < this.lowMs ||
      low > this.highMs ||
      receivedAtMs - this.sampledAtMs > ESTIMATE_MAX_AGE_MS;
    if (!take) return false;
    this.lowMs = low;
    this.highMs = high;
    this.sampledAtMs = receivedAtMs;
    return true;
  }
}
