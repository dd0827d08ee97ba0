/**
 * Two scheduler replicas splitting the shards, a client and a worker talking to ONE of them:
 * writes for the other's shards are forwarded to it, leases reach its shards, acks go back to
 * it. Nothing needs the client to know which replica leads what.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScheduleSpec } from "../../proto/gen/ddq/v1/cron_service.js";
import { TaskSpec, TaskState } from "../../proto/gen/ddq/v1/task.js";
import { Worker } from "../../worker/worker.js";
import { freeLoopbackPort } from "../env/ports.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { startTestApi, type TestApi } from "./support.js";

let db: RedisDatabase;
let a: TestApi;
let b: TestApi;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  const prefix = `rep${randomBytes(3).toString("hex")}`;
  const [portA, portB] = [await freeLoopbackPort(), await freeLoopbackPort()];
  a = await startTestApi(
    db,
    { listen: `127.0.0.1:${portA}` },
    { prefix, advertiseAddress: `127.0.0.1:${portA}` },
  );
  b = await startTestApi(
    db,
    { listen: `127.0.0.1:${portB}` },
    { prefix, advertiseAddress: `127.0.0.1:${portB}` },
  );
  // 4 shards, 2 replicas: each settles on 2 (the first gives some up to the second).
  await waitFor(
    () => a.scheduler.ledShards().length === 2 && b.scheduler.ledShards().length === 2,
    {
      description: "shards split between the replicas",
    },
  );
});

afterAll(async () => {
  await a.close();
  await b.close();
  await db.close();
});

/** An idempotency key whose shard the given replica leads. */
function keyLedBy(api: TestApi, label: string): string {
  for (let i = 0; ; i += 1) {
    const key = `${label}-${i}`;
    if (api.scheduler.leads(api.scheduler.shardOfIdempotencyKey(key))) return key;
  }
}

describe("a client of one replica", () => {
  it("writes tasks whose shard the other replica leads (forwarded), singly and in batches", async () => {
    const client = a.client();
    const key = keyLedBy(b, "single");
    const one = await client.enqueue(
      TaskSpec.fromPartial({
        topic: "rep.w",
        idempotencyKey: key,
        due: { $case: "delay", value: { seconds: 3600, nanos: 0 } },
      }),
    );
    expect(one.created).toBe(true);
    expect(b.scheduler.leads(one.task?.shard ?? -1)).toBe(true);
    const again = await client.enqueue(
      TaskSpec.fromPartial({
        topic: "rep.w",
        idempotencyKey: key,
        due: { $case: "delay", value: { seconds: 3600, nanos: 0 } },
      }),
    );
    expect(again).toMatchObject({ created: false, task: { id: one.task?.id } });
    const keys = Array.from({ length: 20 }, (_, i) => `batch-${i}`);
    const batch = await client.enqueueBatch(
      keys.map((k) =>
        TaskSpec.fromPartial({
          topic: "rep.w",
          idempotencyKey: k,
          due: { $case: "delay", value: { seconds: 3600, nanos: 0 } },
        }),
      ),
    );
    expect(batch.results.map((r) => r.task?.shard)).toEqual(
      keys.map((k) => a.scheduler.shardOfIdempotencyKey(k)),
    );
    expect(new Set(batch.results.map((r) => b.scheduler.leads(r.task?.shard ?? -1)))).toEqual(
      new Set([true, false]),
    );
    // Cancel through A a task that B leads.
    const cancelled = await client.cancel(one.task?.id ?? "");
    expect(cancelled.state).toBe(TaskState.TASK_STATE_CANCELLED);
  });

  it("a worker connected to one replica drains tasks on every shard", async () => {
    const producer = b.client();
    const topic = "rep.lease";
    const { results } = await producer.enqueueBatch(
      Array.from({ length: 60 }, (_, i) =>
        TaskSpec.fromPartial({ topic, idempotencyKey: `lease-${i}` }),
      ),
    );
    const shardsUsed = new Set(results.map((r) => r.task?.shard));
    expect(shardsUsed.size).toBe(4);
    const seen = new Set<string>();
    const worker = new Worker({
      address: a.address,
      topics: [topic],
      concurrency: 8,
      pollWaitMs: 2_000,
      handler: (task) => {
        seen.add(task.id);
        return Promise.resolve(undefined);
      },
    }).start();
    try {
      const ids = results.map((r) => r.task?.id ?? "");
      await waitFor(
        async () => {
          const tasks = await Promise.all(ids.map((id) => producer.get(id)));
          return tasks.every((t) => t.state === TaskState.TASK_STATE_SUCCEEDED);
        },
        { description: "every task, on both replicas' shards, succeeded through replica A" },
      );
      expect(seen.size).toBe(60);
      expect(worker.stats.lost).toBe(0);
    } finally {
      await worker.stop(1_000);
    }
  });

  it("heartbeats and fails, through one replica, a task the other replica's shard holds", async () => {
    const client = a.client();
    const key = keyLedBy(b, "hb");
    const { task } = await client.enqueue(
      TaskSpec.fromPartial({ topic: "rep.hb", idempotencyKey: key }),
    );
    const leased = await waitFor(
      async () => (await client.lease({ topics: ["rep.hb"], max: 1 })).tasks[0],
      { description: "the task leased through replica A" },
    );
    expect(leased.id).toBe(task?.id);
    const extended = await client.extend(leased.id, leased.topic, leased.leaseToken, 60_000);
    expect(extended.leaseExpireTime?.getTime()).toBeGreaterThan(Date.now() + 50_000);
    const failed = await client.fail(leased.id, leased.topic, leased.leaseToken, "boom", false);
    expect(failed.outcome).toBe(2); // OUTCOME_DEAD
    expect((await client.get(leased.id)).state).toBe(TaskState.TASK_STATE_DEAD);
    const requeued = await client.requeueDead(leased.id);
    expect(requeued.requeued).toBe(true);
    const purgedNothing = await client.purgeDead("rep.hb");
    expect(purgedNothing.purged).toBe(0);
  });

  it("manages a schedule whose shard the other replica leads", async () => {
    const client = a.client();
    let n = 0;
    while (!b.scheduler.leads(b.scheduler.cron.shardOf(`rep-cron-${n}`))) n += 1;
    const id = `rep-cron-${n}`;
    const spec = ScheduleSpec.fromPartial({
      id,
      schedules: ["0 0 1 1 *"],
      task: { topic: "rep.cron" },
    });
    expect((await client.upsertSchedule(spec)).created).toBe(true);
    await client.pauseSchedule(id);
    expect((await client.getSchedule(id)).schedule?.status?.suspended).toBe(true);
    await client.resumeSchedule(id);
    const trigger = await client.triggerSchedule(id);
    expect(trigger.occurrenceId.startsWith(`${id}:`)).toBe(true);
    await client.deleteSchedule(id);
  });
});
