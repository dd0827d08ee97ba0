/**
 * Deleting one dead task, and the races of the task changes on a real redis-server: a reschedule
 * against the firing loop, run-now against a leadership change, delete against requeue.
 */
import { isDdqError } from "../../scheduler/engine/errors.js";
import { ShardKeys } from "../../scheduler/engine/keys.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Scheduler } from "../../scheduler/scheduler.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { startTestScheduler } from "./support.js";
import * as support from "./taskChangeSupport.js";

let db: RedisDatabase;
let scheduler: Scheduler;
const { HOUR, expectError } = support;
const eventTypes = (id: string): Promise<string[]> => support.eventTypes(scheduler, id);
const counters = (topic: string): Promise<Record<string, number>> =>
  support.counters(scheduler, db, topic);
const deadTask = (topic: string): Promise<string> => support.deadTask(scheduler, topic);

beforeAll(async () => {
  db = await useFreshRedisDatabase();
});
afterAll(async () => {
  await db.close();
});
afterEach(async () => {
  await scheduler.stop();
});

describe("deleting one dead task", () => {
  it("deletes it with its counts and a purged event; a resend answers deleted=false", async () => {
    scheduler = await startTestScheduler(db);
    const id = await deadTask("dd");
    const other = await deadTask("dd");
    expect(await counters("dd")).toMatchObject({ dead: 2 });
    expect(await scheduler.changes.deleteDead(id)).toEqual({ deleted: true });
    expect(await scheduler.changes.deleteDead(id)).toEqual({ deleted: false });
    await expectError(scheduler.get(id), "NOT_FOUND");
    expect((await scheduler.get(other)).state).toBe("dead");
    expect(await counters("dd")).toMatchObject({ dead: 1 });
    expect((await eventTypes(id)).at(-1)).toBe("purged");
    // Not dead: refused, whether the task has a hash or is still pending.
    const { task } = await scheduler.enqueue({ topic: "dd", due: { delayMs: HOUR } });
    expect(await expectError(scheduler.changes.deleteDead(task.id), "FAILED_PRECONDITION")).toBe(
      `task ${task.id} is scheduled, not dead`,
    );
    await scheduler.requeueDead(other);
    expect(await expectError(scheduler.changes.deleteDead(other), "FAILED_PRECONDITION")).toBe(
      `task ${other} is ready, not dead`,
    );
  });

  it("against a concurrent requeue: exactly one wins, counts stay exact", async () => {
    scheduler = await startTestScheduler(db);
    const ids: string[] = [];
    for (let i = 0; i < 30; i += 1) ids.push(await deadTask("dr"));
    const outcomes = await Promise.all(
      ids.map(async (id) => {
        const [deleted, requeued] = await Promise.allSettled([
          scheduler.changes.deleteDead(id),
          scheduler.requeueDead(id),
        ]);
        return { id, deleted, requeued };
      }),
    );
    let requeuedCount = 0;
    for (const { id, deleted, requeued } of outcomes) {
      if (deleted.status === "fulfilled") {
        expect(deleted.value.deleted).toBe(true);
        expect(requeued.status).toBe("rejected");
        if (requeued.status === "rejected")
          expect(isDdqError(requeued.reason, "NOT_FOUND")).toBe(true);
        await expectError(scheduler.get(id), "NOT_FOUND");
      } else {
        expect(isDdqError(deleted.reason, "FAILED_PRECONDITION")).toBe(true);
        expect(requeued.status).toBe("fulfilled");
        expect((await scheduler.get(id)).state).toBe("ready");
        requeuedCount += 1;
      }
    }
    expect(await counters("dr")).toMatchObject({ dead: 0, ready: requeuedCount });
  });
});

describe("races", () => {
  it("a reschedule racing the firing loop: each task fires or is rescheduled, never both, never lost", async () => {
    scheduler = await startTestScheduler(db);
    const n = 200;
    const start = Date.now();
    const created = await scheduler.enqueueBatch(
      Array.from({ length: n }, (_, i) => ({ topic: "race", due: { atMs: start + 400 + i * 5 } })),
    );
    const ids = created.map((r) => r.task.id);
    // Start rescheduling once the first ones have fired, while the loop fires the rest as they
    // come due.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, start + 700 - Date.now())));
    const target = Date.now() + HOUR;
    const results = await Promise.allSettled(
      ids.map((id) => scheduler.changes.reschedule(id, { atMs: target })),
    );
    let rescheduled = 0;
    for (const [i, result] of results.entries()) {
      const id = ids[i] ?? "";
      const task = await scheduler.get(id);
      const events = await eventTypes(id);
      if (result.status === "fulfilled") {
        rescheduled += 1;
        expect(task).toMatchObject({ state: "scheduled", dueAtMs: target });
        expect(events).toEqual(["scheduled", "rescheduled"]);
      } else {
        expect(isDdqError(result.reason, "FAILED_PRECONDITION")).toBe(true);
        expect(task.state).toBe("ready");
        expect(events).toEqual(["scheduled", "ready"]);
      }
    }
    expect(await counters("race")).toMatchObject({
      scheduled: rescheduled,
      ready: n - rescheduled,
      leased: 0,
    });
    // None of the rescheduled fires now; all the others are leasable.
    const leased = await scheduler.lease({ topics: ["race"], max: n });
    expect(leased.length).toBe(n - rescheduled);
  });

  it("run now during a leadership change: applied by the leader holding the epoch, or refused unchanged", async () => {
    const prefix = `fence${Date.now()}`;
    scheduler = await startTestScheduler(db, { prefix, shardCount: 1 });
    const created = await scheduler.enqueueBatch(
      Array.from({ length: 100 }, () => ({ topic: "fence", due: { delayMs: HOUR } })),
    );
    const ids = created.map((r) => r.task.id);
    const epochKey = new ShardKeys(prefix, 0).epoch;
    // A new leader's epoch lands in the middle of the run-now calls (the old leader cannot know).
    const calls = ids.map((id, i) =>
      i === 50
        ? db.client.incr(epochKey).then(() => scheduler.changes.runNow(id))
        : scheduler.changes.runNow(id),
    );
    const results = await Promise.allSettled(calls);
    let applied = 0;
    for (const [i, result] of results.entries()) {
      const task = await scheduler.get(ids[i] ?? "");
      if (result.status === "fulfilled") {
        applied += 1;
        expect(task.state).toBe("ready");
      } else {
        expect(isDdqError(result.reason, "NOT_LEADER")).toBe(true);
        expect(task.state).toBe("scheduled");
      }
    }
    expect(applied).toBeLessThan(ids.length);
    expect(await counters("fence")).toMatchObject({
      ready: applied,
      scheduled: ids.length - applied,
    });
    const readyEvents = (await scheduler.readEvents(0)).filter((e) => e.type === "ready");
    expect(readyEvents.length).toBe(applied);
  });
});
