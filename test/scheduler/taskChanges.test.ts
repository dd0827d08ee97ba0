/**
 * Changes to a task not delivered yet (reschedule, run now, set priority) on a real redis-server:
 * the transitions, their idempotency (also when a script runs twice), the refused states, and the
 * exact counters fire relies on.
 */
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

describe("reschedule, run now and priority of a task not delivered yet", () => {
  it("reschedules a never-leased task later and earlier; it fires at its new time only", async () => {
    scheduler = await startTestScheduler(db);
    const { task } = await scheduler.enqueue({ topic: "rs", due: { delayMs: HOUR } });
    const later = task.dueAtMs + HOUR;
    const moved = await scheduler.changes.reschedule(task.id, { atMs: later });
    expect(moved).toMatchObject({ changed: true, state: "scheduled", dueAtMs: later });
    expect((await scheduler.get(task.id)).dueAtMs).toBe(later);
    // A resend of the same absolute due time changes nothing and records nothing.
    expect(await scheduler.changes.reschedule(task.id, { atMs: later })).toMatchObject({
      changed: false,
      state: "scheduled",
    });
    // Earlier: 300 ms from now by the Redis clock; the firing loop is woken for it.
    const soon = await scheduler.changes.reschedule(task.id, { delayMs: 300 });
    expect(soon.state).toBe("scheduled");
    const [leased] = await scheduler.lease({ topics: ["rs"], max: 1, waitMs: 10_000 });
    expect(leased?.id).toBe(task.id);
    expect(leased?.attempt).toBe(1);
    expect(await eventTypes(task.id)).toEqual([
      "scheduled",
      "rescheduled",
      "rescheduled",
      "ready",
      "leased",
    ]);
    expect(await counters("rs")).toMatchObject({ scheduled: 0, ready: 0, leased: 1 });
  });

  it("a due time that has come makes a scheduled task ready now; a ready task stays as it is", async () => {
    scheduler = await startTestScheduler(db);
    const { task } = await scheduler.enqueue({ topic: "rp", due: { delayMs: HOUR } });
    const now = await scheduler.changes.reschedule(task.id, { atMs: 1_000 });
    expect(now).toMatchObject({ changed: true, state: "ready", dueAtMs: 1_000 });
    expect((await scheduler.get(task.id)).state).toBe("ready");
    // Resent: still a due time that has come, and the task is ready: nothing to do.
    expect(await scheduler.changes.reschedule(task.id, { atMs: 1_000 })).toMatchObject({
      changed: false,
      state: "ready",
    });
    // A ready task has fired: it cannot go back to waiting.
    const message = await expectError(
      scheduler.changes.reschedule(task.id, { delayMs: HOUR }),
      "FAILED_PRECONDITION",
    );
    expect(message).toContain("is ready");
    expect(await counters("rp")).toMatchObject({ scheduled: 0, ready: 1 });
    const [leased] = await scheduler.lease({ topics: ["rp"], max: 1 });
    expect(leased?.id).toBe(task.id);
  });

  it("runs a scheduled task now, once: a long-polling lease wakes for it", async () => {
    scheduler = await startTestScheduler(db);
    const { task } = await scheduler.enqueue({ topic: "rn", due: { delayMs: HOUR }, priority: 5 });
    // The queue is known to be empty to this replica: run-now must tell the lease waiters.
    expect(await scheduler.lease({ topics: ["rn"], max: 1 })).toEqual([]);
    const waiting = scheduler.lease({ topics: ["rn"], max: 1, waitMs: 20_000 });
    const before = Date.now();
    const ran = await scheduler.changes.runNow(task.id);
    expect(ran).toMatchObject({ changed: true, state: "ready", priority: 5 });
    expect(Math.abs(ran.dueAtMs - before)).toBeLessThan(5_000);
    const [leased] = await waiting;
    expect(leased?.id).toBe(task.id);
    await expectError(scheduler.changes.runNow(task.id), "FAILED_PRECONDITION");
    expect(await eventTypes(task.id)).toEqual(["scheduled", "ready", "leased"]);
    // The prioritized counter followed the task out of the scheduled set.
    expect(await counters("rn")).toMatchObject({ scheduled: 0, ready: 0, prioritized: 0 });
  });

  it("run now of a task waiting for a retry keeps its attempt count and the retries counter exact", async () => {
    scheduler = await startTestScheduler(db);
    const { task } = await scheduler.enqueue({
      topic: "rr",
      maxAttempts: 3,
      backoff: { kind: "fixed", delayMs: HOUR },
    });
    const [first] = await scheduler.lease({ topics: ["rr"], max: 1, waitMs: 5_000 });
    const failed = await scheduler.fail(task.id, "rr", first?.leaseToken ?? "", "try again");
    expect(failed.outcome).toBe("retrying");
    expect(await counters("rr")).toMatchObject({ scheduled: 1, retries: 1 });
    // Waiting for its retry is "not fired yet": it can be rescheduled and run now.
    const moved = await scheduler.changes.reschedule(task.id, { delayMs: 2 * HOUR });
    expect(moved).toMatchObject({ changed: true, state: "scheduled" });
    expect((await scheduler.get(task.id)).dueAtMs).toBe(moved.dueAtMs);
    expect((await scheduler.changes.runNow(task.id)).state).toBe("ready");
    expect(await counters("rr")).toMatchObject({ scheduled: 0, ready: 1, retries: 0 });
    const [second] = await scheduler.lease({ topics: ["rr"], max: 1 });
    expect(second).toMatchObject({ id: task.id, attempt: 2 });
  });

  it("changes priority of ready and scheduled tasks: lease order follows, counters stay exact", async () => {
    scheduler = await startTestScheduler(db, { shardCount: 1 });
    const [a, b] = await scheduler.enqueueBatch([{ topic: "pr" }, { topic: "pr" }]);
    const idA = a?.task.id ?? "";
    const idB = b?.task.id ?? "";
    const raised = await scheduler.changes.setPriority(idB, 7);
    expect(raised).toMatchObject({ changed: true, state: "ready", priority: 7 });
    expect((await scheduler.get(idB)).priority).toBe(7);
    expect(await scheduler.changes.setPriority(idB, 7)).toMatchObject({ changed: false });
    const leased = await scheduler.lease({ topics: ["pr"], max: 2 });
    expect(leased.map((t) => t.id)).toEqual([idB, idA]);

    // Scheduled: the prioritized counter (fire reads records only when it is not 0) follows.
    const { task: c } = await scheduler.enqueue({ topic: "pq", due: { delayMs: HOUR } });
    const { task: d } = await scheduler.enqueue({ topic: "pq", due: { delayMs: HOUR } });
    await scheduler.changes.setPriority(d.id, 3);
    expect(await counters("pq")).toMatchObject({ scheduled: 2, prioritized: 1 });
    await scheduler.changes.setPriority(d.id, 0);
    expect(await counters("pq")).toMatchObject({ prioritized: 0 });
    await scheduler.changes.setPriority(d.id, 9);
    // Both fire at once (the same due time): the prioritized one leases first.
    const due = c.dueAtMs + 1;
    await scheduler.changes.reschedule(c.id, { atMs: due });
    await scheduler.changes.reschedule(d.id, { atMs: due });
    await scheduler.changes.reschedule(c.id, { atMs: 1 });
    await scheduler.changes.reschedule(d.id, { atMs: 1 });
    expect((await scheduler.lease({ topics: ["pq"], max: 2 })).map((t) => t.id)).toEqual([
      d.id,
      c.id,
    ]);
    expect(await counters("pq")).toMatchObject({ scheduled: 0, ready: 0, prioritized: 0 });
    expect(await eventTypes(d.id)).toContain("priority_changed");
  });

  it("refuses leased and finished tasks, unknown ids and bad input", async () => {
    scheduler = await startTestScheduler(db);
    const { task } = await scheduler.enqueue({ topic: "rf" });
    const [leased] = await scheduler.lease({ topics: ["rf"], max: 1, waitMs: 5_000 });
    for (const change of [
      () => scheduler.changes.runNow(task.id),
      () => scheduler.changes.reschedule(task.id, { delayMs: 1_000 }),
      () => scheduler.changes.setPriority(task.id, 1),
    ]) {
      expect(await expectError(change(), "FAILED_PRECONDITION")).toContain("is leased");
    }
    await scheduler.ack(task.id, "rf", leased?.leaseToken ?? "");
    expect(await expectError(scheduler.changes.runNow(task.id), "FAILED_PRECONDITION")).toContain(
      "is succeeded",
    );
    const dead = await deadTask("rf");
    expect(await expectError(scheduler.changes.runNow(dead), "FAILED_PRECONDITION")).toContain(
      "is dead",
    );
    const { task: cancelled } = await scheduler.enqueue({ topic: "rf", due: { delayMs: HOUR } });
    await scheduler.cancel(cancelled.id);
    await expectError(scheduler.changes.setPriority(cancelled.id, 2), "FAILED_PRECONDITION");

    const unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV-1";
    await expectError(scheduler.changes.runNow(unknown), "NOT_FOUND");
    await expectError(scheduler.changes.reschedule(unknown, { delayMs: 1 }), "NOT_FOUND");
    await expectError(scheduler.changes.setPriority(unknown, 1), "NOT_FOUND");
    await expectError(scheduler.changes.deleteDead(unknown), "NOT_FOUND");
    await expectError(scheduler.changes.runNow("nope"), "INVALID_ARGUMENT", "id");
    await expectError(scheduler.changes.deleteDead("x-99"), "INVALID_ARGUMENT", "id");
    const { task: waiting } = await scheduler.enqueue({ topic: "rf", due: { delayMs: HOUR } });
    await expectError(
      scheduler.changes.setPriority(waiting.id, 1001),
      "INVALID_ARGUMENT",
      "priority",
    );
    await expectError(
      scheduler.changes.setPriority(waiting.id, 1.5),
      "INVALID_ARGUMENT",
      "priority",
    );
    await expectError(
      scheduler.changes.reschedule(waiting.id, { delayMs: -1 }),
      "INVALID_ARGUMENT",
      "due.delayMs",
    );
    await expectError(
      scheduler.changes.reschedule(waiting.id, { atMs: Date.now() + 800 * 24 * HOUR }),
      "INVALID_ARGUMENT",
      "due.atMs",
    );
    expect((await scheduler.get(waiting.id)).dueAtMs).toBe(waiting.dueAtMs);
  });
});

describe("scripts run twice with the same arguments (a resend)", () => {
  it("apply once: changeWaiting and deleteDead", async () => {
    scheduler = await startTestScheduler(db);
    const { task } = await scheduler.enqueue({ topic: "twice", due: { delayMs: HOUR } });
    const at = { atMs: task.dueAtMs + HOUR };
    const moved = await Promise.all([
      scheduler.changes.reschedule(task.id, at),
      scheduler.changes.reschedule(task.id, at),
    ]);
    expect(moved.map((r) => r.changed).sort()).toEqual([false, true]);
    const prioritized = await Promise.all([
      scheduler.changes.setPriority(task.id, 4),
      scheduler.changes.setPriority(task.id, 4),
    ]);
    expect(prioritized.map((r) => r.changed).sort()).toEqual([false, true]);
    const ran = await Promise.all([
      scheduler.changes.runNow(task.id),
      scheduler.changes.runNow(task.id),
    ]);
    expect(ran.map((r) => r.changed).sort()).toEqual([false, true]);
    expect(await counters("twice")).toMatchObject({ scheduled: 0, ready: 1, prioritized: 0 });
    expect(await eventTypes(task.id)).toEqual([
      "scheduled",
      "rescheduled",
      "priority_changed",
      "ready",
    ]);
    const dead = await deadTask("twice.dead");
    const deleted = await Promise.all([
      scheduler.changes.deleteDead(dead),
      scheduler.changes.deleteDead(dead),
    ]);
    expect(deleted.map((r) => r.deleted).sort()).toEqual([false, true]);
    expect(await counters("twice.dead")).toMatchObject({ dead: 0 });
  });
});
