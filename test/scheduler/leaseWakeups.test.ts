/**
 * Long-poll leases are woken one at a time (scheduler/readyWaiters.ts): a ready task wakes one
 * parked lease, not all of them, and no parked lease sleeps through tasks it could take.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LeasedTask } from "../../scheduler/engine/model.js";
import type { Scheduler } from "../../scheduler/scheduler.js";
import { RedisServer } from "../env/redisServer.js";
import { testScratchDir } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { startTestScheduler } from "./support.js";

// A private redis-server: the test counts the script calls it runs.
let server: RedisServer;
let scheduler: Scheduler;

beforeAll(async () => {
  server = await RedisServer.start({ dir: testScratchDir("lease-wakeups") });
  scheduler = await startTestScheduler(server);
  await waitFor(() => scheduler.ledShards().length === 4, { description: "all 4 shards led" });
});

afterAll(async () => {
  await scheduler.stop();
  await server.stop();
});

/** Script calls the server has run so far. */
async function scriptCalls(): Promise<number> {
  const redis = new Redis(server.url);
  try {
    const stats = await redis.info("commandstats");
    return Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? "0");
  } finally {
    redis.disconnect();
  }
}

/** Long waits: a lease that returns before them was woken, not timed out. */
const WAIT_MS = 60_000;

interface Parked {
  done: boolean;
  tasks: Promise<LeasedTask[]>;
}

function park(topic: string, max: number, signal: AbortSignal): Parked {
  const parked: Parked = {
    done: false,
    tasks: scheduler.lease({ topics: [topic], max, waitMs: WAIT_MS, signal }),
  };
  void parked.tasks.then(() => {
    parked.done = true;
  });
  return parked;
}

/** Lets every parked lease run its first (empty) round and park. */
async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 200));
}

describe("lease wake-ups", () => {
  it("one ready task wakes one parked lease; the others keep waiting", async () => {
    const stop = new AbortController();
    const waiters = Array.from({ length: 5 }, () => park("one", 10, stop.signal));
    await settle();
    const scriptsBefore = await scriptCalls();
    await scheduler.enqueue({ topic: "one" });
    await waitFor(() => waiters.some((w) => w.done), { description: "a lease to return" });
    await settle();
    const done = waiters.filter((w) => w.done);
    expect(done).toHaveLength(1);
    // The enqueue and one lease (waking all five would have cost five lease calls); one more in
    // case a firing loop happened to pass meanwhile.
    expect((await scriptCalls()) - scriptsBefore).toBeLessThanOrEqual(3);
    expect(await done[0]?.tasks).toHaveLength(1);
    stop.abort();
    const rest = await Promise.all(waiters.map((w) => w.tasks));
    expect(rest.flat()).toHaveLength(1);
  });

  it("a burst larger than one lease's max reaches every parked lease, without timeouts", async () => {
    const stop = new AbortController();
    const waiters = Array.from({ length: 4 }, () => park("burst", 3, stop.signal));
    await settle();
    // One ready notification for 12 tasks: each woken lease that fills its max passes it on.
    await scheduler.enqueueBatch(Array.from({ length: 12 }, () => ({ topic: "burst" })));
    const leased = await Promise.all(waiters.map((w) => w.tasks));
    expect(leased.map((tasks) => tasks.length)).toEqual([3, 3, 3, 3]);
    expect(new Set(leased.flat().map((t) => t.id)).size).toBe(12);
    stop.abort();
  });

  it("tasks made ready while every lease is mid-round are not slept through", async () => {
    for (let round = 0; round < 20; round += 1) {
      const stop = new AbortController();
      const a = park(`race-${round}`, 1, stop.signal);
      const b = park(`race-${round}`, 1, stop.signal);
      // No settle: the enqueues race the leases' first rounds.
      await scheduler.enqueue({ topic: `race-${round}` });
      await scheduler.enqueue({ topic: `race-${round}` });
      const got = await Promise.all([a.tasks, b.tasks]);
      expect(got.flat()).toHaveLength(2);
      stop.abort();
    }
  });
});
