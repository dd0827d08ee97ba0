/**
 * Long-poll leases are woken one at a time (scheduler/readyWaiters.ts): a ready task wakes one
 * parked lease, not all of them, and no parked lease sleeps through tasks it could take.
 */
import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LeasedTask } from "../../scheduler/engine/model.js";
import { scriptSource } from "../../scheduler/engine/scripts.js";
import type { Scheduler } from "../../scheduler/scheduler.js";
import { RedisServer } from "../env/redisServer.js";
import { testScratchDir } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { startTestScheduler } from "./support.js";

// A private redis-server: the test watches the lease script calls it runs.
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

/** The SHA1 ioredis sends the lease script under (EVALSHA). */
const LEASE_SHA = createHash("sha1").update(scriptSource("lease")).digest("hex");

/**
 * Counts the lease script's calls from now until `stop()`, through MONITOR: only lease rounds are
 * counted, not the election renewals or firing passes the scheduler runs meanwhile, so the count
 * does not depend on how long a loaded machine takes.
 */
async function countLeaseCalls(): Promise<{ stop: () => Promise<number> }> {
  const monitor = await new Redis(server.url).monitor();
  let calls = 0;
  monitor.on("monitor", (_time: string, args: string[]) => {
    if (args[0]?.toLowerCase() === "evalsha" && args[1] === LEASE_SHA) calls += 1;
  });
  return {
    stop: async () => {
      // A PING through a second connection: MONITOR has passed on every command before it.
      const probe = new Redis(server.url);
      const marker = `lease-wakeups-${Math.random()}`;
      const seen = new Promise<void>((resolve) => {
        monitor.on("monitor", (_time: string, args: string[]) => {
          if (args[1] === marker) resolve();
        });
      });
      await probe.echo(marker);
      await seen;
      probe.disconnect();
      monitor.disconnect();
      return calls;
    },
  };
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
    const leaseCalls = await countLeaseCalls();
    await scheduler.enqueue({ topic: "one" });
    await waitFor(() => waiters.some((w) => w.done), { description: "a lease to return" });
    await settle();
    const done = waiters.filter((w) => w.done);
    expect(done).toHaveLength(1);
    // One woken lease's round, and perhaps one top-up: waking all five would cost five calls.
    expect(await leaseCalls.stop()).toBeLessThanOrEqual(2);
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
