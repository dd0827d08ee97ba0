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
