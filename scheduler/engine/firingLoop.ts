import type { RedisClient } from "./redisClient.js";
import { isDdqError } from "./errors.js";
import type { FireResult, ShardEngine } from "./shardEngine.js";
import { ClockAheadError, SCRIPT_BATCH_LIMIT } from "./shardEngine.js";
import { RedisClockEstimate } from "./redisClock.js";

export interface FiringLoopHooks {
  /** Tasks of `topic` became ready (fired, recovered): wake lease waiters. */
  onReady(topic: string): void;
  /**
   * These cron schedules' fire-at has come: plan and fire them at `nowMs` (Redis clock, a lower
   * bound: cronFire.lua refuses a plan made for an instant Redis has not reached, ClockAheadError)
   * and say whether any moved (cron/cronScheduler.ts).
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
const FINISHED_EXPIRY_INTERVAL_MS = 1_000;

/**
 * When the task loops of a replica's shards may pass next (one pace shared by all of them).
 * While they together move tasks at most `perSecond` times a second on average (bursts of
 * `burst`), each passes at its next due time, so a task fires on time. Beyond that (many tasks due
 * at many different instants), they pass on ticks of `tickMs` on the Redis clock, the same for
 * every shard: what falls due within a tick moves in one call per shard, a task fires at most one
 * tick late, and the shards make their tasks ready together, so that one lease round collects from
 * all of them. The pace leaves ticking once half its burst has built up again (the load dropped).
 * With 16 shards ticking, up to 1,600 passes a second can move tasks, more than the default rate:
 * ticking is stable under the load that caused it. A backlog (a pass that stopped at its batch
 * limit) never waits for a tick.
 */
export class FiringPace {
  private tokens: number;
  private lastMs: number | undefined;
  private ticking = false;

  constructor(
    readonly tickMs = 10,
    readonly perSecond = 1_200,
    readonly burst = 200,
  ) {
    this.tokens = burst;
  }

  /** After a pass at `nowMs` (Redis clock) that moved tasks or not: the earliest next pass. */
  next(nowMs: number, moved: boolean): number {
    // Shards call with their own Redis-clock estimates, a few ms apart: only forward time
    // refills, so that switching between shards does not count the same interval twice.
    if (this.lastMs === undefined) {
      this.lastMs = nowMs;
    } else if (nowMs > this.lastMs) {
      const refill = ((nowMs - this.lastMs) * this.perSecond) / 1000;
      this.tokens = Math.min(this.burst, this.tokens + refill);
      this.lastMs = nowMs;
    }
    if (moved) {
      if (this.ticking) {
        if (this.tokens >= this.burst / 2) this.ticking = false;
        else this.tokens = Math.max(0, this.tokens - 1);
      } else if (this.tokens >= 1) {
        this.tokens -= 1;
      } else {
        this.ticking = true;
      }
    }
    return this.ticking ? (Math.floor(nowMs / this.tickMs) + 1) * this.tickMs : nowMs;
  }
}

/** What one pass of a loop found: the next instant to look again, and whether it moved anything. */
interface PassResult {
  nextMs: number | undefined;
  moved: boolean;
  /** The pass stopped at a batch limit with work still due. */
  backlog?: boolean;
}

/**
 * The firing loop of one shard, run by its leader. Two loops share the shard's clock offset:
 *   - the task loop moves due tasks to ready queues, recovers expired leases and deletes finished
 *     tasks whose retention ended, then sleeps until the next due time or lease expiry;
 *   - the schedule loop fires the cron schedules whose fire-at has come, then sleeps until the
 *     next fire-at.
 * They are separate so that creating a batch of occurrences (planning in Node, a script call of
 * up to a few milliseconds) never holds back the firing of tasks that are due meanwhile.
 * Timers, not a polling interval, decide precision: each loop converts Redis-clock instants to
 * the local clock using the offset measured on every script call. An enqueue of an earlier task
 * or a schedule edit wakes them through `wake()` (local calls and the shard's pub/sub channel).
 */
export class FiringLoop {
  private running = false;
  /** A pass answered STALE_EPOCH: both loops stop, and onFencedOff is called once. */
  private fencedOff = false;
  private readonly taskAlarm = new Alarm();
  private readonly scheduleAlarm = new Alarm();
  private done: Promise<void> = Promise.resolve();
  /** Redis clock minus local clock: the interval it is known to lie in (see RedisClockEstimate). */
  private readonly clock = new RedisClockEstimate();
  /** Redis time at which finished tasks may next be past their retention (0: look now). */
  private finishedExpiryDueMs = 0;

  constructor(
    private readonly engine: ShardEngine,
    private readonly redis: RedisClient,
    private readonly hooks: FiringLoopHooks,
    /** The replica's pace, shared by its shards' task loops. */
    private readonly pace: FiringPace,
    /** Longest sleep with nothing due: a backstop only, not what decides precision. */
    private readonly maxIdleMs = 10_000,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.done = this.measureClock().then(async () => {
      await Promise.all([
        this.run("firing", this.taskAlarm, () => this.taskPass(), this.pace),
        this.run("schedule", this.scheduleAlarm, () => this.schedulePass(), undefined),
      ]);
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.taskAlarm.ring();
    this.scheduleAlarm.ring();
    await this.done;
  }

  /**
   * Something may be due at `atMs` (Redis clock) or now: the loops named re-plan if that is
   * sooner ("tasks": a task's due time or lease expiry; "schedules": a schedule's fire-at; "both"
   * when the source is unknown, as for a pub/sub wake-up).
   */
  wake(atMs?: number, which: "tasks" | "schedules" | "both" = "both"): void {
    const alarms =
      which === "tasks"
        ? [this.taskAlarm]
        : which === "schedules"
          ? [this.scheduleAlarm]
          : [this.taskAlarm, this.scheduleAlarm];
    for (const alarm of alarms) {
      if (atMs === undefined || atMs - this.clock.highMs < alarm.until) alarm.ring();
    }
  }

  /**
   * The latest the Redis clock can be now. Timers use it, so they can only fire early (by at most
   * the round trip of the clock sample: the script then finds nothing due and the loop sleeps
   * again), never late, however long the event loop took to process a reply.
   */
  private redisNow(): number {
    return Date.now() + this.clock.highMs;
  }

  /**
   * The earliest the Redis clock can be now: the instant a cron plan is made for, so that every
   * slot it calls due or missed has come by Redis TIME (cronFire.lua checks it again).
   */
  private redisNowAtLeast(): number {
    return Date.now() + this.clock.lowMs;
  }

  /** Reads Redis TIME; `replace`: the sample replaces the estimate whatever its round trip. */
  private async measureClock(replace = false): Promise<void> {
    const sentAtMs = Date.now();
    const [seconds, micros] = await this.redis.time().catch(() => [0, 0]);
    if (Number(seconds) > 0) {
      const redisNowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      this.clock.observe(redisNowMs, sentAtMs, Date.now(), replace);
    }
  }

  /**
   * Runs passes until stopped: after each, sleeps until the instant it named (woken a little
   * early, see observeClock, with nothing moved: 1 ms rather than spinning). A failed pass backs
   * off; STALE_EPOCH (another scheduler leads the shard now) stops both loops, once.
   */
  private async run(
    name: string,
    alarm: Alarm,
    pass: () => Promise<PassResult>,
    pace: FiringPace | undefined,
  ): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        const { nextMs, moved, backlog } = await pass();
        failures = 0;
        const now = this.redisNow();
        let sleepMs =
          nextMs === undefined ? this.maxIdleMs : Math.min(this.maxIdleMs, nextMs - now);
        // The pace may hold the next pass back to a tick; a backlog (the pass stopped at its
        // batch limit with tasks still due) goes on at once.
        if (pace !== undefined && backlog !== true)
          sleepMs = Math.max(sleepMs, pace.next(now, moved) - now);
        await alarm.sleep(Math.max(sleepMs, moved ? 0 : 1));
      } catch (error) {
        if (error instanceof ClockAheadError) {
          // A plan was made for an instant Redis had not reached (the local clock stepped):
          // nothing was written; measure again and plan anew.
          // The refusal carries the TIME of the shard's own Redis (a cluster client's TIME may
          // come from another node): taken as read now, it is a lower bound of the offset, so the
          // next plan is not ahead again. Wait until that instant has come rather than spin.
          this.hooks.log(`shard ${this.engine.shard}: ${error.message}; planning again`);
          const receivedAtMs = Date.now();
          this.clock.observe(error.redisNowMs, receivedAtMs, receivedAtMs, true);
          await alarm.sleep(Math.max(1, error.plannedAtMs - error.redisNowMs));
          continue;
        }
        if (isDdqError(error, "STALE_EPOCH")) {
          if (!this.fencedOff) {
            this.fencedOff = true;
            this.running = false;
            this.taskAlarm.ring();
            this.scheduleAlarm.ring();
            this.hooks.onFencedOff();
          }
          return;
        }
        failures += 1;
        const backoffMs = Math.min(5_000, 50 * 2 ** Math.min(failures, 7));
        this.hooks.log(
          `shard ${this.engine.shard}: ${name} pass failed (retry in ${backoffMs} ms): ${String(error)}`,
        );
        await alarm.sleep(backoffMs);
      }
    }
  }

  /**
   * Fires what is due (every topic in one call, which also tells the earliest due time and lease
   * expiry left), recovers what expired, expires finished tasks; when to look again.
   */
  private async taskPass(): Promise<PassResult> {
    let moved = false;
    let fired: FireResult | undefined;
    // A few calls at most: with more still due, the next pass comes at once (its due time has
    // come), after the recovery and expiry below had their turn.
    for (let call = 0; call < 5 && (fired === undefined || fired.more); call += 1) {
      const sentAtMs = Date.now();
      fired = await this.engine.fireDue();
      this.clock.observe(fired.nowMs, sentAtMs, Date.now());
      if (fired.moved > 0) moved = true;
      for (const topic of fired.movedByTopic.keys()) this.hooks.onReady(topic);
    }
    if (fired === undefined) throw new Error("unreachable: fireDue was not called");
    let nextExpiryMs = fired.nextExpiryMs;
    if (nextExpiryMs !== undefined && nextExpiryMs <= fired.nowMs) {
      if (await this.recoverExpired(fired.nowMs)) moved = true;
      nextExpiryMs = earliest(
        (await this.redis.zrange(this.engine.keys.leaseTopics, 0, 0, "WITHSCORES"))[1],
      );
    }
    let expiryBacklog = false;
    if (this.redisNow() >= this.finishedExpiryDueMs) expiryBacklog = await this.expireFinished();
    return {
      nextMs: earliest(fired.nextDueMs, nextExpiryMs, this.finishedExpiryDueMs),
      moved: moved || expiryBacklog,
      backlog: fired.more || expiryBacklog,
    };
  }

  /** Recovers the expired leases of every topic with one expired at `nowMs`; whether any moved. */
  private async recoverExpired(nowMs: number): Promise<boolean> {
    const topics = await this.redis.zrangebyscore(
      this.engine.keys.leaseTopics,
      "-inf",
      String(nowMs),
      "LIMIT",
      0,
      256,
    );
    let moved = false;
    await Promise.all(
      topics.map(async (topic) => {
        for (;;) {
          const recovered = await this.engine.recoverExpired(topic);
          if (recovered.requeued > 0) this.hooks.onReady(topic);
          const handled = recovered.requeued + recovered.dead + recovered.cancelled;
          if (handled > 0) moved = true;
          if (handled < SCRIPT_BATCH_LIMIT) return;
        }
      }),
    );
    return moved;
  }

  /**
   * Fires the schedules whose fire-at has come (their new occurrences are due later, created
   * ahead, or were overdue); when to look again. A failure (Redis unreachable, fenced off) fails
   * the pass: the loop backs off or hands the shard over.
   */
  private async schedulePass(): Promise<PassResult> {
    const keys = this.engine.keys;
    // The loop wakes by the latest estimate of Redis's clock (never late), but plans by the
    // earliest: a schedule whose fire-at falls between the two waits a pass or two (1 ms each).
    const nowMs = this.redisNowAtLeast();
    const due = await this.redis.zrangebyscore(
      keys.cronDue,
      "-inf",
      String(nowMs),
      "LIMIT",
      0,
      1000,
    );
    const moved = due.length > 0 && (await this.hooks.fireSchedules(due, nowMs));
    const next = await this.redis.zrange(keys.cronDue, 0, 0, "WITHSCORES");
    return { nextMs: earliest(next[1]), moved };
  }

  /**
   * Deletes the shard's finished tasks whose retention ended (they have no TTL of their own),
   * and plans the next look: when the oldest one left ends its retention, at least
   * FINISHED_EXPIRY_INTERVAL_MS later (so expiries are batched), or, with none left, one
   * retention from now (a task finished later cannot end its retention earlier).
   */
  private async expireFinished(): Promise<boolean> {
    const retentionMs = this.engine.finishedRetentionMs;
    // A few batches per pass, so that a large backlog does not delay firing.
    for (let batch = 1; ; batch += 1) {
      const result = await this.engine.expireFinished();
      if (result.deleted >= SCRIPT_BATCH_LIMIT) {
        if (batch < 5) continue;
        this.finishedExpiryDueMs = result.nowMs;
        return true;
      }
      this.finishedExpiryDueMs =
        result.earliestFinishedMs === undefined
          ? result.nowMs + retentionMs
          : Math.max(
              result.earliestFinishedMs + retentionMs,
              result.nowMs + FINISHED_EXPIRY_INTERVAL_MS,
            );
      return false;
    }
  }
}

/** The earliest of some Redis-clock instants (scores as read, or numbers); undefined if none. */
function earliest(...instants: (string | number | undefined)[]): number | undefined {
  const known = instants.filter((v) => v !== undefined).map(Number);
  return known.length === 0 ? undefined : Math.min(...known);
}
