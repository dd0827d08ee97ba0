/**
 * Listing tasks of every topic (keyset paging across shards and topics) on a real redis-server:
 * every task once, in a stable order, while tasks come and go between pages; page tokens bound
 * to their listing and validated; a walk that stops at the caller's deadline or cancellation.
 */
import { createHash } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isDdqError } from "../../scheduler/engine/errors.js";
import type { Scheduler, ListRequest } from "../../scheduler/scheduler.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { startTestScheduler } from "./support.js";

let db: RedisDatabase;
let scheduler: Scheduler;
const HOUR = 3_600_000;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
});
afterAll(async () => {
  await db.close();
});
afterEach(async () => {
  await scheduler.stop();
});

/** Every page of a listing: the ids in order, and how many pages it took. */
async function listAll(
  request: ListRequest,
  between: (page: number) => Promise<void> = () => Promise.resolve(),
): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await scheduler.list({ ...request, ...(cursor === undefined ? {} : { cursor }) });
    ids.push(...page.tasks.map((t) => t.id));
    cursor = page.nextCursor;
    pages += 1;
    await between(pages);
  } while (cursor !== undefined);
  return { ids, pages };
}

describe("listing tasks of every topic", () => {
  it("lists scheduled, ready and leased tasks of every topic and shard, each once", async () => {
    scheduler = await startTestScheduler(db);
    const topics = ["alpha", "beta", "gamma.x", "delta-1"];
    const scheduled = await scheduler.enqueueBatch(
      topics.flatMap((topic) =>
        // Keys spread the tasks over the shards (keyless ones fill one led shard at a time).
        Array.from({ length: 9 }, (_, i) => ({
          topic,
          due: { delayMs: HOUR + i },
          idempotencyKey: `${topic}-${i}`,
        })),
      ),
    );
    const ready = await scheduler.enqueueBatch(
      topics.flatMap((topic) =>
        Array.from({ length: 6 }, (_, i) => ({ topic, idempotencyKey: `${topic}-r${i}` })),
      ),
    );
    const leased = await scheduler.lease({ topics: ["beta", "gamma.x"], max: 5 });
    expect(leased.length).toBe(5);
    expect(new Set(scheduled.map((r) => r.task.shard)).size).toBeGreaterThan(1);

    const all = await listAll({ state: "scheduled", limit: 7 });
    expect(all.ids).toHaveLength(scheduled.length);
    expect(new Set(all.ids)).toEqual(new Set(scheduled.map((r) => r.task.id)));
    expect(all.pages).toBeGreaterThanOrEqual(Math.ceil(scheduled.length / 7));

    const readyIds = await listAll({ state: "ready", limit: 4 });
    const stillReady = ready.map((r) => r.task.id).filter((id) => !leased.some((t) => t.id === id));
    expect(new Set(readyIds.ids)).toEqual(new Set(stillReady));
    expect(readyIds.ids).toHaveLength(stillReady.length);

    const leasedIds = await listAll({ state: "leased", limit: 2 });
    expect(new Set(leasedIds.ids)).toEqual(new Set(leased.map((t) => t.id)));

    // Order: shard, then topic name, then the index (due time for scheduled tasks).
    const listed = await Promise.all(all.ids.map((id) => scheduler.get(id)));
    const keys = listed.map((t) => [t.shard, t.topic, t.dueAtMs] as const);
    const sorted = [...keys].sort((a, b) =>
      a[0] !== b[0] ? a[0] - b[0] : a[1] !== b[1] ? (a[1] < b[1] ? -1 : 1) : a[2] - b[2],
    );
    expect(keys).toEqual(sorted);
    // One topic still works as before, now with the same paging.
    const beta = await listAll({ state: "scheduled", topic: "beta", limit: 4 });
    expect(beta.ids).toHaveLength(9);
  });

  it.each([
    ["every topic", undefined],
    ["one topic", "even"],
  ])(
    "lists each task that stays in its state exactly once while others come and go (%s)",
    async (_name, topic) => {
      scheduler = await startTestScheduler(db);
      const stay = await scheduler.enqueueBatch(
        Array.from({ length: 60 }, (_, i) => ({
          topic: i % 2 === 0 ? "even" : "odd",
          due: { delayMs: HOUR + i * 1000 },
        })),
      );
      const go = await scheduler.enqueueBatch(
        Array.from({ length: 30 }, (_, i) => ({
          topic: i % 2 === 0 ? "even" : "odd",
          due: { delayMs: HOUR + i * 1000 + 500 },
        })),
      );
      const leaving = go.map((r) => r.task.id);
      const arrived: string[] = [];
      const request: ListRequest = { state: "scheduled", limit: 5 };
      if (topic !== undefined) request.topic = topic;
      const { ids } = await listAll(request, async () => {
        // Between pages: some tasks leave the state (cancelled) and new ones arrive, before and
        // after the position (an offset-based page would skip or repeat tasks that stayed).
        const out = leaving.splice(0, 3);
        await Promise.all(out.map((id) => scheduler.cancel(id)));
        const added = await scheduler.enqueueBatch([
          { topic: "even", due: { delayMs: HOUR - 1 } },
          { topic: "odd", due: { delayMs: 3 * HOUR } },
        ]);
        arrived.push(...added.map((r) => r.task.id));
      });
      const stayed = stay.filter((r) => topic === undefined || r.task.topic === topic);
      for (const { task } of stayed) expect(ids.filter((x) => x === task.id)).toEqual([task.id]);
      expect(new Set(ids).size).toBe(ids.length);
    },
  );

  it("lists dead, succeeded and cancelled tasks of every topic with a topic filter or without", async () => {
    scheduler = await startTestScheduler(db);
    const { task: a } = await scheduler.enqueue({ topic: "fin-a", due: { delayMs: HOUR } });
    const { task: b } = await scheduler.enqueue({ topic: "fin-b", due: { delayMs: HOUR } });
    await scheduler.cancel(a.id);
    await scheduler.cancel(b.id);
    expect(new Set((await listAll({ state: "cancelled", limit: 1 })).ids)).toEqual(
      new Set([a.id, b.id]),
    );
    expect((await listAll({ state: "cancelled", topic: "fin-b" })).ids).toEqual([b.id]);
    expect((await listAll({ state: "succeeded" })).ids).toEqual([]);
  });

  it("refuses page tokens of another listing, or that were never issued", async () => {
    scheduler = await startTestScheduler(db);
    await scheduler.enqueueBatch(
      Array.from({ length: 5 }, () => ({ topic: "tok", due: { delayMs: HOUR } })),
    );
    const page = await scheduler.list({ state: "scheduled", limit: 2 });
    const cursor = page.nextCursor ?? "";
    expect(cursor).not.toBe("");
    const refused = async (request: ListRequest): Promise<void> => {
      const error = await scheduler.list(request).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isDdqError(error, "INVALID_ARGUMENT") && error.field).toBe("cursor");
    };
    await refused({ state: "ready", cursor });
    await refused({ state: "scheduled", topic: "tok", cursor });
    const forged = (text: string): string => Buffer.from(text).toString("base64url");
    const listing = createHash("sha256").update("scheduled|").digest("hex").slice(0, 8);
    for (const token of [
      "garbage!",
      "!!!",
      "A".repeat(5000),
      "é",
      forged(`l1|${listing}|99|||`),
      forged(`l1|${listing}|0|bad topic||`),
      forged(`l1|${listing}|0|tok|12|not-an-id`),
      forged(`l1|${listing}|0|tok|x|01ARZ3NDEKTSV4RRFFQ69G5FAV-0`),
      forged(`l1|${listing}|0|tok||01ARZ3NDEKTSV4RRFFQ69G5FAV-0`),
      forged(`l0|${listing}|0|||`),
      forged(`l1|00000000|0|||`),
    ]) {
      await refused({ state: "scheduled", cursor: token });
    }
    expect(
      (await scheduler.list({ state: "scheduled", cursor: forged(`l1|${listing}|0|||`) })).tasks,
    ).toBeDefined();
    // A page token names a position, not a task: it works after that task left its state.
    const rest = await scheduler.list({ state: "scheduled", cursor, limit: 10 });
    expect(rest.tasks).toHaveLength(3);
  });

  it("stops its walk at the caller's deadline with a token to go on, and reads nothing once cancelled", async () => {
    scheduler = await startTestScheduler(db);
    // Many topics with one ready task each: a walk over them costs one read each.
    const created = await scheduler.enqueueBatch(
      Array.from({ length: 50 }, (_, i) => ({ topic: `one-${i}` })),
    );
    // Cancelled: the caller is gone, so no read starts and the signal's reason is thrown.
    const reason = new Error("the caller is gone");
    await expect(
      scheduler.list({ state: "ready", signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);

    // A deadline already passed: each call still makes progress (one read), so a caller that
    // keeps going reaches the end.
    const ids: string[] = [];
    let cursor: string | undefined;
    let calls = 0;
    do {
      const page = await scheduler.list({
        state: "ready",
        deadlineMs: Date.now() - 1,
        ...(cursor === undefined ? {} : { cursor }),
      });
      ids.push(...page.tasks.map((t) => t.id));
      cursor = page.nextCursor;
      calls += 1;
    } while (cursor !== undefined && calls < 1000);
    expect(cursor).toBeUndefined();
    expect(ids.sort()).toEqual(created.map((r) => r.task.id).sort());
    // Each call stopped after its first read (a topic), well before a full page.
    expect(calls).toBeGreaterThanOrEqual(50);
  });
});
