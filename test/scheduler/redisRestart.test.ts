import { afterAll, describe, expect, it } from "vitest";
import type { Scheduler } from "../../scheduler/scheduler.js";
import { RedisServer, type AppendFsync } from "../env/redisServer.js";
import { testScratchDir } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { startTestScheduler } from "./support.js";

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

async function schedulerOn(
  appendfsync: AppendFsync,
): Promise<{ server: RedisServer; scheduler: Scheduler }> {
  const server = await RedisServer.start({
    dir: testScratchDir(`aof-${appendfsync}`),
    appendfsync,
  });
  cleanup.push(() => server.stop());
  const scheduler = await startTestScheduler(
    { url: server.url },
    { redisOptions: { maxRetriesPerRequest: null, retryStrategy: () => 50 } },
  );
  cleanup.push(() => scheduler.stop());
  return { server, scheduler };
}

describe("Redis killed with kill -9 and restarted from its append-only file", () => {
  it("with appendfsync always, keeps every acknowledged enqueue, and the scheduler carries on", async () => {
    const { server, scheduler } = await schedulerOn("always");
    const acknowledged = await scheduler.enqueueBatch(
      Array.from({ length: 500 }, (_, i) => ({ topic: "durable", due: { delayMs: 1_000 + i } })),
    );
    await server.kill9();
    await server.restart();

    // Every enqueue that was acknowledged is still there, then fires and is delivered.
    for (const { task } of acknowledged) {
      expect((await scheduler.get(task.id)).state).toMatch(/scheduled|ready/);
    }
    const delivered = new Set<string>();
    await waitFor(
      async () => {
        for (const t of await scheduler.lease({ topics: ["durable"], max: 500, waitMs: 500 })) {
          delivered.add(t.id);
          await scheduler.ack(t.id, t.topic, t.leaseToken);
        }
        return delivered.size === acknowledged.length;
      },
      {
        description: "every acknowledged task to be delivered after the restart",
        timeoutMs: 30_000,
      },
    );
  });

  it("with appendfsync everysec, restarts cleanly with the data flushed before the crash", async () => {
    const { server, scheduler } = await schedulerOn("everysec");
    const acknowledged = await scheduler.enqueueBatch(
      Array.from({ length: 100 }, () => ({ topic: "relaxed" })),
    );
    // everysec may lose up to about a second of acknowledged writes on a crash (see
    // docs/CORRECTNESS.md); after the background fsync has run, nothing written before it is lost.
    await new Promise((r) => setTimeout(r, 1_500));
    await server.kill9();
    await server.restart();
    const leased = await scheduler.lease({ topics: ["relaxed"], max: 100, waitMs: 30_000 });
    expect(leased.map((t) => t.id).sort()).toEqual(acknowledged.map((r) => r.task.id).sort());
  });
});
