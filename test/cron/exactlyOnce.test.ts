import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkCronSpec } from "../../scheduler/cron/cronSpec.js";
import { ShardKeys } from "../../scheduler/engine/keys.js";
import { DEFAULT_DEFAULTS, DEFAULT_LIMITS } from "../../scheduler/engine/model.js";
import { ScriptRunner } from "../../scheduler/engine/scripts.js";
import { ShardEngine } from "../../scheduler/engine/shardEngine.js";
import { parseOccurrenceId } from "../../scheduler/engine/taskId.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import {
  kill9,
  killAllReplicas,
  startReplicaProcess,
} from "../scheduler/fixtures/replicaProcess.js";
import { startTestScheduler } from "../scheduler/support.js";

let db: RedisDatabase;
beforeAll(async () => {
  db = await useFreshRedisDatabase();
});
afterAll(async () => {
  killAllReplicas();
  await db.close();
});

/** Every occurrence id of a schedule that exists (pending or with a task hash). */
async function occurrencesOf(prefix: string, shard: number, scheduleId: string): Promise<string[]> {
  const keys = new ShardKeys(prefix, shard);
  const pending = (await db.client.hkeys(keys.pending)).filter((id) =>
    id.startsWith(`${scheduleId}:`),
  );
  const hashes = (await db.client.keys(`${keys.taskPrefix}${scheduleId}:*`)).map((k) =>
    k.slice(keys.taskPrefix.length),
  );
  return [...pending, ...hashes].sort();
}

describe("exactly one occurrence per slot", () => {
  it("a resent fire (same plan, same compare-and-set) creates nothing the second time", async () => {
    const redis = new Redis(db.url);
    const keys = new ShardKeys("resendcron", 0);
    const epoch = String(await redis.incr(keys.epoch));
    const engine = new ShardEngine(new ScriptRunner(redis), keys, epoch, {
      maxHorizonMs: DEFAULT_LIMITS.maxHorizonMs,
      eventsMaxLen: 1000,
      idempotencyRetentionMs: 60_000,
      finishedRetentionMs: 60_000,
      leaseRequestRetentionMs: 60_000,
    });
    const spec = checkCronSpec(
      { id: "r", timing: { schedules: ["* * * * * *"] }, task: { topic: "r" } },
      DEFAULT_LIMITS,
      DEFAULT_DEFAULTS,
    );
    const { generation } = await engine.cronUpsert({
      scheduleId: "r",
      specJson: "{}",
      nextSlotMs: 1_000,
      fireAtMs: 1_000,
      suspended: false,
      successfulHistoryLimit: 3,
      failedHistoryLimit: 1,
      missedHistoryLimit: 10,
    });
    const request = {
      scheduleId: "r",
      expectedGeneration: generation,
      expectedNextSlot: "1000",
      nextSlotMs: 2_000,
      fireAtMs: 2_000,
      concurrencyPolicy: "Allow" as const,
      task: spec.task,
      fire: [{ slotMs: 1_000, dueAtMs: 1_000 }],
      missed: [],
      missedCount: 0,
      missedHistoryLimit: 10,
      manual: false,
    };
    expect(await engine.cronFire("r", [request])).toMatchObject([{ status: "ok", created: 1 }]);
    expect(await engine.cronFire("r", [request])).toMatchObject([{ status: "stale", created: 0 }]);
    // Even without the compare-and-set (a manual path), the slot's id exists: nothing new.
    expect(
      await engine.cronFire("r", [{ ...request, expectedNextSlot: "2000", nextSlotMs: 3_000 }]),
    ).toMatchObject([{ status: "ok", created: 0, existing: 1 }]);
    expect(await occurrencesOf("resendcron", 0, "r")).toEqual(["r:1000-0"]);
    expect(await redis.hget(keys.cron("r"), "runs")).toBe("1");
    redis.disconnect();
  });

  it("a stale leader racing the new one creates no occurrence, and every slot has one", async () => {
    const prefix = "cronrace";
    const paused = { leaseDurationMs: 60_000, renewDeadlineMs: 50_000, retryPeriodMs: 40_000 };
    const stale = await startTestScheduler(db, {
      prefix,
      shardCount: 1,
      identity: "stale",
      leaseTiming: paused,
    });
    const upserted = await stale.cron.upsert({
      id: "race",
      timing: { schedules: ["* * * * * *"] },
      task: { topic: "race" },
    });
    await db.client.del(`${prefix}:{0}:leader`); // the stale leader's lease expired while it was paused
    const fresh = await startTestScheduler(db, { prefix, shardCount: 1, identity: "fresh" });
    // Both loops fire the schedule for a few seconds; only the fresh leader's fires land.
    await new Promise((r) => setTimeout(r, 3_500));
    expect(stale.ledShards()).toEqual([]);
    const status = await fresh.cron.get("race");
    const ids = await occurrencesOf(prefix, 0, "race");
    expect(ids.length).toBe(status.runs);
    const slots = ids.map((id) => parseOccurrenceId(id)?.slotMs ?? 0);
    expect(new Set(slots).size).toBe(slots.length);
    // Every slot from the first to the last handled one has an occurrence or a missed record.
    const handled = ((status.nextScheduleTimeMs ?? 0) - (upserted.nextScheduleTimeMs ?? 0)) / 1000;
    expect(status.runs + status.missed).toBe(handled);
    await stale.stop();
    await fresh.stop();
  });

  it("kill -9 of the scheduler while it fires never yields two occurrences for a slot nor loses one unrecorded", async () => {
    const prefix = `cronkill`;
    const producer = await startTestScheduler(db, { prefix, shardCount: 2 });
    const { nextScheduleTimeMs: first = 0 } = await producer.cron.upsert({
      id: "killed",
      timing: { schedules: ["* * * * * *"] },
      catchUp: "All",
      task: { topic: "killed" },
    });
    const shard = producer.cron.shardOf("killed");
    await producer.stop();

    for (let round = 0; round < 8; round += 1) {
      const child = await startReplicaProcess({
        DDQ_REDIS_URL: db.url,
        DDQ_PREFIX: prefix,
        DDQ_SHARDS: "2",
        DDQ_IDENTITY: `cron-replica-${round}`,
        DDQ_LEASE_TIMING: "1000,700,200",
      });
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 1200)));
      await kill9(child);
    }
    const key = `${prefix}:{${shard}}:cron:killed`;
    const [runs = "0", missed = "0", next = "0"] = await db.client.hmget(
      key,
      "runs",
      "missed",
      "next",
    );
    const ids = await occurrencesOf(prefix, shard, "killed");
    const slots = ids.map((id) => parseOccurrenceId(id)?.slotMs ?? 0);
    expect(new Set(slots).size).toBe(slots.length);
    expect(ids.length).toBe(Number(runs));
    expect(Number(runs)).toBeGreaterThan(5);
    // catchUp All (burst 10): after each crash the overdue slots run; none is unaccounted for.
    expect(Number(runs) + Number(missed)).toBe((Number(next) - first) / 1000);
    expect(slots.every((s) => s >= first && s < Number(next) && s % 1000 === 0)).toBe(true);
  }, 120_000);
});
