import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { kill9, killAllReplicas, startReplicaProcess } from "./fixtures/replicaProcess.js";
import { startTestScheduler } from "./support.js";

let db: RedisDatabase;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
});
afterAll(async () => {
  killAllReplicas();
  await db.close();
});

/** A scheduler replica with a consumer that records every delivery, in its own process. */
function startReplica(options: {
  prefix: string;
  identity: string;
  consumeTopic: string;
}): ReturnType<typeof startReplicaProcess> {
  return startReplicaProcess({
    DDQ_REDIS_URL: db.url,
    DDQ_PREFIX: options.prefix,
    DDQ_SHARDS: "4",
    DDQ_IDENTITY: options.identity,
    DDQ_LEASE_TIMING: "1000,700,200",
    DDQ_CONSUME_TOPIC: options.consumeTopic,
    DDQ_DELIVERED_KEY: `${options.prefix}:test:delivered`,
    DDQ_DELIVERIES_KEY: `${options.prefix}:test:deliveries`,
  });
}

describe("kill -9 of the scheduler in the middle of firing", () => {
  it("loses no task over repeated crashes: every task is delivered and succeeds", async () => {
    const prefix = `crash${randomBytes(3).toString("hex")}`;
    const topic = "crashy";
    const total = 3000;
    // Enqueue through a short-lived leader, then hand the shards over (release on stop).
    const producer = await startTestScheduler(db, { prefix, shardCount: 4 });
    const start = Date.now() + 500;
    for (let i = 0; i < total; i += 1000) {
      await producer.enqueueBatch(
        Array.from({ length: 1000 }, (_, j) => ({
          topic,
          payload: Buffer.from(String(i + j)),
          due: { atMs: start + Math.floor(((i + j) / total) * 6000) },
          leaseTimeoutMs: 1000,
        })),
      );
    }
    await producer.stop();

    const deliveredKey = `${prefix}:test:delivered`;
    let crashes = 0;
    // Crash the replica at random points while tasks fire, until every task was delivered.
    for (let round = 0; round < 40; round += 1) {
      const replica = await startReplica({
        prefix,
        identity: `replica-${round}`,
        consumeTopic: topic,
      });
      await new Promise((r) => setTimeout(r, 150 + Math.floor(Math.random() * 350)));
      await kill9(replica);
      crashes += 1;
      if ((await db.client.scard(deliveredKey)) === total && crashes >= 10) break;
    }
    expect(crashes).toBeGreaterThanOrEqual(10);

    // A last replica runs to completion: every task must end succeeded.
    const last = await startReplica({ prefix, identity: "replica-final", consumeTopic: topic });
    const counts = `${prefix}:{0}:counts`;
    await waitFor(
      async () => {
        let succeeded = 0;
        for (let shard = 0; shard < 4; shard += 1) {
          succeeded += Number(
            (await db.client.hget(counts.replace("{0}", `{${shard}}`), `${topic}|succeeded`)) ?? 0,
          );
        }
        return succeeded === total;
      },
      { description: `all ${total} tasks to succeed`, timeoutMs: 60_000, intervalMs: 200 },
    );
    await kill9(last);
    expect(await db.client.scard(deliveredKey)).toBe(total);

    // At-least-once, and duplicates only through an expired lease: a redelivery has a higher attempt.
    const deliveries = await db.client.lrange(`${prefix}:test:deliveries`, 0, -1);
    const attemptsSeen = new Map<string, number[]>();
    for (const line of deliveries) {
      const [id = "", attempt = "0"] = line.split(" ");
      attemptsSeen.set(id, [...(attemptsSeen.get(id) ?? []), Number(attempt)]);
    }
    for (const [id, attempts] of attemptsSeen) {
      expect(
        new Set(attempts).size,
        `task ${id} delivered twice under one attempt: ${attempts.join(",")}`,
      ).toBe(attempts.length);
    }
  }, 180_000);
});
