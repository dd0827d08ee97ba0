import type { RedisClient } from "./redisClient.js";
import { isDdqError } from "./errors.js";
import type { ShardEngine } from "./shardEngine.js";
import { SCRIPT_BATCH_LIMIT } from "./shardEngine.js";

export interface FiringLoopHooks {
  /** Tasks of `topic` became ready (fired, recovered): wake lease waiters. */
  onReady(topic: string): void;
  /**
   * These cron schedules' fire-at has come: plan and fire them at `nowMs` (Redis clock) and say
   * whether any moved (cron/cronScheduler.ts).
   */
  fireSchedules(scheduleIds: readonly string[], nowMs: number): Promise<boolean>;
  /** A script answered STALE_EPOCH: another scheduler leads the shard now. */
  onFencedOff(): void;
  log(message: string): void;
}

/**
 * A sleep that can be cut short. A ring while nobody sleeps is remembered, so that a wake-up
 * arriving during a pass (an earlier task enqueued meanwhile) cuts the next sleep short.
 */
export class Alarm {
  private wakeUp: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pending = false;
  /** Local time (Date.now) the current sleep ends at; +Infinity while not sleeping. */
  until = Number.POSITIVE_INFINITY;

  sleep(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    this.until = Date.now() + ms;
    return new Promise((resolve) => {
      this.wakeUp = () => {
        this.wakeUp = undefined;
        this.until = Number.POSITIVE_INFINITY;
        resolve();
      };
      this.timer = setTimeout(this.wakeUp, Math.max(0, ms));
    });
  }

  ring(): void {
    if (this.wakeUp === undefined) {
      this.pending = true;
      return;
    }
    clearTimeout(this.timer);
    this.wakeUp();
  }
}

/** Shortest time between two expiry passes over a shard's finished tasks (they are batched). */
export const FINISHED_EXPIRY_INTERVAL_MS = 1_000;

/**
 * The firing loop of one shard, run by its leader: move due tasks to ready queues, recover
 * expired leases and delete finished tasks whose retention ended, then sleep until the next due time or lease expiry, whichever is first. A
 * timer, not a polling interval, decides precision: the loop converts Redis-clock instants to the
 * local clock using the offset measured on every script call. An enqueue of an earlier task
 * wakes it through `wake()` (local calls and the shard's pub/sub channel).
 */
export class FiringLoop {
  private running = false;
  private readonly alarm = new Alarm();
  private done: Promise<void> = Promise.resolve();
  /** Redis clock minus local clock, ms (an upper bound: see observeClock). */
  private clockOffsetMs = 0;
  /** Whether the last pass moved anything (if not, an early wake-up waits 1 ms, not 0). */
  private lastPassMoved = false;
  /** Redis time at which finished tasks may next be past their retention (0: look now). */
  private finishedExpiryDueMs = 0;

  constructor(
    private readonly engine: ShardEngine,
    private readonly redis: RedisClient,
    private readonly hooks: FiringLoopHooks,
    /** Longest sleep with nothing due: a backstop only, not what decides precision. */
    private readonly maxIdleMs = 10_000,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.alarm.ring();
    await this.done;
  }

  /** Something may be due at `atMs` (Redis clock) or now: re-plan if that is sooner. */
  wake(atMs?: number): void {
    if (atMs === undefined || atMs - this.clockOffsetMs < this.alarm.until) this.alarm.ring();
  }

  /**
   * Redis read its clock (`redisNowMs`) somewhere between our send and our receipt of the reply,
   * so `redisNowMs - sentAtMs` is an upper bound of the offset. Using the bound means timers can
   * only fire early (by at most the round trip: the script then finds nothing due and the loop
   * sleeps again), never late, however long the event loop took to process the reply.
   */
  private observeClock(redisNowMs: number, sentAtMs: number): void {
    this.clockOffsetMs = redisNowMs - sentAtMs;
  }

  private redisNow(): number {
    return Date.now() + this.clockOffsetMs;
  }

  private async run(): Promise<void> {
    let failures = 0;
    const sentAtMs = Date.now();
    const [seconds, micros] = await this.redis.time().catch(() => [0, 0]);
    if (Number(seconds) > 0) {
      this.observeClock(Number(seconds) * 1000 + Math.floor(Number(micros) / 1000), sentAtMs);
    }
    while (this.running) {
      try {
        const nextMs = await this.pass();
        failures = 0;
        const sleepMs =
          nextMs === undefined
            ? this.maxIdleMs
            : Math.min(this.maxIdleMs, nextMs - this.redisNow());
        // Woken a little early (see observeClock) with nothing moved: wait 1 ms rather than spin.
        await this.alarm.sleep(Math.max(sleepMs, this.lastPassMoved ? 0 : 1));
      } catch (error) {
        if (isDdqError(error, "STALE_EPOCH")) {
          this.running = false;
          this.hooks.onFencedOff();
          return;
        }
        failures += 1;
        const backoffMs = Math.min(5_000, 50 * 2 ** Math.min(failures, 7));
        this.hooks.log(
          `shard ${this.engine.shard}: firing pass failed (retry in ${backoffMs} ms): ${String(error)}`,
        );
        await this.alarm.sleep(backoffMs);
      }
    }
  }

  /** One pass: fire what is due, recover what expired; returns the next instant to look again. */
  private async pass(): Promise<number | undefined> {
    const keys = this.engine.keys;
    this.lastPassMoved = false;
    const horizon = String(this.redisNow() + 1);
    const [dueTopics, expiredTopics, dueSchedules] = await Promise.all([
      this.redis.zrangebyscore(keys.dueTopics, "-inf", horizon, "LIMIT", 0, 256),
      this.redis.zrangebyscore(keys.leaseTopics, "-inf", horizon, "LIMIT", 0, 256),
      this.redis.zrangebyscore(keys.cronDue, "-inf", horizon, "LIMIT", 0, 1000),
    ]);
    await Promise.all([
      ...dueTopics.map(async (topic) => {
        for (;;) {
          const sentAtMs = Date.now();
          const fired = await this.engine.fireDue(topic);
          this.observeClock(fired.nowMs, sentAtMs);
          if (fired.moved > 0) {
            this.lastPassMoved = true;
            this.hooks.onReady(topic);
          }
          if (fired.moved < SCRIPT_BATCH_LIMIT) return;
        }
      }),
      ...expiredTopics.map(async (topic) => {
        for (;;) {
          const recovered = await this.engine.recoverExpired(topic);
          if (recovered.requeued > 0) this.hooks.onReady(topic);
          if (recovered.requeued + recovered.dead + recovered.cancelled > 0)
            this.lastPassMoved = true;
          if (recovered.requeued + recovered.dead + recovered.cancelled < SCRIPT_BATCH_LIMIT)
            return;
        }
      }),
    ]);
    // Then schedules, whose new occurrences are due later (created ahead) or were overdue:
    // firing what is due comes first. A failure (Redis unreachable, fenced off) fails the pass:
    // the loop backs off or hands the shard over.
    if (
      dueSchedules.length > 0 &&
      (await this.hooks.fireSchedules(dueSchedules, this.redisNow()))
    ) {
      this.lastPassMoved = true;
    }
    if (this.redisNow() >= this.finishedExpiryDueMs) await this.expireFinished();
    const [nextDue, nextExpiry, nextSchedule] = await Promise.all([
      this.redis.zrange(keys.dueTopics, 0, 0, "WITHSCORES"),
      this.redis.zrange(keys.leaseTopics, 0, 0, "WITHSCORES"),
      this.redis.zrange(keys.cronDue, 0, 0, "WITHSCORES"),
    ]);
    const candidates = [nextDue[1], nextExpiry[1], nextSchedule[1]]
      .filter((v): v is string => v !== undefined)
      .map(Number);
    candidates.push(this.finishedExpiryDueMs);
    return Math.min(...candidates);
  }

  /**
   * Deletes the shard's finished tasks whose retention ended (they have no TTL of their own),
   * and plans the next look: when the oldest one left ends its retention, at least
   * FINISHED_EXPIRY_INTERVAL_MS later (so expiries are batched), or, with none left, one
   * retention from now (a task finished later cannot end its retention earlier).
   */
  private async expireFinished(): Promise<void> {
    const retentionMs = this.engine.finishedRetentionMs;
    // A few batches per pass, so that a large backlog does not delay firing.
    for (let batch = 1; ; batch += 1) {
      const result = await this.engine.expireFinished();
      if (result.deleted >= SCRIPT_BATCH_LIMIT) {
        if (batch < 5) continue;
        this.finishedExpiryDueMs = result.nowMs;
        this.lastPassMoved = true;
        return;
      }
      this.finishedExpiryDueMs =
        result.earliestFinishedMs === undefined
          ? result.nowMs + retentionMs
          : Math.max(
              result.earliestFinishedMs + retentionMs,
              result.nowMs + FINISHED_EXPIRY_INTERVAL_MS,
            );
      return;
    }
  }
}
