import { describe, expect, it } from "vitest";
import { WorkQueue } from "../../operator/workQueue.js";

describe("WorkQueue", () => {
  it("queues a key once, and never hands a key being processed to a second worker", async () => {
    const queue = new WorkQueue();
    queue.add("a");
    queue.add("a");
    queue.add("b");
    expect(queue.length).toBe(2);
    const first = await queue.get();
    expect(first).toBe("a");
    queue.add("a"); // while processing: queued again only when done
    expect(await queue.get()).toBe("b");
    expect(queue.length).toBe(0);
    let got: string | undefined;
    void queue.get().then((key) => (got = key));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(got).toBeUndefined();
    queue.done("a");
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(got).toBe("a");
    queue.shutDown();
  });

  it("addAfter keeps the earliest delay of a key", async () => {
    const queue = new WorkQueue();
    queue.addAfter("k", 10_000);
    queue.addAfter("k", 20);
    queue.addAfter("k", 5_000);
    expect(queue.delayedCount).toBe(1);
    const started = Date.now();
    expect(await queue.get()).toBe("k");
    // The 20 ms delay, not the 5 s one (a loaded machine may add seconds, not five).
    expect(Date.now() - started).toBeLessThan(4_000);
    queue.shutDown();
  });

  it("backs off per key exponentially up to the cap, and forget resets it", () => {
    const queue = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1_000, burst: 1_000 });
    const delays = Array.from({ length: 6 }, () => queue.addRateLimited("x"));
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(queue.nextDelayMs("y")).toBe(100);
    queue.forget("x");
    expect(queue.nextDelayMs("x")).toBe(100);
    queue.shutDown();
  });

  it("the overall token bucket spaces retries beyond the burst", () => {
    const queue = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 1, ratePerSecond: 10, burst: 2 });
    const delays = ["a", "b", "c", "d"].map((key) => queue.addRateLimited(key));
    expect(delays.slice(0, 2)).toEqual([1, 1]);
    expect(delays[2]).toBeGreaterThanOrEqual(90);
    expect(delays[3]).toBeGreaterThan(delays[2] ?? 0);
    queue.shutDown();
  });

  it("shutDown releases waiting workers", async () => {
    const queue = new WorkQueue();
    const waiting = queue.get();
    queue.shutDown();
    expect(await waiting).toBeUndefined();
  });
});
