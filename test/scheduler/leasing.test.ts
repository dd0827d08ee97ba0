/**
 * Lease rounds and the caller's signal (pure logic, over a host that records its script calls):
 * once the signal aborted, no script call starts, neither a long-poll's next round nor a round's
 * top-ups.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, type LeasedTask } from "../../scheduler/engine/model.js";
import { Leasing, type LeaseHost } from "../../scheduler/leasing.js";

interface Call {
  shard: number;
  topics: readonly string[];
  max: number;
}

function task(shard: number, n: number): LeasedTask {
  return {
    id: `task-${shard}-${n}`,
    topic: "t",
    payload: new Uint8Array(),
    attempt: 1,
    maxAttempts: 5,
    leaseToken: `token-${n}`,
    leaseExpiresAtMs: Date.now() + 30_000,
  };
}

/** A host leading `shards`; `answer` says what each script call returns. */
function fakeHost(
  shards: readonly number[],
  answer: (call: Call) => { tasks: LeasedTask[]; drained: string[] },
): { host: LeaseHost; calls: Call[] } {
  const calls: Call[] = [];
  const host: LeaseHost = {
    limits: DEFAULT_LIMITS,
    ledShards: () => shards,
    leaseOnShard: (shard, topics, max) => {
      const call = { shard, topics, max };
      calls.push(call);
      return Promise.resolve(answer(call));
    },
    leasesExpireAt: () => undefined,
    stopping: () => false,
    log: () => undefined,
  };
  return { host, calls };
}

describe("Leasing and the caller's signal", () => {
  it("a cancelled long-poll starts no round after the cancellation", async () => {
    // Nothing ready, and no queue ever reported empty: each round asks every shard.
    const { host, calls } = fakeHost([0, 1], () => ({ tasks: [], drained: [] }));
    const leasing = new Leasing(host);
    const controller = new AbortController();
    const leased = leasing.lease({
      topics: ["t"],
      max: 1,
      waitMs: 60_000,
      signal: controller.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toHaveLength(2);
    controller.abort();
    expect(await leased).toEqual([]);
    expect(calls).toHaveLength(2);
  });

  it("a round starts no top-up once the signal aborted during it", async () => {
    const controller = new AbortController();
    // Shard 0 has none; the others fill their share (they may have more, a top-up would ask
    // them again), and the caller goes away meanwhile.
    const { host, calls } = fakeHost([0, 1, 2], (call) => {
      controller.abort();
      if (call.shard === 0) return { tasks: [], drained: ["t"] };
      return {
        tasks: Array.from({ length: call.max }, (_, n) => task(call.shard, n)),
        drained: [],
      };
    });
    const leased = await new Leasing(host).lease({
      topics: ["t"],
      max: 9,
      signal: controller.signal,
    });
    expect(leased).toHaveLength(6);
    expect(calls).toHaveLength(3);
  });

  it("asks a shard once for all of a lease's topics, and not again for the topics it drained", async () => {
    const topics = Array.from({ length: 100 }, (_, i) => `t${i}`);
    const { host, calls } = fakeHost([0, 1], (call) => ({ tasks: [], drained: [...call.topics] }));
    const leasing = new Leasing(host);
    expect(await leasing.lease({ topics, max: 10 })).toEqual([]);
    expect(calls.map((c) => c.topics.length)).toEqual([100, 100]);
    expect(await leasing.lease({ topics, max: 10 })).toEqual([]);
    expect(calls).toHaveLength(2);
    // A task became ready: only its shard is asked, for its topic.
    leasing.notifyReady(1, "t7");
    await leasing.lease({ topics, max: 10 });
    expect(calls.slice(2)).toEqual([{ shard: 1, topics: ["t7"], max: 10 }]);
  });

  it("refuses more topics than the limit before any script call", async () => {
    const { host, calls } = fakeHost([0], () => ({ tasks: [], drained: [] }));
    const topics = Array.from({ length: DEFAULT_LIMITS.maxLeaseTopics + 1 }, (_, i) => `t${i}`);
    await expect(new Leasing(host).lease({ topics, max: 1 })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      field: "topics",
    });
    expect(calls).toHaveLength(0);
  });
});
