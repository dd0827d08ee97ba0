/** Helpers of the task-change tests (taskChanges.test.ts, taskChangeRaces.test.ts). */
import { expect } from "vitest";
import { isDdqError, type DdqErrorCode } from "../../scheduler/engine/errors.js";
import { ShardKeys } from "../../scheduler/engine/keys.js";
import type { Scheduler } from "../../scheduler/scheduler.js";
import type { RedisDatabase } from "../env/redisDatabase.js";

export const HOUR = 3_600_000;

/** The event types of one task, oldest first. */
export async function eventTypes(scheduler: Scheduler, taskId: string): Promise<string[]> {
  const shard = Number(taskId.split("-").at(-1));
  return (await scheduler.readEvents(shard)).filter((e) => e.taskId === taskId).map((e) => e.type);
}

/** Every counts field of a topic, summed over the shards (including fire's exact counters). */
export async function counters(
  scheduler: Scheduler,
  db: RedisDatabase,
  topic: string,
): Promise<Record<string, number>> {
  const out: Record<string, number> = { scheduled: 0, ready: 0, leased: 0, dead: 0 };
  for (let shard = 0; shard < scheduler.shardCount; shard += 1) {
    const hash = await db.client.hgetall(new ShardKeys(scheduler.prefix, shard).counts);
    for (const [field, value] of Object.entries(hash)) {
      const [t, name = ""] = field.split("|");
      if (t === topic) out[name] = (out[name] ?? 0) + Number(value);
    }
  }
  return out;
}

/** Expects a DdqError with this code (and field); returns its message. */
export async function expectError(
  promise: Promise<unknown>,
  code: DdqErrorCode,
  field?: string,
): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isDdqError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
  if (field !== undefined) expect(isDdqError(error) ? error.field : undefined).toBe(field);
  return isDdqError(error) ? error.message : "";
}

/** A task that failed for good (max attempts 1). */
export async function deadTask(scheduler: Scheduler, topic: string): Promise<string> {
  const { task } = await scheduler.enqueue({ topic, maxAttempts: 1 });
  const [leased] = await scheduler.lease({ topics: [topic], max: 1, waitMs: 5_000 });
  expect(leased?.id).toBe(task.id);
  await scheduler.fail(task.id, topic, leased?.leaseToken ?? "", "boom", false);
  return task.id;
}
