/**
 * The routes hash (`<prefix>:routes`: shard -> "<identity> <address>") tells replicas where to
 * forward a shard's calls. A replica records its route when it takes a shard and removes it when
 * it stops leading, unless a successor's route has replaced it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { startTestScheduler } from "./support.js";

let db: RedisDatabase;
beforeAll(async () => {
  db = await useFreshRedisDatabase();
});
afterAll(async () => {
  await db.close();
});

describe("routes", () => {
  it("are recorded on taking a shard and removed on stopping, a successor's left alone", async () => {
    const prefix = "routes";
    const scheduler = await startTestScheduler(db, {
      prefix,
      identity: "replica-a",
      advertiseAddress: "10.0.0.1:7070",
    });
    const key = `${prefix}:routes`;
    await waitFor(async () => Object.keys(await db.client.hgetall(key)).length === 4, {
      description: "a route for each of the 4 shards",
    });
    const routes = await db.client.hgetall(key);
    for (const [shard, route] of Object.entries(routes)) {
      const epoch = await db.client.get(`${prefix}:{${shard}}:epoch`);
      expect(route).toBe(`replica-a 10.0.0.1:7070 ${String(epoch)}`);
    }
    // Another replica took shard 2 meanwhile (it wrote its route when it did), and this replica
    // lost shard 3 and took it back (a new epoch: a late removal of the old entry must miss).
    await db.client.hset(key, "2", "replica-b 10.0.0.2:7070 9");
    await db.client.hset(key, "3", "replica-a 10.0.0.1:7070 999");
    await scheduler.stop();
    expect(await db.client.hgetall(key)).toEqual({
      "2": "replica-b 10.0.0.2:7070 9",
      "3": "replica-a 10.0.0.1:7070 999",
    });
  });
});
