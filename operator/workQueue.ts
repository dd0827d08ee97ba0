/**
 * A rate-limited work queue with client-go's semantics (workqueue.TypedRateLimitingInterface):
 *
 * - A key is queued at most once (dirty set); a key being processed is never handed to a second
 *   worker: added again meanwhile, it is queued once its current processing is done.
 * - addAfter delays an add (the earliest pending delay of a key wins).
 * - addRateLimited delays by the key's exponential backoff (base * 2^(failures-1), capped), and
 *   by an overall token bucket, whichever is longer; forget resets the key's failures.
 */

export interface WorkQueueOptions {
  /** First retry delay of a failing key. Default 100 ms. */
  baseDelayMs?: number;
  /** Cap of a key's retry delay. Default 60 s. */
  maxDelayMs?: number;
  /** Overall retries per second (token bucket). Default 50. */
  ratePerSecond?: number;
  /** Token bucket size. Default 200. */
  burst?: number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { atMs: number; timer: NodeJS.Timeout }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly ratePerSecond: number;
  private readonly burst: number;
  private tokens: number;
  private tokensAtMs = Date.now();

  constructor(options: WorkQueueOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
    this.ratePerSecond = options.ratePerSecond ?? 50;
    this.burst = options.burst ?? 200;
    this.tokens = this.burst;
  }

  /** Keys queued (not counting delayed ones or those being processed). */
  get length(): number {
    return this.queue.length;
  }

  get delayedCount(): number {
    return this.delayed.size;
  }

  get processingCount(): number {
    return this.processing.size;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
  }

  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const atMs = Date.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending !== undefined) {
      if (pending.atMs <= atMs) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.delayed.set(key, { atMs, timer });
  }

  /** The delay the next addRateLimited of this key would use. */
  nextDelayMs(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    return Math.min(this.baseDelayMs * 2 ** failures, this.maxDelayMs);
  }

  addRateLimited(key: string): number {
    const perKey = this.nextDelayMs(key);
    this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
    const delay = Math.max(perKey, this.bucketDelayMs());
    this.addAfter(key, delay);
    return delay;
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  /** The next key to process, or undefined once shut down. Call done(key) when finished. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.queue.length = 0;
    this.dirty.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  private bucketDelayMs(): number {
    const now = Date.now();
    this.tokens = Math.min(
      this.burst,
      this.tokens + ((now - this.tokensAtMs) / 1000) * this.ratePerSecond,
    );
    this.tokensAtMs = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.ratePerSecond) * 1000;
  }
}
