/**
 * fail.lua with a lease token that is no longer current: refused (FAILED_PRECONDITION naming the
 * lease token) like ack and extend, while a true resend of an applied fail (same token, no lease,
 * cancel or requeue since) answers as the first time.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDdqError } from "../../scheduler/engine/errors.js";
import { ShardKeys } from "../../scheduler/engine/keys.js";
import { DEFAULT_DEFAULTS, DEFAULT_LIMITS, type LeasedTask } from "../../scheduler/engine/model.js";
import type { ShardEngine } from "../../scheduler/engine/shardEngine.js";
import { formatTaskId, UlidGenerator } from "../../scheduler/engine/taskId.js";
import { prepareTask } from "../../scheduler/engine/validation.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { openShardEngine } from "./support.js";

let db: RedisDatabase;
let redis: Redis;
let engine: ShardEngine;
const keys = new ShardKeys("stalefail", 0);
const ids = new UlidGenerator();

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  redis = new Redis(db.url);
  engine = await openShardEngine(redis, keys);
});
afterAll(async () => {
  redis.disconnect();
  await db.close();
});

/** Enqueues one task (3 attempts, no backoff delay) and leases it. */
async function leased(topic: string): Promise<LeasedTask> {
  const id = formatTaskId(ids.next(), 0);
  const prepared = prepareTask(
    { topic, maxAttempts: 3, backoff: { kind: "fixed", delayMs: 0 } },
    DEFAULT_LIMITS,
    DEFAULT_DEFAULTS,
  );
  await engine.enqueue(topic, [id], [prepared], [""]);
  return leaseAgain(topic);
}

/** Leases the topic's next task, moving due retries to ready first. */
async function leaseAgain(topic: string): Promise<LeasedTask> {
  return waitFor(
    async () => {
      await engine.fireDue();
      const [task] = await engine.lease(topic, 1, 0, `req-${ids.next()}`);
      return task;
    },
    { description: `a task of ${topic} to lease`, timeoutMs: 20_000 },
  );
}

async function staleRefusal(call: Promise<unknown>): Promise<string> {
  const error = await call.then(
    (answer) => new Error(`expected a refusal, got ${JSON.stringify(answer)}`),
    (e: unknown) => e,
  );
  if (!isDdqError(error, "FAILED_PRECONDITION")) throw error;
  expect(error.field).toBe("leaseToken");
  return error.message;
}

describe("fail with a stale lease token", () => {
  it("is refused once the task was leased again, and after it succeeded", async () => {
    const first = await leased("sf1");
    const failed = await engine.fail(first.id, "sf1", first.leaseToken, "boom", true);
    expect(failed.outcome).toBe("retrying");
    // A true resend (nothing happened since) answers as the first time.
    expect(await engine.fail(first.id, "sf1", first.leaseToken, "boom", true)).toEqual(failed);

    const second = await leaseAgain("sf1");
    expect(second.attempt).toBe(2);
    expect(second.leaseToken).not.toBe(first.leaseToken);
    expect(
      await staleRefusal(engine.fail(first.id, "sf1", first.leaseToken, "boom", true)),
    ).toContain("task state: leased");
    // The refusal changed nothing: the current lease still acks.
    expect(await engine.ack("sf1", [{ id: second.id, leaseToken: second.leaseToken }])).toEqual([
      "ok",
    ]);
    expect(
      await staleRefusal(engine.fail(first.id, "sf1", first.leaseToken, "boom", true)),
    ).toContain("task state: succeeded");
    expect(await redis.hget(keys.task(first.id), "at")).toBe("2");
  });

  it("a resend after the retry became ready still answers as the first time", async () => {
    const task = await leased("sf2");
    const failed = await engine.fail(task.id, "sf2", task.leaseToken, "boom", true);
    await waitFor(async () => (await engine.fireDue()).moved > 0 || undefined, {
      description: "the retry to become ready",
      timeoutMs: 20_000,
    });
    expect(await engine.fail(task.id, "sf2", task.leaseToken, "boom", true)).toEqual(failed);
  });

  it("is refused once the retrying task was cancelled", async () => {
    const task = await leased("sf3");
    expect((await engine.fail(task.id, "sf3", task.leaseToken, "boom", true)).outcome).toBe(
      "retrying",
    );
    expect((await engine.cancel(task.id, "sf3")).outcome).toBe("cancelled");
    expect(
      await staleRefusal(engine.fail(task.id, "sf3", task.leaseToken, "boom", true)),
    ).toContain("task state: cancelled");
  });

  it("a dead-lettering fail resends as dead, and is refused once the task was requeued", async () => {
    const task = await leased("sf4");
    expect(await engine.fail(task.id, "sf4", task.leaseToken, "bad", false)).toEqual({
      outcome: "dead",
    });
    expect(await engine.fail(task.id, "sf4", task.leaseToken, "bad", false)).toEqual({
      outcome: "dead",
    });
    expect((await engine.requeueDead(task.id, "sf4")).outcome).toBe("requeued");
    await staleRefusal(engine.fail(task.id, "sf4", task.leaseToken, "bad", false));
  });

  it("a fail of a cancel-requested task resends as cancelled", async () => {
    const task = await leased("sf5");
    expect((await engine.cancel(task.id, "sf5")).outcome).toBe("requested");
    const failed = await engine.fail(task.id, "sf5", task.leaseToken, "stopped", true);
    expect(failed).toEqual({ outcome: "cancelled" });
    expect(await engine.fail(task.id, "sf5", task.leaseToken, "stopped", true)).toEqual(failed);
  });
});
