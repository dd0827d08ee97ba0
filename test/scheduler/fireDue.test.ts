import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ShardKeys } from "../../scheduler/engine/keys.js";
import type { ShardEngine } from "../../scheduler/engine/shardEngine.js";
import { formatTaskId, UlidGenerator } from "../../scheduler/engine/taskId.js";
import { prepareTask } from "../../scheduler/engine/validation.js";
import { DEFAULT_DEFAULTS, DEFAULT_LIMITS } from "../../scheduler/engine/model.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { openShardEngine } from "./support.js";

// fireDue moves every topic's due tasks in one call and tells the firing loop what comes next.
let db: RedisDatabase;
let redis: Redis;
let engine: ShardEngine;
const keys = new ShardKeys("fire", 0);
const ids = new UlidGenerator();

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  redis = new Redis(db.url);
  engine = await openShardEngine(redis, keys, { eventsMaxLen: 10_000 });
});
afterAll(async () => {
  redis.disconnect();
  await db.close();
});

async function redisNow(): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** Enqueues `count` tasks of `topic` due at `atMs` (Redis clock); returns their ids. */
async function enqueueAt(topic: string, count: number, atMs: number): Promise<string[]> {
  const taskIds = Array.from({ length: count }, () => formatTaskId(ids.next(), 0));
  const prepared = prepareTask({ topic, due: { atMs } }, DEFAULT_LIMITS, DEFAULT_DEFAULTS);
  await engine.enqueue(
    topic,
    taskIds,
    taskIds.map(() => prepared),
    taskIds.map(() => ""),
  );
  return taskIds;
}

/** Waits until the Redis clock has passed `atMs` (the tasks due then are due). */
async function untilRedisTime(atMs: number): Promise<void> {
  await waitFor(async () => (await redisNow()) > atMs, {
    description: `Redis time past ${atMs}`,
    intervalMs: 10,
  });
}

describe("fireDue", () => {
  it("moves the due tasks of every topic in one call, and names the next due time", async () => {
    const dueAt = (await redisNow()) + 200;
    await enqueueAt("a", 2, dueAt);
    await enqueueAt("b", 3, dueAt);
    await enqueueAt("c", 1, dueAt);
    const later = (await redisNow()) + 60_000;
    await enqueueAt("a", 1, later);
    await untilRedisTime(dueAt);

    const fired = await engine.fireDue();
    expect(fired.moved).toBe(6);
    expect(fired.more).toBe(false);
    expect(Object.fromEntries(fired.movedByTopic)).toEqual({ a: 2, b: 3, c: 1 });
    expect(fired.nextDueMs).toBe(later);
    expect(fired.nextExpiryMs).toBeUndefined();
    expect(await redis.zcard(keys.ready("a"))).toBe(2);
    expect(await redis.zcard(keys.ready("b"))).toBe(3);
    expect(await redis.zcard(keys.scheduled("a"))).toBe(1);
    expect(await redis.hget(keys.counts, "b|ready")).toBe("3");
    expect(await redis.hget(keys.counts, "b|scheduled")).toBe("0");
    // The topics with nothing due left the index; "a" stays, at its later task.
    expect(await redis.zrange(keys.dueTopics, 0, -1, "WITHSCORES")).toEqual(["a", String(later)]);

    const again = await engine.fireDue();
    expect(again.moved).toBe(0);
    expect(again.movedByTopic.size).toBe(0);
  });

  it("stops at the limit and says that more is due", async () => {
    const dueAt = (await redisNow()) + 200;
    await enqueueAt("d", 3, dueAt);
    await enqueueAt("e", 2, dueAt);
    await untilRedisTime(dueAt);

    const first = await engine.fireDue(4);
    expect(first.moved).toBe(4);
    expect(first.more).toBe(true);
    const second = await engine.fireDue(4);
    expect(second.moved).toBe(1);
    expect(second.more).toBe(false);
    expect((await redis.zcard(keys.ready("d"))) + (await redis.zcard(keys.ready("e")))).toBe(5);
  });

  it("names the earliest lease expiry", async () => {
    const [leased] = await engine.lease("d", 1, 5_000, "fire-lease");
    expect(leased).toBeDefined();
    const fired = await engine.fireDue();
    expect(fired.nextExpiryMs).toBe(leased?.leaseExpiresAtMs);
  });
});
