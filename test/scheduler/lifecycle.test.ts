import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Scheduler } from "../../scheduler/scheduler.js";
import { backoffDelayMs } from "../../scheduler/engine/backoffCodec.js";
import { isDdqError } from "../../scheduler/engine/errors.js";
import { ShardKeys } from "../../scheduler/engine/keys.js";
import { ScriptRunner } from "../../scheduler/engine/scripts.js";
import { ShardEngine } from "../../scheduler/engine/shardEngine.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { bytes, startTestScheduler, text } from "./support.js";

let db: RedisDatabase;
let scheduler: Scheduler;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
});
afterAll(async () => {
  await db.close();
});
afterEach(async () => {
  await scheduler.stop();
});

async function eventTypes(taskId: string): Promise<string[]> {
  const shard = Number(taskId.split("-")[1]);
  return (await scheduler.readEvents(shard)).filter((e) => e.taskId === taskId).map((e) => e.type);
}

describe("task lifecycle on a real redis-server", () => {
  it("fires a delayed task at its due time, leases it, and records success", async () => {
    scheduler = await startTestScheduler(db);
    const { task, created } = await scheduler.enqueue({
      topic: "orders",
      payload: bytes("cancel #42"),
      due: { delayMs: 300 },
    });
    expect(created).toBe(true);
    expect(task.state).toBe("scheduled");

    expect(await scheduler.lease({ topics: ["orders"], max: 1 })).toEqual([]);
    const [leased] = await scheduler.lease({ topics: ["orders"], max: 1, waitMs: 30_000 });
    expect(leased?.id).toBe(task.id);
    expect(text(leased?.payload ?? new Uint8Array())).toBe("cancel #42");
    expect(leased?.attempt).toBe(1);
    const got = await scheduler.get(task.id);
    expect(got.state).toBe("leased");
    expect(Math.abs(got.createdAtMs - (task.dueAtMs - 300))).toBeLessThan(1_000);
    // Fired by the leader's timer, not early (server clock decides: due time <= fire time).
    expect((leased?.leaseExpiresAtMs ?? 0) - got.leaseTimeoutMs).toBeGreaterThanOrEqual(
      task.dueAtMs,
    );

    await scheduler.ack(task.id, "orders", leased?.leaseToken ?? "", bytes("done"));
    const finished = await scheduler.get(task.id);
    expect(finished.state).toBe("succeeded");
    expect(text(finished.result ?? new Uint8Array())).toBe("done");
    expect(await eventTypes(task.id)).toEqual(["scheduled", "ready", "leased", "succeeded"]);
    expect((await scheduler.counts("orders")).get("orders")).toMatchObject({
      scheduled: 0,
      ready: 0,
      leased: 0,
      succeeded: 1,
    });
  });

  it("leases higher priority first, then earlier due time", async () => {
    scheduler = await startTestScheduler(db, { shardCount: 1 });
    const now = Date.now() - 1_000;
    const low = await scheduler.enqueue({ topic: "p", due: { atMs: now - 10 }, priority: 0 });
    const highLate = await scheduler.enqueue({ topic: "p", due: { atMs: now }, priority: 10 });
    const highEarly = await scheduler.enqueue({ topic: "p", due: { atMs: now - 5 }, priority: 10 });
    const leased = await scheduler.lease({ topics: ["p"], max: 3 });
    expect(leased.map((t) => t.id)).toEqual([highEarly.task.id, highLate.task.id, low.task.id]);
  });

  it("orders fired tasks by priority (the topic's prioritized counter makes fire read them)", async () => {
    scheduler = await startTestScheduler(db, { shardCount: 1 });
    const atMs = Date.now() + 300;
    const [low, high, mid] = await scheduler.enqueueBatch([
      { topic: "pfire", due: { atMs }, priority: 0 },
      { topic: "pfire", due: { atMs }, priority: 9 },
      { topic: "pfire", due: { atMs }, priority: 5 },
    ]);
    const counts = `${scheduler.prefix}:{0}:counts`;
    expect(await db.client.hget(counts, "pfire|prioritized")).toBe("2");
    await waitFor(
      async () => (await db.client.zcard(`${scheduler.prefix}:{0}:ready:pfire`)) === 3,
      {
        description: "all three to fire",
      },
    );
    const leased = await scheduler.lease({ topics: ["pfire"], max: 3 });
    expect(leased.map((t) => t.id)).toEqual([high?.task.id, mid?.task.id, low?.task.id]);
    expect(await db.client.hget(counts, "pfire|prioritized")).toBe("0");
  });

  it("numbers events per stream entry, so a reader can resume in the middle of one", async () => {
    scheduler = await startTestScheduler(db, { shardCount: 1 });
    const created = await scheduler.enqueueBatch([
      { topic: "ev" },
      { topic: "ev" },
      { topic: "ev" },
    ]);
    const events = (await scheduler.readEvents(0)).filter((e) => e.topic === "ev");
    expect(events.map((e) => e.taskId)).toEqual(created.map((r) => r.task.id));
    const entry = events[0]?.eventId.split(".")[0] ?? "";
    expect(events.map((e) => e.eventId)).toEqual([`${entry}.0`, `${entry}.1`, `${entry}.2`]);
    const resumed = await scheduler.readEvents(0, `${entry}.0`);
    expect(resumed.map((e) => e.eventId).slice(0, 2)).toEqual([`${entry}.1`, `${entry}.2`]);
    expect(
      (await scheduler.readEvents(0, `${entry}.2`)).some((e) => e.eventId.startsWith(`${entry}.`)),
    ).toBe(false);
  });

  it("retries with backoff, dead-letters after max attempts, and requeues and purges the dead", async () => {
    scheduler = await startTestScheduler(db);
    const { task } = await scheduler.enqueue({
      topic: "flaky",
      maxAttempts: 2,
      backoff: { kind: "fixed", delayMs: 200 },
    });
    const [first] = await scheduler.lease({ topics: ["flaky"], max: 1 });
    const retry = await scheduler.fail(task.id, "flaky", first?.leaseToken ?? "", "boom 1");
    expect(retry.outcome).toBe("retrying");
    const scheduled = await scheduler.get(task.id);
    expect(scheduled.state).toBe("scheduled");
    expect(scheduled.lastError).toBe("boom 1");

    const [second] = await scheduler.lease({ topics: ["flaky"], max: 1, waitMs: 30_000 });
    expect(second?.attempt).toBe(2);
    expect(second?.leaseToken).not.toBe(first?.leaseToken);
    expect(
      (await scheduler.fail(task.id, "flaky", second?.leaseToken ?? "", "boom 2")).outcome,
    ).toBe("dead");
    expect(
      (await scheduler.list({ state: "dead", topic: "flaky" })).tasks.map((t) => t.id),
    ).toEqual([task.id]);
    expect(await eventTypes(task.id)).toEqual([
      "ready",
      "leased",
      "retrying",
      "ready",
      "leased",
      "dead",
    ]);
    const shardEvents = await scheduler.readEvents(Number(task.id.split("-")[1]));
    // The retry fired from the scheduled set with its attempt count read from its record.
    expect(shardEvents.filter((e) => e.taskId === task.id).map((e) => e.attempt)).toEqual([
      0, 1, 1, 1, 2, 2,
    ]);

    await scheduler.requeueDead(task.id);
    const [third] = await scheduler.lease({ topics: ["flaky"], max: 1 });
    expect(third?.attempt).toBe(1);
    expect(
      (await scheduler.fail(task.id, "flaky", third?.leaseToken ?? "", "fatal", false)).outcome,
    ).toBe("dead");
    expect(await scheduler.purgeDead({ topic: "flaky" })).toBe(1);
    await expect(scheduler.get(task.id)).rejects.toSatisfy((e) => isDdqError(e, "NOT_FOUND"));
  });

  it("computes exponential backoff with jitter and cap in Redis, as backoffDelayMs does", async () => {
    scheduler = await startTestScheduler(db);
    const policy = { kind: "exponential", initialMs: 10_000, maxMs: 25_000, jitter: 0.5 } as const;
    for (const attempt of [1, 2, 3, 4]) {
      const { task } = await scheduler.enqueue({
        topic: `exp${attempt}`,
        maxAttempts: 10,
        backoff: policy,
      });
      const [leased] = await scheduler.lease({ topics: [`exp${attempt}`], max: 1 });
      // Pretend this lease is delivery number `attempt` (the record exists once leased).
      await db.client.hset(
        `${scheduler.prefix}:{${task.id.split("-")[1]}}:t:${task.id}`,
        "at",
        attempt,
      );
      const before = Date.now();
      const outcome = await scheduler.fail(task.id, `exp${attempt}`, leased?.leaseToken ?? "", "x");
      const after = Date.now();
      if (outcome.outcome !== "retrying") throw new Error("expected a retry");
      // Jitter draws u in [0, 1): the delay lies between the u -> 1 and u = 0 values.
      expect(outcome.retryAtMs - after).toBeGreaterThanOrEqual(
        backoffDelayMs(policy, attempt, 1) - 50,
      );
      expect(outcome.retryAtMs - before).toBeLessThanOrEqual(
        backoffDelayMs(policy, attempt, 0) + 50,
      );
    }
    expect(backoffDelayMs(policy, 3, 0)).toBe(25_000); // 40 s capped at 25 s
  });

  it("fails with a tiny backoff jitter without losing the task (no exponent notation reaches Lua)", async () => {
    scheduler = await startTestScheduler(db);
    const { task } = await scheduler.enqueue({
      topic: "tiny",
      backoff: { kind: "exponential", initialMs: 1_000, maxMs: 5_000, jitter: 1e-7 },
    });
    const [leased] = await scheduler.lease({ topics: ["tiny"], max: 1 });
    expect((await scheduler.fail(task.id, "tiny", leased?.leaseToken ?? "", "x")).outcome).toBe(
      "retrying",
    );
    expect((await scheduler.get(task.id)).state).toBe("scheduled");
  });

  it("purges the dead of one topic even behind more than a page of other topics' dead", async () => {
    scheduler = await startTestScheduler(db, { shardCount: 1 });
    const many = await scheduler.enqueueBatch(
      Array.from({ length: 1_001 }, () => ({ topic: "dead-a", maxAttempts: 1 })),
    );
    const leasedA = await scheduler.lease({ topics: ["dead-a"], max: 1_001 });
    for (const t of leasedA) await scheduler.fail(t.id, "dead-a", t.leaseToken, "x", false);
    const { task } = await scheduler.enqueue({ topic: "dead-b", maxAttempts: 1 });
    const [leasedB] = await scheduler.lease({ topics: ["dead-b"], max: 1 });
    await scheduler.fail(task.id, "dead-b", leasedB?.leaseToken ?? "", "x", false);
    expect(many).toHaveLength(1_001);
    expect(await scheduler.purgeDead({ topic: "dead-b" })).toBe(1);
    expect((await scheduler.counts("dead-a")).get("dead-a")?.dead).toBe(1_001);
  });

  it("redelivers a task whose lease expired, with attempt + 1, and rejects the old holder", async () => {
    scheduler = await startTestScheduler(db);
    const { task } = await scheduler.enqueue({ topic: "crashy", leaseTimeoutMs: 300 });
    const [first] = await scheduler.lease({ topics: ["crashy"], max: 1 });
    // The worker "dies": no heartbeat, no ack. The leader's loop recovers the lease at expiry.
    const [second] = await scheduler.lease({ topics: ["crashy"], max: 1, waitMs: 30_000 });
    expect(second?.id).toBe(task.id);
    expect(second?.attempt).toBe((first?.attempt ?? 0) + 1);
    await expect(scheduler.ack(task.id, "crashy", first?.leaseToken ?? "")).rejects.toSatisfy(
      (e) => isDdqError(e, "FAILED_PRECONDITION") && e.field === "leaseToken",
    );
    await scheduler.ack(task.id, "crashy", second?.leaseToken ?? "");
    expect((await scheduler.get(task.id)).state).toBe("succeeded");
    expect(await eventTypes(task.id)).toEqual([
      "ready",
      "leased",
      "expired",
      "leased",
      "succeeded",
    ]);
  });

  it("acks a batch in one call, answering each item on its own", async () => {
    scheduler = await startTestScheduler(db, { shardCount: 1 });
    await scheduler.enqueueBatch([{ topic: "many" }, { topic: "many" }, { topic: "many" }]);
    const [a, b, c] = await scheduler.lease({ topics: ["many"], max: 3 });
    if (a === undefined || b === undefined || c === undefined) throw new Error("expected 3 leases");
    const answers = await scheduler.ackMany([
      { id: a.id, topic: "many", leaseToken: a.leaseToken },
      { id: b.id, topic: "many", leaseToken: "forged.1" },
      { id: "01KAKJ6Y0P4X8Z6W6E9B7M2N3Q-0", topic: "many", leaseToken: "x" },
      { id: c.id, topic: "many", leaseToken: c.leaseToken, result: bytes("r") },
    ]);
    expect(answers.map((e) => e?.code)).toEqual([
      undefined,
      "FAILED_PRECONDITION",
      "NOT_FOUND",
      undefined,
    ]);
    expect((await scheduler.get(a.id)).state).toBe("succeeded");
    expect((await scheduler.get(b.id)).state).toBe("leased");
    expect(text((await scheduler.get(c.id)).result ?? new Uint8Array())).toBe("r");
    expect((await scheduler.counts("many")).get("many")).toMatchObject({ leased: 1, succeeded: 2 });
  });

  it("carries the owner reference and trace context from enqueue to get and lease", async () => {
    scheduler = await startTestScheduler(db);
    const owner = { kind: "DelayedTask", namespace: "shop", name: "cancel-42", uid: "5f1c-uid" };
    const traceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const { task } = await scheduler.enqueue({ topic: "owned", owner, traceParent, priority: 7 });
    expect(await scheduler.get(task.id)).toMatchObject({ owner, traceParent, priority: 7 });
    const [leased] = await scheduler.lease({ topics: ["owned"], max: 1 });
    expect(leased).toMatchObject({ id: task.id, owner, traceParent });
  });

  it("keeps a never-run scheduled task in the pending hash with every field intact until it fires", async () => {
    scheduler = await startTestScheduler(db, { shardCount: 1 });
    const owner = { kind: "DelayedTask", namespace: "shop", name: 'n"x', uid: "u-1" };
    const traceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const payload = Buffer.from([0x0a, 0x00, 0xff, 0x0a, 0x41, 0x0a]); // newlines and binary
    const spec = {
      topic: "compact",
      payload,
      due: { delayMs: 400 },
      priority: 3,
      maxAttempts: 7,
      backoff: { kind: "fixed", delayMs: 250 } as const,
      leaseTimeoutMs: 4_000,
      idempotencyKey: "compact-1",
      owner,
      traceParent,
    };
    const { task } = await scheduler.enqueue(spec);
    const keys = `${scheduler.prefix}:{0}`;
    // No key of its own while pending: one field of the shard's pending hash.
    expect(await db.client.exists(`${keys}:t:${task.id}`)).toBe(0);
    expect(await db.client.hexists(`${keys}:pending`, task.id)).toBe(1);
    const pending = await scheduler.get(task.id);
    expect(pending).toMatchObject({
      state: "scheduled",
      priority: 3,
      maxAttempts: 7,
      backoff: spec.backoff,
      leaseTimeoutMs: 4_000,
      idempotencyKey: "compact-1",
      owner,
      traceParent,
      attempt: 0,
    });
    expect(Buffer.from(pending.payload)).toEqual(payload);
    // A resend of the same enqueue (same idempotency key) finds it in the pending hash.
    expect((await scheduler.enqueue(spec)).created).toBe(false);

    const [leased] = await scheduler.lease({ topics: ["compact"], max: 1, waitMs: 30_000 });
    expect(leased).toMatchObject({ id: task.id, owner, traceParent, attempt: 1, maxAttempts: 7 });
    expect(Buffer.from(leased?.payload ?? new Uint8Array())).toEqual(payload);
    expect((leased?.leaseExpiresAtMs ?? 0) - Date.now()).toBeGreaterThan(3_000);
    expect(await db.client.hexists(`${keys}:pending`, task.id)).toBe(0);
    expect(await scheduler.get(task.id)).toMatchObject({
      state: "leased",
      owner,
      traceParent,
      priority: 3,
    });
  });

  it("cancels a pending task and keeps it readable as cancelled", async () => {
    scheduler = await startTestScheduler(db);
    const { task } = await scheduler.enqueue({
      topic: "cancel-pending",
      payload: bytes("p"),
      due: { delayMs: 60_000 },
    });
    expect((await scheduler.cancel(task.id)).outcome).toBe("cancelled");
    const cancelled = await scheduler.get(task.id);
    expect(cancelled).toMatchObject({ state: "cancelled", topic: "cancel-pending" });
    expect(text(cancelled.payload)).toBe("p");
    expect((await scheduler.counts("cancel-pending")).get("cancel-pending")).toMatchObject({
      scheduled: 0,
      cancelled: 1,
    });
  });

  it("keeps a lease alive with heartbeats past its timeout", async () => {
    scheduler = await startTestScheduler(db);
    const { task } = await scheduler.enqueue({ topic: "slow", leaseTimeoutMs: 300 });
    const [leased] = await scheduler.lease({ topics: ["slow"], max: 1 });
    for (let i = 0; i < 4; i += 1) {
      await new Promise((r) => setTimeout(r, 150));
      await scheduler.extend(task.id, "slow", leased?.leaseToken ?? "", 300);
    }
    expect((await scheduler.get(task.id)).state).toBe("leased");
    await scheduler.ack(task.id, "slow", leased?.leaseToken ?? "");
  });

  it("cancels scheduled tasks at once and leased tasks by request", async () => {
    scheduler = await startTestScheduler(db);
    const later = await scheduler.enqueue({ topic: "c", due: { delayMs: 60_000 } });
    expect((await scheduler.cancel(later.task.id)).outcome).toBe("cancelled");
    expect((await scheduler.get(later.task.id)).state).toBe("cancelled");
    expect((await scheduler.cancel(later.task.id)).outcome).toBe("unchanged");

    const running = await scheduler.enqueue({ topic: "c" });
    const [leased] = await scheduler.lease({ topics: ["c"], max: 1 });
    expect((await scheduler.cancel(running.task.id)).outcome).toBe("requested");
    const beat = await scheduler.extend(running.task.id, "c", leased?.leaseToken ?? "", 1_000);
    expect(beat.cancelRequested).toBe(true);
    expect(
      (await scheduler.fail(running.task.id, "c", leased?.leaseToken ?? "", "stopped on request"))
        .outcome,
    ).toBe("cancelled");

    const done = await scheduler.enqueue({ topic: "c" });
    const [d] = await scheduler.lease({ topics: ["c"], max: 1 });
    await scheduler.ack(done.task.id, "c", d?.leaseToken ?? "");
    await expect(scheduler.cancel(done.task.id)).rejects.toSatisfy((e) =>
      isDdqError(e, "FAILED_PRECONDITION"),
    );
  });

  it("returns the existing task for a repeated idempotency key, and rejects a different payload", async () => {
    scheduler = await startTestScheduler(db);
    const first = await scheduler.enqueue({
      topic: "pay",
      payload: bytes("a"),
      idempotencyKey: "order-1",
      due: { delayMs: 60_000 },
    });
    const again = await scheduler.enqueue({
      topic: "pay",
      payload: bytes("a"),
      idempotencyKey: "order-1",
      due: { delayMs: 60_000 },
    });
    expect(again.created).toBe(false);
    expect(again.task.id).toBe(first.task.id);
    await expect(
      scheduler.enqueue({ topic: "pay", payload: bytes("b"), idempotencyKey: "order-1" }),
    ).rejects.toSatisfy((e) => isDdqError(e, "ALREADY_EXISTS") && e.field === "idempotencyKey");
    expect((await scheduler.counts("pay")).get("pay")?.scheduled).toBe(1);
  });

  it("forgets finished tasks after the retention period", async () => {
    scheduler = await startTestScheduler(db, { defaults: { finishedRetentionMs: 200 } });
    const { task } = await scheduler.enqueue({ topic: "r" });
    const [leased] = await scheduler.lease({ topics: ["r"], max: 1 });
    await scheduler.ack(task.id, "r", leased?.leaseToken ?? "");
    expect((await scheduler.get(task.id)).state).toBe("succeeded");
    await waitFor(
      () =>
        scheduler.get(task.id).then(
          () => false,
          (e: unknown) => isDdqError(e, "NOT_FOUND"),
        ),
      {
        description: "the finished task to expire",
      },
    );
  });

  it("keeps the packed record unchanged in the task hash from the first lease on", async () => {
    scheduler = await startTestScheduler(db, { shardCount: 1 });
    const payload = Buffer.from([0x0a, 0x00, 0xff, 0x41]);
    const { task } = await scheduler.enqueue({
      topic: "packed",
      payload,
      priority: 5,
      maxAttempts: 3,
      backoff: { kind: "fixed", delayMs: 200 },
    });
    const keys = `${scheduler.prefix}:{0}`;
    const record = await db.client.hgetBuffer(`${keys}:pending`, task.id);
    const [first] = await scheduler.lease({ topics: ["packed"], max: 1 });
    const hash = await db.client.hgetallBuffer(`${keys}:t:${task.id}`);
    // One field for the record, the topic, and only the lease's fields beside it.
    expect(Object.keys(hash).sort()).toEqual(["at", "lx", "r", "st", "tk", "tp"]);
    expect(hash.r).toEqual(record);
    const outcome = await scheduler.fail(task.id, "packed", first?.leaseToken ?? "", "boom");
    if (outcome.outcome !== "retrying") throw new Error("expected a retry");
    // The retry's due time overrides the record's; the rest still comes from the record.
    expect(await scheduler.get(task.id)).toMatchObject({
      state: "scheduled",
      dueAtMs: outcome.retryAtMs,
      priority: 5,
      maxAttempts: 3,
      attempt: 1,
      lastError: "boom",
    });
    const [second] = await scheduler.lease({ topics: ["packed"], max: 1, waitMs: 30_000 });
    expect(second).toMatchObject({ id: task.id, attempt: 2, maxAttempts: 3 });
    expect(Buffer.from(second?.payload ?? new Uint8Array())).toEqual(payload);
    expect((await db.client.hgetBuffer(`${keys}:t:${task.id}`, "r")) ?? undefined).toEqual(record);
    await scheduler.ack(task.id, "packed", second?.leaseToken ?? "", bytes("done"));
    const done = await scheduler.get(task.id);
    expect(done).toMatchObject({ state: "succeeded", attempt: 2, priority: 5 });
    expect(Buffer.from(done.payload)).toEqual(payload);
    expect(text(done.result ?? new Uint8Array())).toBe("done");
  });

  it("expires finished tasks through the finished index (no TTL per task), once a leader runs", async () => {
    const prefix = `exp${Date.now()}`;
    const options = { prefix, shardCount: 1, defaults: { finishedRetentionMs: 1_000 } };
    scheduler = await startTestScheduler(db, options);
    const keys = `${prefix}:{0}`;
    const { task: acked } = await scheduler.enqueue({ topic: "x" });
    const { task: cancelled } = await scheduler.enqueue({ topic: "x", due: { delayMs: 60_000 } });
    const [leased] = await scheduler.lease({ topics: ["x"], max: 1 });
    await scheduler.ack(acked.id, "x", leased?.leaseToken ?? "");
    await scheduler.cancel(cancelled.id);
    for (const id of [acked.id, cancelled.id]) {
      expect(await db.client.pttl(`${keys}:t:${id}`)).toBe(-1);
      expect(await db.client.zscore(`${keys}:finished`, id)).not.toBeNull();
    }
    expect((await scheduler.get(acked.id)).state).toBe("succeeded");
    expect((await scheduler.get(cancelled.id)).state).toBe("cancelled");
    // Without a leader nothing deletes them: still there after the retention.
    await scheduler.stop();
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(await db.client.exists(`${keys}:t:${acked.id}`)).toBe(1);
    // The next leader's firing loop deletes each hash with its finished-index entry.
    scheduler = await startTestScheduler(db, options);
    await waitFor(
      async () =>
        (await db.client.exists(`${keys}:t:${acked.id}`, `${keys}:t:${cancelled.id}`)) === 0,
      { description: "the finished tasks to be deleted", timeoutMs: 10_000 },
    );
    expect(await db.client.zcard(`${keys}:finished`)).toBe(0);
    await expect(scheduler.get(acked.id)).rejects.toSatisfy((e) => isDdqError(e, "NOT_FOUND"));
    // A task finished now is kept for its retention, then deleted by the loop's next look.
    const { task: later } = await scheduler.enqueue({ topic: "x" });
    const [again] = await scheduler.lease({ topics: ["x"], max: 1 });
    await scheduler.ack(later.id, "x", again?.leaseToken ?? "");
    const finishedAt = Date.now();
    await waitFor(async () => (await db.client.exists(`${keys}:t:${later.id}`)) === 0, {
      description: "the later task to be deleted",
      timeoutMs: 10_000,
    });
    expect(Date.now() - finishedAt).toBeGreaterThanOrEqual(900);
  });

  it("ack deletes finished tasks past their retention on the way, without a firing loop", async () => {
    const prefix = `ackexp${Date.now()}`;
    const retentionMs = 500;
    scheduler = await startTestScheduler(db, {
      prefix,
      shardCount: 1,
      defaults: { finishedRetentionMs: retentionMs },
    });
    const keys = new ShardKeys(prefix, 0);
    const { task: first } = await scheduler.enqueue({ topic: "y" });
    const { task: second } = await scheduler.enqueue({ topic: "y" });
    const leased = await scheduler.lease({ topics: ["y"], max: 2 });
    const token = (id: string): string => leased.find((t) => t.id === id)?.leaseToken ?? "";
    await scheduler.ack(first.id, "y", token(first.id));
    // No leader from here on: only the ack below can delete the first task.
    await scheduler.stop();
    await new Promise((resolve) => setTimeout(resolve, retentionMs + 300));
    expect(await db.client.exists(keys.task(first.id))).toBe(1);
    const epoch = (await db.client.get(keys.epoch)) ?? "";
    const engine = new ShardEngine(new ScriptRunner(db.client), keys, epoch, {
      maxHorizonMs: 86_400_000,
      eventsMaxLen: 1_000,
      idempotencyRetentionMs: 60_000,
      finishedRetentionMs: retentionMs,
      leaseRequestRetentionMs: 60_000,
    });
    expect(await engine.ack("y", [{ id: second.id, leaseToken: token(second.id) }])).toEqual([
      "ok",
    ]);
    expect(await db.client.exists(keys.task(first.id))).toBe(0);
    expect(await db.client.zscore(keys.finished, first.id)).toBeNull();
    // The task just acked is kept for its retention.
    expect(await db.client.exists(keys.task(second.id))).toBe(1);
    expect(await db.client.zscore(keys.finished, second.id)).not.toBeNull();
    // A resent ack of the same lease still answers "already" and deletes nothing else.
    expect(await engine.ack("y", [{ id: second.id, leaseToken: token(second.id) }])).toEqual([
      "already",
    ]);
  });

  it("keeps working after the script cache is flushed (NOSCRIPT)", async () => {
    scheduler = await startTestScheduler(db);
    await scheduler.enqueue({ topic: "ns" });
    await db.client.script("FLUSH");
    const { task } = await scheduler.enqueue({ topic: "ns", due: { delayMs: 50 } });
    const leased = await scheduler.lease({ topics: ["ns"], max: 2, waitMs: 30_000 });
    expect(leased.length).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await scheduler.get(task.id)).state !== "scheduled", {
      description: "the second task to fire",
    });
  });

  it("lists tasks in a state with a cursor, and counts per state", async () => {
    scheduler = await startTestScheduler(db);
    const results = await scheduler.enqueueBatch(
      Array.from({ length: 25 }, (_, i) => ({ topic: "page", due: { delayMs: 60_000 + i } })),
    );
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await scheduler.list({
        state: "scheduled",
        topic: "page",
        limit: 7,
        ...(cursor === undefined ? {} : { cursor }),
      });
      seen.push(...page.tasks.map((t) => t.id));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(seen.sort()).toEqual(results.map((r) => r.task.id).sort());
    expect((await scheduler.counts("page")).get("page")?.scheduled).toBe(25);
  });
});
