import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDdqError } from "../../scheduler/engine/errors.js";
import type { LeasedTask } from "../../scheduler/engine/model.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { startTestScheduler } from "./support.js";

let db: RedisDatabase;
beforeAll(async () => {
  db = await useFreshRedisDatabase();
});
afterAll(async () => {
  await db.close();
});

// A leader that stops renewing (a long GC pause, a network partition) keeps believing it leads
// until its next round. Its renew period here is far longer than the test, so it never notices.
const PAUSED = { leaseDurationMs: 60_000, renewDeadlineMs: 50_000, retryPeriodMs: 40_000 };

describe("two schedulers racing on one shard", () => {
  it("rejects every write of the stale leader and delivers each task once", async () => {
    const prefix = "race";
    const stale = await startTestScheduler(db, {
      prefix,
      shardCount: 1,
      identity: "stale",
      leaseTiming: PAUSED,
    });
    const staleEpoch = stale.epochOf(0);
    expect(stale.ledShards()).toEqual([0]);
    await stale.enqueueBatch(
      Array.from({ length: 200 }, () => ({ topic: "race", due: { delayMs: 1_500 } })),
    );

    // The stale leader's lease expires while it is paused (removed here rather than waited for);
    // a new leader takes the shard and a new epoch.
    await db.client.del(`${prefix}:{0}:leader`);
    const fresh = await startTestScheduler(db, { prefix, shardCount: 1, identity: "fresh" });
    expect(fresh.ledShards()).toEqual([0]);
    expect(Number(fresh.epochOf(0))).toBe(Number(staleEpoch) + 1);
    await fresh.enqueueBatch(
      Array.from({ length: 200 }, () => ({ topic: "race", due: { delayMs: 500 } })),
    );

    // Both believe they lead and both consume, concurrently, until all 400 are delivered.
    const delivered: LeasedTask[] = [];
    const staleDelivered: LeasedTask[] = [];
    const consume = async (who: typeof fresh, into: LeasedTask[]): Promise<void> => {
      while (delivered.length + staleDelivered.length < 400) {
        const tasks = await who.lease({ topics: ["race"], max: 50, waitMs: 200 });
        into.push(...tasks);
        await Promise.all(tasks.map((t) => who.ack(t.id, t.topic, t.leaseToken)));
        if (who === stale && stale.ledShards().length === 0) return;
      }
    };
    await Promise.all([consume(fresh, delivered), consume(stale, staleDelivered)]);

    expect(staleDelivered).toEqual([]);
    expect(stale.ledShards()).toEqual([]); // it learned from STALE_EPOCH that it was fenced off
    expect(new Set(delivered.map((t) => t.id)).size).toBe(400);
    expect(delivered.every((t) => t.attempt === 1)).toBe(true);
    await expect(stale.enqueue({ topic: "race" })).rejects.toSatisfy((e) =>
      isDdqError(e, "NOT_LEADER"),
    );

    await stale.stop();
    await fresh.stop();
  });
});
