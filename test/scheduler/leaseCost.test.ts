/**
 * What a lease costs in Redis: one script call per led shard for all of its topics (an empty
 * topic costs no call of its own), a bounded number of topics, and no script call once the
 * caller's signal aborted. Scans (list, purge) stop at the signal too. Counted with INFO
 * commandstats on a private redis-server, so the assertions do not depend on the machine's speed.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DdqError } from "../../scheduler/engine/errors.js";
import type { Scheduler } from "../../scheduler/scheduler.js";
import { RedisServer } from "../env/redisServer.js";
import { testScratchDir } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { startTestScheduler } from "./support.js";
import { DEFAULT_LEASE_TIMING } from "../../scheduler/leadership/leaseBackend.js";

const SHARDS = 16;
/** The documented limit of topics per lease (docs/API.md, Limits). */
const MAX_TOPICS = 256;
/** Script calls other than the ones measured that may fall in a window (elections, loops). */
const NOISE = 30;

let server: RedisServer;
let stats: Redis;
let scheduler: Scheduler;

beforeAll(async () => {
  server = await RedisServer.start({ dir: testScratchDir("lease-cost") });
  stats = new Redis(server.url);
  // Default election timing: fewer renewals in the counts than the fast test timing.
  scheduler = await startTestScheduler(server, {
    shardCount: SHARDS,
    leaseTiming: DEFAULT_LEASE_TIMING,
  });
  await waitFor(() => scheduler.ledShards().length === SHARDS, {
    description: `all ${SHARDS} shards led`,
    timeoutMs: 60_000,
  });
  // Loads the lease script (a first call is EVALSHA, NOSCRIPT, then EVAL).
  await scheduler.lease({ topics: ["warm-up"], max: 1 });
});

afterAll(async () => {
  await scheduler.stop();
  stats.disconnect();
  await server.stop();
});

/** Script calls (EVALSHA and EVAL) the server has run so far. */
async function scriptCalls(): Promise<number> {
  const info = await stats.info("commandstats");
  const calls = (command: string): number =>
    Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? "0");
  return calls("evalsha") + calls("eval");
}

function freshTopics(label: string, count = MAX_TOPICS): string[] {
  return Array.from({ length: count }, (_, i) => `${label}-${i}`);
}

/** Enqueues `count` tasks of `topic` on `shard` (idempotency keys chosen to land there). */
async function onShard(topic: string, shard: number, count: number): Promise<string[]> {
  const specs = [];
  for (let i = 0; specs.length < count; i += 1) {
    const key = `${topic}-${shard}-${i}`;
    if (scheduler.shardOfIdempotencyKey(key) === shard) specs.push({ topic, idempotencyKey: key });
  }
  return (await scheduler.enqueueBatch(specs)).map((r) => r.task.id);
}

describe("the cost of a lease", () => {
  it("over the most topics, all empty: one script call per shard, not one per topic", async () => {
    const topics = freshTopics("empty");
    const before = await scriptCalls();
    expect(await scheduler.lease({ topics, max: 100 })).toEqual([]);
    // 256 topics x 16 shards were 4,096 calls.
    expect((await scriptCalls()) - before).toBeLessThanOrEqual(SHARDS + NOISE);
    // Known empty now: the next lease over them asks no shard.
    const again = await scriptCalls();
    expect(await scheduler.lease({ topics, max: 100 })).toEqual([]);
    expect((await scriptCalls()) - again).toBeLessThanOrEqual(NOISE);
  });

  it("refuses more topics than the limit, naming topics", async () => {
    const topics = freshTopics("over", MAX_TOPICS + 1);
    const before = await scriptCalls();
    const error = await scheduler.lease({ topics, max: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DdqError);
    expect(error).toMatchObject({ code: "INVALID_ARGUMENT", field: "topics" });
    expect((error as Error).message).toContain(`at most ${MAX_TOPICS}`);
    expect((await scriptCalls()) - before).toBeLessThanOrEqual(NOISE);
  });

  it("starts no script call once its signal aborted", async () => {
    const topics = freshTopics("aborted");
    const before = await scriptCalls();
    const leased = await scheduler.lease({
      topics,
      max: 100,
      waitMs: 5_000,
      signal: AbortSignal.abort(),
    });
    expect(leased).toEqual([]);
    expect((await scriptCalls()) - before).toBeLessThanOrEqual(NOISE);
  });

  it("takes tasks of many topics on many shards in one round, and replays them on a resend", async () => {
    const topicOf = new Map<string, string>();
    for (const [topic, shard, count] of [
      ["mix-a", 0, 3],
      ["mix-b", 5, 2],
      ["mix-c", 15, 1],
    ] as const) {
      for (const id of await onShard(topic, shard, count)) topicOf.set(id, topic);
    }
    const topics = [...freshTopics("mix-empty", 200), "mix-a", "mix-b", "mix-c"];
    const first = await scheduler.lease({ topics, max: 100, requestId: "mix-1" });
    expect(new Map(first.map((t) => [t.id, t.topic]))).toEqual(topicOf);
    const resent = await scheduler.lease({ topics, max: 100, requestId: "mix-1" });
    expect(resent.map((t) => [t.id, t.topic, t.leaseToken]).sort()).toEqual(
      first.map((t) => [t.id, t.topic, t.leaseToken]).sort(),
    );
    for (const id of topicOf.keys()) expect((await scheduler.get(id)).state).toBe("leased");
  });

  it("serves the topics in the order given on a shard", async () => {
    await onShard("order-second", 3, 2);
    await onShard("order-first", 3, 2);
    const got = await scheduler.lease({ topics: ["order-first", "order-second"], max: 3 });
    expect(got.map((t) => t.topic).sort()).toEqual(["order-first", "order-first", "order-second"]);
  });
});

describe("scans stop at the caller's signal", () => {
  it("list starts no read once its signal aborted", async () => {
    const reason = new Error("the caller is gone");
    await expect(scheduler.list({ state: "dead", signal: AbortSignal.abort(reason) })).rejects.toBe(
      reason,
    );
  });

  it("purgeDead stops between script calls once its signal aborted", async () => {
    const reason = new Error("the caller is gone");
    const before = await scriptCalls();
    await expect(scheduler.purgeDead({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect((await scriptCalls()) - before).toBeLessThanOrEqual(NOISE);
  });
});
