/**
 * Redis TIME alone decides that a cron slot has come (issue 12 item 6): cronFire.lua refuses
 * plans made for an instant Redis has not reached, whatever the planner believed "now" was, and
 * the firing loop's estimate of Redis's clock ignores a sample whose round trip sat through a
 * stall. (test/scheduler/redisStall.test.ts shows the whole path under a real stall.)
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkCronSpec } from "../../scheduler/cron/cronSpec.js";
import { ShardKeys } from "../../scheduler/engine/keys.js";
import { DEFAULT_DEFAULTS, DEFAULT_LIMITS } from "../../scheduler/engine/model.js";
import { RedisClockEstimate } from "../../scheduler/engine/redisClock.js";
import type { CronFireRequest, ShardEngine } from "../../scheduler/engine/shardEngine.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { openShardEngine } from "../scheduler/support.js";

let db: RedisDatabase;
let redis: Redis;
let engine: ShardEngine;
const keys = new ShardKeys("clock", 0);

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  redis = new Redis(db.url);
  engine = await openShardEngine(redis, keys);
});
afterAll(async () => {
  redis.disconnect();
  await db.close();
});

async function redisNowMs(): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

describe("cronFire and the Redis clock", () => {
  it("refuses a plan made for an instant Redis TIME has not reached, writing nothing", async () => {
    const spec = checkCronSpec(
      { id: "ahead", timing: { schedules: ["@every 1s"] }, task: { topic: "ahead" } },
      DEFAULT_LIMITS,
      DEFAULT_DEFAULTS,
    );
    const now = await redisNowMs();
    const next = Math.ceil(now / 1000) * 1000 + 1000;
    const { generation } = await engine.cronUpsert({
      scheduleId: "ahead",
      specJson: "{}",
      nextSlotMs: next,
      fireAtMs: next,
      suspended: false,
      successfulHistoryLimit: 3,
      failedHistoryLimit: 3,
      missedHistoryLimit: 10,
    });
    // What a planner whose "now" ran 6 s ahead (a clock sample taken across a stall) makes:
    // catch-up Latest fires the last slot it believes due and calls the earlier ones missed.
    const plannedAt = next + 6_000;
    const plan: CronFireRequest = {
      scheduleId: "ahead",
      expectedGeneration: generation,
      expectedNextSlot: String(next),
      nextSlotMs: plannedAt + 1_000,
      fireAtMs: plannedAt + 1_000,
      concurrencyPolicy: "Allow",
      task: spec.task,
      fire: [{ slotMs: plannedAt, dueAtMs: plannedAt }],
      missed: Array.from({ length: 6 }, (_, i) => ({
        slotMs: next + i * 1_000,
        reason: "catch-up Latest: a later slot ran instead",
      })),
      missedCount: 6,
      missedHistoryLimit: 10,
      manual: false,
    };
    const before = await redis.hgetall(keys.cron("ahead"));
    await expect(engine.cronFire("ahead", [plan], "", plannedAt)).rejects.toThrow(/Redis TIME/);
    expect(await redis.lrange(`${keys.shardBase}cron-missed:ahead`, 0, -1)).toEqual([]);
    expect(await redis.hgetall(keys.cron("ahead"))).toEqual(before);
    expect(await redis.hlen(keys.pending)).toBe(0);

    // Planned for an instant Redis has reached: applied.
    const reached = await redisNowMs();
    const onTime: CronFireRequest = {
      ...plan,
      nextSlotMs: next + 1_000,
      fireAtMs: next + 1_000,
      fire: [{ slotMs: next, dueAtMs: next }],
      missed: [],
      missedCount: 0,
    };
    expect(await engine.cronFire("ahead", [onTime], "", reached)).toMatchObject([
      { status: "ok", created: 1 },
    ]);
  });
});

describe("RedisClockEstimate", () => {
  it("keeps its estimate when a sample's round trip sat through a stall", () => {
    const clock = new RedisClockEstimate();
    // Redis 2 s ahead of the local clock, answered in 1 ms.
    // (The lower bound is 1 ms lower still: both clocks are read in whole milliseconds.)
    expect(clock.observe(12_000, 10_000, 10_001)).toBe(true);
    expect([clock.lowMs, clock.highMs]).toEqual([1_998, 2_000]);
    // A call sent at 20,000 sat 6 s in a stall; Redis read its clock as it ended.
    expect(clock.observe(28_000, 20_000, 26_001)).toBe(false);
    expect([clock.lowMs, clock.highMs]).toEqual([1_998, 2_000]);
    // A short round trip again: taken.
    expect(clock.observe(28_003, 26_002, 26_004)).toBe(true);
    expect([clock.lowMs, clock.highMs]).toEqual([1_998, 2_001]);
  });

  it("takes a long sample that contradicts the estimate (the local clock was stepped)", () => {
    const clock = new RedisClockEstimate();
    clock.observe(12_000, 10_000, 10_001);
    // The local clock jumped 10 s ahead: the offset is now about -8 s, whatever the round trip.
    expect(clock.observe(22_000, 29_000, 29_500)).toBe(true);
    expect([clock.lowMs, clock.highMs]).toEqual([-7_501, -7_000]);
  });
});
