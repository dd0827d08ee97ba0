/**
 * Acks for tasks of shards another replica leads are forwarded in ONE call per leader replica
 * (docs/API.md "Multiple replicas"), not one per shard: a worker acking a batch spread over many
 * shards costs each peer one call.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskSpec } from "../../proto/gen/ddq/v1/task.js";
import { freeLoopbackPort } from "../env/ports.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { GrpcCode } from "./grpcCalls.js";
import { startTestApi, type TestApi } from "./support.js";

const SHARDS = 8;

let db: RedisDatabase;
let a: TestApi;
let b: TestApi;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  const prefix = `af${randomBytes(3).toString("hex")}`;
  const [portA, portB] = [await freeLoopbackPort(), await freeLoopbackPort()];
  a = await startTestApi(
    db,
    { listen: `127.0.0.1:${portA}` },
    { prefix, shardCount: SHARDS, advertiseAddress: `127.0.0.1:${portA}` },
  );
  b = await startTestApi(
    db,
    { listen: `127.0.0.1:${portB}` },
    { prefix, shardCount: SHARDS, advertiseAddress: `127.0.0.1:${portB}` },
  );
  await waitFor(
    () =>
      a.scheduler.ledShards().length === SHARDS / 2 &&
      b.scheduler.ledShards().length === SHARDS / 2,
    { description: "shards split between the replicas", timeoutMs: 60_000 },
  );
});

afterAll(async () => {
  await a.close();
  await b.close();
  await db.close();
});

describe("Ack through a replica that leads none of the tasks' shards", () => {
  it("is forwarded once to their leader, whatever number of its shards they are on", async () => {
    const topic = "af.ack";
    // Idempotency keys place tasks on every shard; B leases them (its own, then A's).
    await b
      .client()
      .enqueueBatch(
        Array.from({ length: 64 }, (_, i) =>
          TaskSpec.fromPartial({ topic, idempotencyKey: `af-${i}` }),
        ),
      );
    const leased = await waitFor(
      async () => {
        const { tasks } = await b.client().lease({ topics: [topic], max: 64 });
        const onB = tasks.filter((t) => b.scheduler.leads(b.scheduler.shardOfTask(t.id)));
        return onB.length > 0 ? onB : undefined;
      },
      { description: "tasks of B's shards leased", timeoutMs: 30_000 },
    );
    const shards = new Set(leased.map((t) => b.scheduler.shardOfTask(t.id)));
    expect(shards.size).toBeGreaterThan(1);
    const before = b.server.callsAnswered.get("Ack 0") ?? 0;
    const { results } = await a
      .client()
      .ack(
        leased.map((t) => ({ id: t.id, topic, leaseToken: t.leaseToken, result: Buffer.alloc(0) })),
      );
    expect(results.map((r) => r.code)).toEqual(leased.map(() => GrpcCode.OK));
    expect((b.server.callsAnswered.get("Ack 0") ?? 0) - before).toBe(1);
  });
});
