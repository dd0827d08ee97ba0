import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ShardKeys } from "../../scheduler/engine/keys.js";
import { DEFAULT_LIMITS } from "../../scheduler/engine/model.js";
import { ScriptRunner } from "../../scheduler/engine/scripts.js";
import { ShardEngine } from "../../scheduler/engine/shardEngine.js";
import { parseOccurrenceId } from "../../scheduler/engine/taskId.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import type { Scheduler } from "../../scheduler/scheduler.js";
import { startTestScheduler } from "../scheduler/support.js";

let db: RedisDatabase;
beforeAll(async () => {
  db = await useFreshRedisDatabase();
});
afterAll(async () => {
  await db.close();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The scheduler plans a schedule's next fire from what its previous fire left (it does not read
 * the schedule back before every fire). That is only a hint: an edit it did not see must make
 * the plan stale, and the schedule must go on from the edited spec, one occurrence per slot.
 */
describe("remembered fire state", () => {
  it("an occurrence made from the stored task template is the task a full plan makes", async () => {
    const scheduler = await startTestScheduler(db, { prefix: "crontmpl", shardCount: 2 });
    try {
      await scheduler.cron.upsert({
        id: "tmpl",
        timing: { schedules: ["* * * * * *"] },
        task: {
          topic: "tmpl",
          payload: Buffer.from([0x61, 0x0a, 0x00, 0xff, 0x0a, 0x62]),
          priority: 5,
          maxAttempts: 7,
          backoff: { kind: "fixed", delayMs: 1_500 },
          leaseTimeoutMs: 12_345,
          traceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        },
      });
      // A manual trigger sends the whole task (no template); a slot's fire uses the template.
      const { occurrenceId: manualId } = await scheduler.cron.trigger("tmpl");
      const leased = await scheduler.lease({ topics: ["tmpl"], max: 10, waitMs: 30_000 });
      let slotId = leased.find((t) => parseOccurrenceId(t.id)?.manual === false)?.id;
      if (slotId === undefined) {
        const more = await scheduler.lease({ topics: ["tmpl"], max: 10, waitMs: 30_000 });
        slotId = more.find((t) => parseOccurrenceId(t.id)?.manual === false)?.id;
      }
      expect(slotId).toBeDefined();
      const pick = (t: Awaited<ReturnType<Scheduler["get"]>>) => ({
        topic: t.topic,
        payload: Buffer.from(t.payload).toString("hex"),
        priority: t.priority,
        maxAttempts: t.maxAttempts,
        backoff: t.backoff,
        leaseTimeoutMs: t.leaseTimeoutMs,
        traceParent: t.traceParent,
        owner: t.owner,
        idempotencyKey: t.idempotencyKey,
      });
      const fromTemplate = pick(await scheduler.get(slotId ?? ""));
      expect(fromTemplate).toEqual(pick(await scheduler.get(manualId)));
      expect(fromTemplate).toMatchObject({ payload: "610a00ff0a62", priority: 5, maxAttempts: 7 });
    } finally {
      await scheduler.stop();
    }
  });

  it("an edit made behind the scheduler's back is picked up, with no slot doubled or lost", async () => {
    const prefix = "cronhint";
    const scheduler = await startTestScheduler(db, { prefix, shardCount: 1 });
    const redis = new Redis(db.url);
    try {
      const { nextScheduleTimeMs: first = 0 } = await scheduler.cron.upsert({
        id: "hint",
        timing: { schedules: ["* * * * * *"] },
        task: { topic: "hint", payload: Buffer.from("old") },
      });
      await sleep(2_500); // a few fires: the scheduler now remembers the schedule's state
      const keys = new ShardKeys(prefix, 0);
      const engine = new ShardEngine(
        new ScriptRunner(redis),
        keys,
        String(await redis.get(keys.epoch)),
        {
          maxHorizonMs: DEFAULT_LIMITS.maxHorizonMs,
          eventsMaxLen: 1000,
          idempotencyRetentionMs: 60_000,
          finishedRetentionMs: 60_000,
          leaseRequestRetentionMs: 60_000,
        },
      );
      // Another replica's edit (new payload), through the script, bypassing this scheduler.
      let editedGeneration = "";
      for (let attempt = 0; attempt < 10 && editedGeneration === ""; attempt += 1) {
        const [gen, next, fireAt] = await redis.hmget(keys.cron("hint"), "gen", "next", "fireAt");
        const result = await engine.cronUpsert({
          scheduleId: "hint",
          expectedGeneration: gen ?? "",
          expectedNext: next ?? "",
          specJson: JSON.stringify({
            id: "hint",
            timing: { schedules: ["* * * * * *"] },
            task: { topic: "hint", payloadBase64: Buffer.from("new").toString("base64") },
          }),
          nextSlotMs: Number(next),
          fireAtMs: Number(fireAt),
          suspended: false,
          successfulHistoryLimit: 3,
          failedHistoryLimit: 1,
          missedHistoryLimit: 10,
        });
        if (!result.stale) editedGeneration = result.generation;
      }
      expect(editedGeneration).not.toBe("");
      // As an older version's upsert would leave it: a template of an earlier generation. It must
      // not be used for the edited spec.
      await redis.hset(keys.cron("hint"), "task", "0\n1\nf:0\n1000\n\n\n\nstale", "taskPrio", "0");
      await redis.hset(keys.cron("hint"), "taskGen", Number(editedGeneration) - 1);
      await sleep(2_500);

      const status = await scheduler.cron.get("hint");
      expect(String(status.generation)).toBe(editedGeneration);
      const pending = await redis.hgetall(keys.pending);
      const occurrences = Object.entries(pending)
        .filter(([id]) => id.startsWith("hint:"))
        .map(([id, record]) => ({
          slot: parseOccurrenceId(id)?.slotMs ?? 0,
          payload: record.split("\n").slice(9).join("\n"),
        }))
        .sort((a, b) => a.slot - b.slot);
      // One occurrence per slot, every slot from the first on, none missed.
      expect(occurrences.length).toBe(status.runs);
      expect(status.missed).toBe(0);
      expect(occurrences.map((o) => o.slot)).toEqual(occurrences.map((_, i) => first + i * 1000));
      // The old spec up to the edit, the new one after it.
      const payloads = occurrences.map((o) => o.payload);
      const switchAt = payloads.indexOf("new");
      expect(switchAt).toBeGreaterThan(0);
      expect(payloads.slice(0, switchAt).every((p) => p === "old")).toBe(true);
      expect(payloads.slice(switchAt).every((p) => p === "new")).toBe(true);
      expect(payloads.length - switchAt).toBeGreaterThanOrEqual(2);
    } finally {
      redis.disconnect();
      await scheduler.stop();
    }
  });
});
