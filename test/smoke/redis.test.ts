import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { RedisServer } from "../env/redisServer.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { testScratchDir, useFreshRedisDatabase } from "../env/testContext.js";

// A script in the style ddq's scheduler uses: keys passed in KEYS, "now" read from TIME.
const SCHEDULE_SCRIPT = `
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dueAt = nowMs + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], dueAt, ARGV[1])
local n = redis.call('INCR', KEYS[2])
return {n, dueAt, nowMs}
`;

describe("redis-server (real)", () => {
  let db: RedisDatabase;
  beforeAll(async () => {
    db = await useFreshRedisDatabase();
  });
  afterAll(async () => {
    await db.close();
  });

  it("gives each test file an empty database", async () => {
    expect(db.db).toBeGreaterThan(0);
    expect(await db.client.dbsize()).toBe(0);
  });

  it("runs a Lua script atomically with the server's clock", async () => {
    const before = Date.now();
    const [count, dueAt, nowMs] = (await db.client.eval(
      SCHEDULE_SCRIPT,
      2,
      "ddq:{0}:scheduled",
      "ddq:{0}:count",
      "task-1",
      "30000",
    )) as [number, number, number];
    expect(count).toBe(1);
    expect(dueAt - nowMs).toBe(30_000);
    expect(Math.abs(nowMs - before)).toBeLessThan(5_000);
    expect(Number(await db.client.zscore("ddq:{0}:scheduled", "task-1"))).toBe(dueAt);
  });

  it("answers NOSCRIPT after SCRIPT FLUSH, and a defined command reloads its script", async () => {
    const client = db.client.duplicate();
    client.defineCommand("scheduleTask", { numberOfKeys: 2, lua: SCHEDULE_SCRIPT });
    // defineCommand adds a method at run time; ioredis's types cannot know its name.
    const schedule = (
      Reflect.get(client, "scheduleTask") as (...args: string[]) => Promise<unknown>
    ).bind(client);
    const sha = (await client.script("LOAD", SCHEDULE_SCRIPT)) as string;
    await client.script("FLUSH");
    await expect(client.evalsha(sha, 2, "a", "b", "x", "1")).rejects.toThrow(/NOSCRIPT/);
    await expect(schedule("ddq:{0}:scheduled", "ddq:{0}:count", "task-2", "0")).resolves.toEqual([
      2,
      expect.any(Number),
      expect.any(Number),
    ]);
    client.disconnect();
  });
});

describe("a private redis-server with appendfsync always", () => {
  it("keeps an acknowledged write across kill -9 and restart", async () => {
    const server = await RedisServer.start({ dir: testScratchDir("aof"), appendfsync: "always" });
    try {
      const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: null });
      client.on("error", () => undefined);
      await client.connect();
      await client.set("acknowledged", "yes");
      await server.kill9();
      await server.restart();
      expect(await client.get("acknowledged")).toBe("yes");
      client.disconnect();
    } finally {
      await server.stop();
    }
  });
});
