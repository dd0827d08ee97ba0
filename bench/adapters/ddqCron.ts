import type { Scheduler } from "../../scheduler/scheduler.js";
import { leaseAndAckLoop, startBenchScheduler } from "./ddqScheduler.js";
import { isDdqError } from "../../scheduler/engine/errors.js";
import { formatOccurrenceId, parseOccurrenceId } from "../../scheduler/engine/taskId.js";
import { inBatches, withTimeout } from "../timeouts.js";
import { makePayload } from "../workload.js";
import {
  scheduleIndex,
  scheduleName,
  type CronAdapter,
  type CronAdapterFactory,
  type OccurrenceHandler,
} from "./cronAdapter.js";

export interface DdqCronSettings {
  shardCount: number;
  /** The schedule of every benchmark schedule (an expression of docs/CRON.md). */
  schedule: string;
  /** `max` of each lease call. */
  leaseMax: number;
  /** Concurrent lease loops (prefetch): one handles a batch while another's lease runs. */
  leaseLoops: number;
  /** Long-poll `waitMs` of each lease call. */
  leaseWaitMs: number;
  /**
   * The schedules' `jitterMs`: 0 fires all of them at whole seconds (one burst a second); 999
   * spreads them over the second by a hash of their id. An occurrence's intended time is its slot
   * plus its schedule's offset (its due time).
   */
  jitterMs: number;
}

const TOPIC = "cron";

/**
 * ddq's cron in-process: one Scheduler replica leading every shard, so its per-shard firing loops
 * fire every schedule. The consumer is `leaseLoops` long-poll lease loops; each leased batch is
 * acked with one ackMany call while the loop's next lease runs (as bench/adapters/ddq.ts).
 */
class DdqCronAdapter implements CronAdapter {
  readonly name = "ddq";
  private consuming = false;
  private consumer: Promise<void> = Promise.resolve();
  readonly groups: { count: number; of: (index: number) => number };
  /** `@every 1s` fires at whole seconds of the epoch; with jitter, at each schedule's offset. */
  readonly slotPhaseMs: number | undefined;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly settings: DdqCronSettings,
  ) {
    this.slotPhaseMs = settings.jitterMs === 0 ? 0 : undefined;
    this.groups = {
      count: scheduler.shardCount,
      of: (index) => scheduler.cron.shardOf(scheduleName(index)),
    };
  }

  async upsert(index: number): Promise<void> {
    await this.scheduler.cron.upsert({
      id: scheduleName(index),
      timing: { schedules: [this.settings.schedule] },
      jitterMs: this.settings.jitterMs,
      task: { topic: TOPIC, payload: Buffer.from(JSON.stringify(makePayload(index, 0))) },
    });
  }

  startConsumer(onOccurrence: OccurrenceHandler, onError: (error: unknown) => void): Promise<void> {
    this.consuming = true;
    const loops = Array.from({ length: this.settings.leaseLoops }, () =>
      this.consume(onOccurrence),
    );
    this.consumer = Promise.all(loops)
      .then(() => undefined)
      .catch(onError);
    return Promise.resolve();
  }

  private consume(onOccurrence: OccurrenceHandler): Promise<void> {
    return leaseAndAckLoop(
      this.scheduler,
      { topic: TOPIC, max: this.settings.leaseMax, waitMs: this.settings.leaseWaitMs },
      () => this.consuming,
      (tasks) => {
        for (const task of tasks) {
          const occurrence = parseOccurrenceId(task.id);
          const schedule =
            occurrence === undefined ? undefined : scheduleIndex(occurrence.scheduleId);
          if (occurrence === undefined || schedule === undefined || occurrence.manual) {
            throw new Error(
              `leased ${task.id}, which is not an occurrence of a benchmark schedule`,
            );
          }
          onOccurrence(schedule, occurrence.slotMs + this.offset(occurrence.scheduleId));
        }
      },
    );
  }

  async stopConsumer(): Promise<void> {
    this.consuming = false;
    // A loop ends after its current lease call (at most leaseWaitMs) and its last acks.
    await withTimeout(
      this.consumer,
      this.settings.leaseWaitMs + 30_000,
      "the ddq consumer loops to end",
    );
  }

  /** A schedule's fixed jitter offset: its occurrences are due at slot + offset. */
  private offset(scheduleId: string): number {
    return this.scheduler.cron.jitterOffset(scheduleId, this.settings.jitterMs);
  }

  async occurrenceExists(index: number, intendedMs: number): Promise<boolean> {
    const id = scheduleName(index);
    const slotMs = intendedMs - this.offset(id);
    try {
      await this.scheduler.get(formatOccurrenceId(id, slotMs, this.scheduler.cron.shardOf(id)));
      return true;
    } catch (error) {
      if (isDdqError(error, "NOT_FOUND")) return false;
      throw error;
    }
  }

  /** runs, missed and skipped summed over every schedule (`cron.get`), and unfinished occurrences. */
  async engineCounters(schedules: number): Promise<Record<string, number>> {
    const totals = { schedules: 0, runs: 0, missed: 0, skipped: 0, active: 0 };
    const indexes = Array.from({ length: schedules }, (_, i) => i);
    await withTimeout(
      inBatches(indexes, 1, 200, async ([index]) => {
        const status = await this.scheduler.cron.get(scheduleName(index ?? 0));
        totals.schedules += 1;
        totals.runs += status.runs;
        totals.missed += status.missed;
        totals.skipped += status.skipped;
        totals.active += status.active.length;
      }),
      Math.max(60_000, schedules * 10),
      "reading every ddq schedule's status",
    );
    return totals;
  }

  async close(): Promise<void> {
    try {
      if (this.consuming) await this.stopConsumer();
    } finally {
      await withTimeout(this.scheduler.stop(), 30_000, "stopping the ddq scheduler");
    }
  }
}

export function ddqCronAdapter(settings: DdqCronSettings): CronAdapterFactory {
  return async (redisPort) => {
    const scheduler = await startBenchScheduler(redisPort, settings.shardCount);
    return new DdqCronAdapter(scheduler, settings);
  };
}
