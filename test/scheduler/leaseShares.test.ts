/**
 * A lease asks every led shard at once for a share of `max`, then the shards that may have more:
 * it never returns more than `max`, and finds tasks wherever they are.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Scheduler } from "../../scheduler/scheduler.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { startTestScheduler } from "./support.js";

let db: RedisDatabase;
let scheduler: Scheduler;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  scheduler = await startTestScheduler(db);
  await waitFor(() => scheduler.ledShards().length === 4, { description: "all 4 shards led" });
});

afterAll(async () => {
  await scheduler.stop();
  await db.close();
});

/** Enqueues `count` tasks of `topic` on `shard` (idempotency keys chosen to land there). */
async function onShard(topic: string, shard: number, count: number): Promise<void> {
  const specs = [];
  for (let i = 0; specs.length < count; i += 1) {
    const key = `${topic}-${shard}-${i}`;
    if (scheduler.shardOfIdempotencyKey(key) === shard) specs.push({ topic, idempotencyKey: key });
  }
  await scheduler.enqueueBatch(specs);
}

describe("lease across shards", () => {
  it("returns at most max, from every shard that has tasks", async () => {
    await onShard("shares", 0, 10);
    await onShard("shares", 3, 1);
    const first = await scheduler.lease({ topics: ["shares"], max: 5 });
    expect(first).toHaveLength(5);
    const rest = await scheduler.lease({ topics: ["shares"], max: 100 });
    expect(rest).toHaveLength(6);
    const ids = [...first, ...rest].map((t) => t.id);
    expect(new Set(ids).size).toBe(11);
    expect(new Set(ids.map((id) => id.split("-").at(-1)))).toEqual(new Set(["0", "3"]));
  });

  it("finds a lone task on the last shard with max 1", async () => {
    await onShard("lone", 3, 1);
    const got = await scheduler.lease({ topics: ["lone"], max: 1 });
    expect(got.map((t) => t.id.split("-").at(-1))).toEqual(["3"]);
  });

  it("takes more from a shard once the others ran dry", async () => {
    await onShard("uneven", 1, 40);
    await onShard("uneven", 2, 2);
    const got = await scheduler.lease({ topics: ["uneven"], max: 30 });
    expect(got).toHaveLength(30);
    const perShard = new Map<string, number>();
    for (const t of got)
      perShard.set(
        t.id.split("-").at(-1) ?? "",
        (perShard.get(t.id.split("-").at(-1) ?? "") ?? 0) + 1,
      );
    expect(perShard.get("2")).toBe(2);
    expect(perShard.get("1")).toBe(28);
  });
});
