import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ShardKeys } from "../../scheduler/engine/keys.js";
import type { ShardEngine } from "../../scheduler/engine/shardEngine.js";
import { formatTaskId, UlidGenerator } from "../../scheduler/engine/taskId.js";
import { prepareTask } from "../../scheduler/engine/validation.js";
import { DEFAULT_DEFAULTS, DEFAULT_LIMITS } from "../../scheduler/engine/model.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { openShardEngine } from "./support.js";

// ioredis resends in-flight commands after a reconnect, so every script may run twice with the
// same arguments. Each must then have the effect of running once.
let db: RedisDatabase;
let redis: Redis;
let engine: ShardEngine;
const keys = new ShardKeys("resend", 0);

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  redis = new Redis(db.url);
  engine = await openShardEngine(redis, keys, { eventsMaxLen: 10_000 });
});
afterAll(async () => {
  redis.disconnect();
  await db.close();
});

const ids = new UlidGenerator();
const task = (topic: string): ReturnType<typeof prepareTask> =>
  prepareTask({ topic, maxAttempts: 3 }, DEFAULT_LIMITS, DEFAULT_DEFAULTS);

describe("scripts run twice with the same arguments", () => {
  it("enqueue creates one task", async () => {
    const id = formatTaskId(ids.next(), 0);
    const [first] = await engine.enqueue("t1", [id], [task("t1")], [""]);
    const [second] = await engine.enqueue("t1", [id], [task("t1")], [""]);
    expect(first?.created).toBe(true);
    expect(second).toMatchObject({ created: false, task: { id } });
    expect(await redis.zcard(keys.ready("t1"))).toBe(1);
    expect(await redis.hget(keys.counts, "t1|ready")).toBe("1");
  });

  it("enqueue of a scheduled (pending) task creates one task", async () => {
    const id = formatTaskId(ids.next(), 0);
    const later = prepareTask(
      { topic: "t1s", due: { delayMs: 60_000 } },
      DEFAULT_LIMITS,
      DEFAULT_DEFAULTS,
    );
    const [first] = await engine.enqueue("t1s", [id], [later], [""]);
    const [second] = await engine.enqueue("t1s", [id], [later], [""]);
    expect(first?.created).toBe(true);
    expect(second).toMatchObject({
      created: false,
      task: { id, state: "scheduled", dueAtMs: first?.task.dueAtMs },
    });
    expect(await redis.zcard(keys.scheduled("t1s"))).toBe(1);
    expect(await redis.hexists(keys.pending, id)).toBe(1);
  });

  it("lease with the same request id leases the same tasks, not new ones", async () => {
    const a = formatTaskId(ids.next(), 0);
    const b = formatTaskId(ids.next(), 0);
    await engine.enqueue("t2", [a, b], [task("t2"), task("t2")], ["", ""]);
    const first = await engine.lease("t2", 1, 0, "req-1");
    const again = await engine.lease("t2", 1, 0, "req-1");
    expect(again).toEqual(first);
    expect(await redis.zcard(keys.ready("t2"))).toBe(1);
    expect(await redis.hget(keys.task(first[0]?.id ?? ""), "at")).toBe("1");
  });

  it("ack, fail and cancel apply once", async () => {
    const a = formatTaskId(ids.next(), 0);
    const b = formatTaskId(ids.next(), 0);
    await engine.enqueue("t3", [a, b], [task("t3"), task("t3")], ["", ""]);
    const [ta, tb] = await engine.lease("t3", 2, 0, "req-2");
    const ackA = [{ id: ta?.id ?? "", leaseToken: ta?.leaseToken ?? "" }];
    expect(await engine.ack("t3", ackA)).toEqual(["ok"]);
    expect(await engine.ack("t3", ackA)).toEqual(["already"]);
    expect(await redis.hget(keys.counts, "t3|succeeded")).toBe("1");

    const failed = await engine.fail(tb?.id ?? "", "t3", tb?.leaseToken ?? "", "x", true);
    const again = await engine.fail(tb?.id ?? "", "t3", tb?.leaseToken ?? "", "x", true);
    expect(again).toEqual(failed);
    expect(await redis.zcard(keys.scheduled("t3"))).toBe(1);
    expect(await redis.hget(keys.counts, "t3|scheduled")).toBe("1");

    expect((await engine.cancel(tb?.id ?? "", "t3")).outcome).toBe("cancelled");
    expect((await engine.cancel(tb?.id ?? "", "t3")).outcome).toBe("unchanged");
    expect(await redis.hget(keys.counts, "t3|cancelled")).toBe("1");
  });

  it("fire and recover move each task once", async () => {
    const a = formatTaskId(ids.next(), 0);
    await engine.enqueue(
      "t4",
      [a],
      [
        prepareTask(
          { topic: "t4", due: { delayMs: 1 }, leaseTimeoutMs: 100 },
          DEFAULT_LIMITS,
          DEFAULT_DEFAULTS,
        ),
      ],
      [""],
    );
    await new Promise((r) => setTimeout(r, 5));
    const fired = await Promise.all([engine.fireDue(), engine.fireDue()]);
    expect(fired.map((f) => f.moved).sort()).toEqual([0, 1]);
    await engine.lease("t4", 1, 100, "req-3");
    await new Promise((r) => setTimeout(r, 120));
    const recovered = await Promise.all([engine.recoverExpired("t4"), engine.recoverExpired("t4")]);
    expect(recovered.map((r) => r.requeued).sort()).toEqual([0, 1]);
    expect(await redis.zcard(keys.ready("t4"))).toBe(1);
  });
});
