/**
 * Whether Redis answers, as far as this replica can tell. Two sources:
 *   - the client's connection events: "ready" (connected), "close"/"end" (the connection is
 *     gone; ioredis reconnects and queues commands meanwhile);
 *   - a probe: a PING every `probeIntervalMs` on a connection of its own (so that it never waits
 *     behind the engine's own large pipelines). A connection can stay open while nothing comes
 *     back (a network partition, a stalled proxy, a frozen server): a PING unanswered for
 *     `stallAfterMs` marks Redis unreachable, and its answer marks it reachable again.
 * The API refuses calls while Redis is unreachable and answers the ones waiting on it
 * (UNAVAILABLE, retry later: callGuard.ts), and the readiness health turns NOT_SERVING.
 */
import type { RedisClient } from "./redisClient.js";
import { isRedisUnavailableError, RedisUnavailableError } from "./redisErrors.js";

export interface RedisAvailabilityOptions {
  /** Time between probes. Default 500 ms. */
  probeIntervalMs?: number;
  /** A probe unanswered this long marks Redis unreachable. Default 1,500 ms. */
  stallAfterMs?: number;
  /** A probe unanswered this long makes Redis suspect (see `suspect`). Default 250 ms. */
  suspectAfterMs?: number;
  log?: (message: string) => void;
}

export type AvailabilityListener = (reachable: boolean) => void;

export class RedisAvailability {
  private reachableNow = false;
  private reason = "not connected yet";
  private changedAtMs = Date.now();
  private probeSentAtMs: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The probe's own connection (opened by start). */
  private probe: RedisClient | undefined;
  private readonly listeners = new Set<AvailabilityListener>();
  private readonly probeIntervalMs: number;
  private readonly stallAfterMs: number;
  private readonly suspectAfterMs: number;
  private readonly log: (message: string) => void;

  constructor(
    private readonly redis: RedisClient,
    options: RedisAvailabilityOptions = {},
  ) {
    this.probeIntervalMs = options.probeIntervalMs ?? 500;
    this.stallAfterMs = options.stallAfterMs ?? 1_500;
    this.suspectAfterMs = options.suspectAfterMs ?? 250;
    this.log = options.log ?? (() => undefined);
    redis.on("ready", () => {
      this.markReachable();
    });
    redis.on("close", () => {
      this.markUnreachable("the connection to Redis closed");
    });
    redis.on("end", () => {
      this.markUnreachable("the connection to Redis ended");
    });
  }

  /** Whether Redis answered lately and the connection is up. */
  get reachable(): boolean {
    return this.reachableNow;
  }

  /** Starts probing, on a connection of its own (call once the client is connected). */
  start(): void {
    if (this.timer !== undefined) return;
    this.probe = this.redis.duplicate();
    // Its errors show as probes that fail or wait; the client's own are logged by its owner.
    this.probe.on("error", () => undefined);
    this.timer = setInterval(() => {
      this.tick();
    }, this.probeIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.probe?.disconnect();
    this.probe = undefined;
  }

  /** Called on every change of `reachable`; returns the unsubscribe function. */
  onChange(listener: AvailabilityListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The error to answer with while Redis is unreachable; undefined while it is reachable. */
  unavailable(): RedisUnavailableError | undefined {
    if (this.reachableNow) return undefined;
    const forMs = Date.now() - this.changedAtMs;
    return new RedisUnavailableError(
      `Redis is unreachable (${this.reason}, for ${Math.round(forMs / 1000)} s); retry later`,
    );
  }

  /**
   * True when Redis is unreachable or a probe has waited longer than `suspectAfterMs`: a call
   * about to reach its deadline while waiting on Redis is then answered UNAVAILABLE.
   */
  suspect(): boolean {
    return (
      !this.reachableNow ||
      (this.probeSentAtMs !== undefined && Date.now() - this.probeSentAtMs > this.suspectAfterMs)
    );
  }

  private tick(): void {
    const sentAt = this.probeSentAtMs;
    if (sentAt !== undefined) {
      const waitedMs = Date.now() - sentAt;
      if (waitedMs >= this.stallAfterMs)
        this.markUnreachable(`Redis has not answered a PING for ${waitedMs} ms`);
      return;
    }
    const probe = this.probe;
    if (probe === undefined) return;
    const sentAtMs = Date.now();
    this.probeSentAtMs = sentAtMs;
    probe.ping().then(
      () => {
        if (this.probeSentAtMs === sentAtMs) this.probeSentAtMs = undefined;
        if (this.redis.status === "ready") this.markReachable();
      },
      (error: unknown) => {
        if (this.probeSentAtMs === sentAtMs) this.probeSentAtMs = undefined;
        if (isRedisUnavailableError(error)) this.markUnreachable(String(error));
      },
    );
  }

  private markReachable(): void {
    if (this.reachableNow) return;
    const downMs = Date.now() - this.changedAtMs;
    this.reachableNow = true;
    this.changedAtMs = Date.now();
    this.log(`redis: reachable (after ${downMs} ms unreachable: ${this.reason})`);
    this.emit(true);
  }

  private markUnreachable(reason: string): void {
    if (!this.reachableNow) return;
    this.reachableNow = false;
    this.reason = reason;
    this.changedAtMs = Date.now();
    this.log(`redis: unreachable: ${reason}; API calls answer UNAVAILABLE until it answers again`);
    this.emit(false);
  }

  private emit(reachable: boolean): void {
    for (const listener of [...this.listeners]) listener(reachable);
  }
}
