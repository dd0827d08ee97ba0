import type { Scheduler } from "../../scheduler/scheduler.js";
import { leaseAndAckLoop, startBenchScheduler } from "./ddqScheduler.js";
import type { LeasedTask } from "../../scheduler/engine/model.js";
import { withTimeout } from "../timeouts.js";
import { isBenchPayload, type BenchPayload, type BenchTask } from "../workload.js";
import type { AdapterFactory, EngineAdapter } from "./adapter.js";

export interface DdqSettings {
  shardCount: number;
  /** `max` of each lease call. */
  /** Tasks in flight at most: each of `leaseLoops` loops leases leaseMax / leaseLoops at a time. */
  leaseMax: number;
  /** Concurrent lease loops (prefetch): one parses a batch while another's lease runs. */
  leaseLoops: number;
  /** Long-poll `waitMs` of each lease call. */
  leaseWaitMs: number;
}

const TOPIC = "bench";

function decode(task: LeasedTask): BenchPayload {
  const value: unknown = JSON.parse(Buffer.from(task.payload).toString("utf8"));
  if (!isBenchPayload(value)) throw new Error(`task ${task.id} has an unexpected payload`);
  return value;
}

/**
 * ddq's engine in-process: one Scheduler replica (leading every shard, so it also runs every
 * shard's firing loop). The consumer is one long-poll lease loop; each leased batch is acked
 * concurrently while the next lease call runs.
 */
class DdqAdapter implements EngineAdapter {
  readonly name = "ddq";
  private consuming = false;
  private consumer: Promise<void> = Promise.resolve();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly settings: DdqSettings,
  ) {}

  async enqueue(batch: readonly BenchTask[]): Promise<void> {
    await this.scheduler.enqueueBatch(
      batch.map((t) => ({
        topic: TOPIC,
        payload: Buffer.from(JSON.stringify(t.payload)),
        due: { atMs: t.dueAtMs },
      })),
    );
  }

  startConsumer(
    onTask: (payload: BenchPayload) => void,
    onError: (error: unknown) => void,
  ): Promise<void> {
    this.consuming = true;
    const loops = Array.from({ length: this.settings.leaseLoops }, () => this.consume(onTask));
    this.consumer = Promise.all(loops)
      .then(() => undefined)
      .catch(onError);
    return Promise.resolve();
  }

  private consume(onTask: (payload: BenchPayload) => void): Promise<void> {
    return leaseAndAckLoop(
      this.scheduler,
      {
        topic: TOPIC,
        max: Math.ceil(this.settings.leaseMax / this.settings.leaseLoops),
        waitMs: this.settings.leaseWaitMs,
      },
      () => this.consuming,
      (tasks) => {
        for (const task of tasks) onTask(decode(task));
      },
    );
  }

  async close(): Promise<void> {
    this.consuming = false;
    try {
      // The loop ends after its current lease call (at most leaseWaitMs) and its last acks.
      await withTimeout(
        this.consumer,
        this.settings.leaseWaitMs + 30_000,
        "the ddq consumer loop to end",
      );
    } finally {
      await withTimeout(this.scheduler.stop(), 30_000, "stopping the ddq scheduler");
    }
  }
}

export function ddqAdapter(settings: DdqSettings): AdapterFactory {
  return async (redisPort) => {
    const scheduler = await startBenchScheduler(redisPort, settings.shardCount);
    return new DdqAdapter(scheduler, settings);
  };
}
