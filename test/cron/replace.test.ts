/**
 * Concurrency policy Replace: the running occurrences are cancelled in the same cronFire call
 * that creates the new one, so a plan that loses its compare-and-set cancels nothing.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkCronSpec } from "../../scheduler/cron/cronSpec.js";
import { ShardKeys } from "../../scheduler/engine/keys.js";
import { DEFAULT_DEFAULTS, DEFAULT_LIMITS } from "../../scheduler/engine/model.js";
import type { CronFireRequest, ShardEngine } from "../../scheduler/engine/shardEngine.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { openShardEngine } from "../scheduler/support.js";

let db: RedisDatabase;
let redis: Redis;
let engine: ShardEngine;
const keys = new ShardKeys("replace", 0);

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  redis = new Redis(db.url);
  engine = await openShardEngine(redis, keys);
});
afterAll(async () => {
  redis.disconnect();
  await db.close();
});

/** A task's state: its hash's, or "waiting" for a never-leased one (pending), or undefined. */
async function stateOf(id: string): Promise<string | undefined> {
  const state = await redis.hget(keys.task(id), "st");
  if (state !== null) return state;
  return (await redis.hexists(keys.pending, id)) === 1 ? "waiting" : undefined;
}

describe("Replace", () => {
  it("cancels the running occurrences atomically with creating the new one", async () => {
    const spec = checkCronSpec(
      {
        id: "rep",
        timing: { schedules: ["* * * * * *"] },
        concurrencyPolicy: "Replace",
        task: { topic: "rep" },
      },
      DEFAULT_LIMITS,
      DEFAULT_DEFAULTS,
    );
    const { generation } = await engine.cronUpsert({
      scheduleId: "rep",
      specJson: "{}",
      nextSlotMs: 1_000,
      fireAtMs: 1_000,
      suspended: false,
      successfulHistoryLimit: 3,
      failedHistoryLimit: 3,
      missedHistoryLimit: 10,
    });
    const plan = (slotMs: number, expectedNextSlot: string): CronFireRequest => ({
      scheduleId: "rep",
      expectedGeneration: generation,
      expectedNextSlot,
      nextSlotMs: slotMs + 1_000,
      fireAtMs: slotMs + 1_000,
      concurrencyPolicy: "Replace",
      task: spec.task,
      fire: [{ slotMs, dueAtMs: slotMs }],
      missed: [],
      missedCount: 0,
      missedHistoryLimit: 10,
      manual: false,
    });

    expect(await engine.cronFire("rep", [plan(1_000, "1000")])).toMatchObject([
      { status: "ok", created: 1, createdReady: 1 },
    ]);
    expect(await stateOf("rep:1000-0")).toBe("waiting");

    // A plan that lost its compare-and-set (made before slot 1000 fired) cancels nothing.
    expect(await engine.cronFire("rep", [plan(2_000, "1000")])).toMatchObject([
      { status: "stale", created: 0 },
    ]);
    expect(await stateOf("rep:1000-0")).toBe("waiting");
    expect(await stateOf("rep:2000-0")).toBeUndefined();

    // The current plan: the waiting occurrence is cancelled, the new one created.
    expect(await engine.cronFire("rep", [plan(2_000, "2000")])).toMatchObject([
      { status: "ok", created: 1 },
    ]);
    expect(await stateOf("rep:1000-0")).toBe("cancelled");
    expect(await stateOf("rep:2000-0")).toBe("waiting");
    expect(await redis.smembers(keys.cronActive("rep"))).toEqual(["rep:2000-0"]);
    expect(await redis.hget(keys.counts, "rep|cancelled")).toBe("1");
    const history = await redis.lrange(keys.cronHistory("failed", "rep"), 0, -1);
    expect(history.map((h) => JSON.parse(h) as { id: string; outcome: string })).toMatchObject([
      { id: "rep:1000-0", outcome: "cancelled" },
    ]);

    // A leased occurrence is asked to stop; it stays active until it ends.
    const [leased] = await engine.lease("rep", 1, 0, "replace-lease");
    expect(leased?.id).toBe("rep:2000-0");
    expect(await engine.cronFire("rep", [plan(3_000, "3000")])).toMatchObject([
      { status: "ok", created: 1 },
    ]);
    expect(await redis.hget(keys.task("rep:2000-0"), "cr")).toBe("1");
    expect(await stateOf("rep:2000-0")).toBe("leased");
    expect((await redis.smembers(keys.cronActive("rep"))).sort()).toEqual([
      "rep:2000-0",
      "rep:3000-0",
    ]);
  });
});
