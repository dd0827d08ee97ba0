import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskSpec, TaskState } from "../../proto/gen/ddq/v1/task.js";
import { EventType, type Event } from "../../proto/gen/ddq/v1/task_service.js";
import { httpHandler } from "../../worker/handlers/httpHandler.js";
import { PermanentError, Worker } from "../../worker/worker.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { startHttpTarget, startTestApi, type TestApi } from "./support.js";

let db: RedisDatabase;
let api: TestApi;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  api = await startTestApi(db);
});

afterAll(async () => {
  await api.close();
  await db.close();
});

const spec = (partial: Partial<TaskSpec>): TaskSpec => TaskSpec.fromPartial(partial);

describe("enqueue -> fire -> worker -> ack over gRPC", () => {
  it("delivers a delayed task to a worker at its due time and records success and result", async () => {
    const client = api.client();
    const delivered: { id: string; atMs: number }[] = [];
    const worker = new Worker({
      address: api.address,
      topics: ["e2e.basic"],
      concurrency: 4,
      pollWaitMs: 1_000,
      handler: (task) => {
        delivered.push({ id: task.id, atMs: Date.now() });
        return Promise.resolve(Buffer.from(`done:${Buffer.from(task.payload).toString()}`));
      },
    }).start();
    try {
      const before = Date.now();
      const { task, created } = await client.enqueue(
        spec({
          topic: "e2e.basic",
          payload: Buffer.from("hello"),
          due: { $case: "delay", value: { seconds: 0, nanos: 300e6 } },
        }),
      );
      expect(created).toBe(true);
      const id = task?.id ?? "";
      const done = await waitFor(
        async () => {
          const t = await client.get(id);
          return t.state === TaskState.TASK_STATE_SUCCEEDED ? t : undefined;
        },
        { description: "task succeeded" },
      );
      expect(Buffer.from(done.result).toString()).toBe("done:hello");
      expect(done.attempt).toBe(1);
      expect(delivered).toHaveLength(1);
      expect(delivered[0]?.atMs).toBeGreaterThanOrEqual(before + 300);
    } finally {
      await worker.stop(1_000);
    }
  });

  it("retries a failing handler with backoff and dead-letters a permanent failure", async () => {
    const client = api.client();
    let calls = 0;
    const worker = new Worker({
      address: api.address,
      topics: ["e2e.retry"],
      pollWaitMs: 1_000,
      handler: (task) => {
        calls += 1;
        if (Buffer.from(task.payload).toString() === "permanent")
          throw new PermanentError("no such order");
        if (task.attempt < 3) throw new Error(`flaky ${task.attempt}`);
        return Promise.resolve(undefined);
      },
    }).start();
    const fixed = {
      policy: { $case: "fixed" as const, value: { delay: { seconds: 0, nanos: 50e6 } } },
    };
    try {
      const flaky = await client.enqueue(
        spec({ topic: "e2e.retry", payload: Buffer.from("x"), maxAttempts: 5, backoff: fixed }),
      );
      const permanent = await client.enqueue(
        spec({ topic: "e2e.retry", payload: Buffer.from("permanent"), maxAttempts: 5 }),
      );
      const ok = await waitFor(
        async () => {
          const t = await client.get(flaky.task?.id ?? "");
          return t.state === TaskState.TASK_STATE_SUCCEEDED ? t : undefined;
        },
        { description: "flaky task succeeded on attempt 3" },
      );
      expect(ok.attempt).toBe(3);
      const dead = await waitFor(
        async () => {
          const t = await client.get(permanent.task?.id ?? "");
          return t.state === TaskState.TASK_STATE_DEAD ? t : undefined;
        },
        { description: "permanent failure dead-lettered" },
      );
      expect(dead.attempt).toBe(1);
      expect(dead.lastError).toContain("no such order");
      const deadList = await client.listDead("e2e.retry");
      expect(deadList.tasks.map((t) => t.id)).toEqual([dead.id]);
      expect(calls).toBe(4);
    } finally {
      await worker.stop(1_000);
    }
  });

  it("the built-in http handler posts envelopes: 2xx succeeds, 4xx is permanent, 5xx retries", async () => {
    const target = await startHttpTarget((request) => {
      if (request.body === "missing") return { status: 404, body: "no" };
      const attempt = Number(request.headers["ddq-attempt"]);
      if (request.body === "flaky" && attempt < 2) return { status: 503 };
      return { status: 200, body: `ok ${request.body}` };
    });
    const client = api.client();
    const worker = new Worker({
      address: api.address,
      topics: ["e2e.http"],
      pollWaitMs: 1_000,
      handler: httpHandler(),
    }).start();
    const envelope = (body: string): Buffer =>
      Buffer.from(
        JSON.stringify({
          url: target.url,
          method: "POST",
          headers: { "x-order": "42" },
          body,
          timeoutSeconds: 5,
        }),
      );
    const fast = {
      policy: { $case: "fixed" as const, value: { delay: { seconds: 0, nanos: 50e6 } } },
    };
    try {
      const ids = await Promise.all(
        ["fine", "missing", "flaky"].map(
          async (body) =>
            (
              await client.enqueue(
                spec({ topic: "e2e.http", payload: envelope(body), backoff: fast }),
              )
            ).task?.id ?? "",
        ),
      );
      const final = await waitFor(
        async () => {
          const tasks = await Promise.all(ids.map((id) => client.get(id)));
          return tasks.every(
            (t) =>
              t.state === TaskState.TASK_STATE_SUCCEEDED || t.state === TaskState.TASK_STATE_DEAD,
          )
            ? tasks
            : undefined;
        },
        { description: "http tasks finished" },
      );
      expect(final.map((t) => t.state)).toEqual([
        TaskState.TASK_STATE_SUCCEEDED,
        TaskState.TASK_STATE_DEAD,
        TaskState.TASK_STATE_SUCCEEDED,
      ]);
      expect(Buffer.from(final[0]?.result ?? []).toString()).toBe("ok fine");
      expect(final[1]?.lastError).toContain("answered 404");
      expect(final[2]?.attempt).toBe(2);
      const first = target.requests.find((r) => r.body === "fine");
      expect(first?.headers["x-order"]).toBe("42");
      expect(first?.headers["ddq-task-id"]).toBe(ids[0]);
    } finally {
      await worker.stop(1_000);
      await target.close();
    }
  });
});

describe("WatchEvents", () => {
  it("resumes after a disconnect with no gap and no duplicate, by event id", async () => {
    const client = api.client();
    const topic = "e2e.watch";
    // The whole history of the topic, read in one go at the end, is the reference.
    const seen: Event[] = [];
    const positions: string[] = [];
    const firstStream = new AbortController();
    const collected = (async () => {
      for await (const batch of client.watchOnce({ topics: [topic], signal: firstStream.signal })) {
        seen.push(...batch.events);
        if (batch.positions.length > 0) positions.push(...batch.positions);
      }
    })();
    await waitFor(() => positions.length > 0, { description: "watch started (positions message)" });
    await client.enqueueBatch(Array.from({ length: 20 }, () => spec({ topic })));
    await waitFor(() => seen.length >= 20, { description: "first events seen" });
    firstStream.abort();
    await collected;
    // While disconnected: more transitions on every shard.
    await client.enqueueBatch(Array.from({ length: 30 }, () => spec({ topic })));
    const lastPerShard = new Map<number, string>();
    for (const p of positions) lastPerShard.set(Number(p.split(":")[0]), p);
    for (const e of seen) lastPerShard.set(e.shard, e.eventId);
    const resumed: Event[] = [];
    const second = new AbortController();
    const total = 50; // one "ready" event per task (enqueued due now)
    for await (const event of client.watch({
      topics: [topic],
      resumeAfter: [...lastPerShard.values()],
      signal: second.signal,
    })) {
      resumed.push(event);
      if (seen.length + resumed.length >= total) second.abort();
    }
    const all = [...seen, ...resumed];
    const ids = all.map((e) => e.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    const reference: Event[] = [];
    const oldest = new AbortController();
    for await (const batch of client.watchOnce({
      topics: [topic],
      start: "oldest",
      signal: oldest.signal,
    })) {
      reference.push(...batch.events);
      if (reference.length >= total) oldest.abort();
    }
    expect([...ids].sort()).toEqual(reference.map((e) => e.eventId).sort());
    expect(all.every((e) => e.type === EventType.EVENT_TYPE_READY && e.topic === topic)).toBe(true);
  });

  it("a resume position trimmed from the stream is OUT_OF_RANGE, not a silent gap", async () => {
    const small = await startTestApi(db, {}, { eventsMaxLen: 10 });
    try {
      const client = small.client();
      const first = await client.enqueue(spec({ topic: "trim" }));
      const events: Event[] = [];
      const ac = new AbortController();
      for await (const batch of client.watchOnce({ start: "oldest", signal: ac.signal })) {
        events.push(...batch.events);
        if (events.length > 0) ac.abort();
      }
      const position = events[0]?.eventId ?? "";
      expect(first.task?.id).toBe(events[0]?.taskId);
      // Enough single enqueues (one stream entry each) on every shard for MAXLEN ~ to trim whole
      // stream nodes (100 entries) past the first entry.
      for (let i = 0; i < 1200; i += 1) await client.enqueue(spec({ topic: "trim" }));
      const stream = client.watchOnce({ resumeAfter: [position] });
      await expect(stream.next()).rejects.toMatchObject({ code: 11 }); // OUT_OF_RANGE
    } finally {
      await small.close();
    }
  });
});
