import type { LeasedTask } from "../../scheduler/engine/model.js";
import { Scheduler } from "../../scheduler/scheduler.js";
import { waitFor } from "../../test/env/waitFor.js";
import { withTimeout } from "../timeouts.js";

/** One in-process ddq scheduler on the benchmark's redis-server, leading every shard. */
export async function startBenchScheduler(
  redisPort: number,
  shardCount: number,
): Promise<Scheduler> {
  const scheduler = await withTimeout(
    Scheduler.start({
      redisUrl: `redis://127.0.0.1:${redisPort}`,
      prefix: "bench",
      shardCount,
      log: (message) => {
        // Taking the shards at start-up is expected; anything else is worth seeing.
        if (!/^shard \d+: leading with epoch/.test(message)) console.error(`ddq: ${message}`);
      },
    }),
    30_000,
    "starting the ddq scheduler",
  );
  try {
    await waitFor(() => scheduler.ledShards().length === shardCount, {
      description: `the ddq scheduler to lead all ${shardCount} shards`,
      timeoutMs: 30_000,
    });
  } catch (error) {
    await withTimeout(scheduler.stop(), 30_000, "stopping the ddq scheduler");
    throw error;
  }
  return scheduler;
}

/**
 * One consumer loop: lease a batch (long-poll), hand each task to `onTasks`, and ack the batch
 * with one ackMany call while the next lease runs (the gRPC worker batches acks the same way).
 * Runs while `consuming()` is true.
 */
export async function leaseAndAckLoop(
  scheduler: Scheduler,
  lease: { topic: string; max: number; waitMs: number },
  consuming: () => boolean,
  onTasks: (tasks: readonly LeasedTask[]) => Promise<void> | void,
): Promise<void> {
  let acks: Promise<unknown> = Promise.resolve();
  while (consuming()) {
    const tasks = await scheduler.lease({
      topics: [lease.topic],
      max: lease.max,
      waitMs: lease.waitMs,
    });
    try {
      await onTasks(tasks);
    } catch (error) {
      await acks.catch(() => undefined);
      throw error;
    }
    await acks;
    acks = scheduler
      .ackMany(tasks.map((t) => ({ id: t.id, topic: t.topic, leaseToken: t.leaseToken })))
      .then((answers) => {
        const failed = answers.find((a) => a !== undefined);
        if (failed !== undefined) throw failed;
      });
  }
  await acks;
}
