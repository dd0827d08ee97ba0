import { describe, expect, it } from "vitest";
import { ReadyWaiters } from "../../scheduler/readyWaiters.js";

/** Whether `promise` has settled, after the microtasks queued so far have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe("ReadyWaiters", () => {
  it("wakes one parked waiter per notification, the longest parked first", async () => {
    const waiters = new ReadyWaiters();
    const a = waiters.register(["t"]);
    const b = waiters.register(["t"]);
    const aParked = a.wait(60_000);
    const bParked = b.wait(60_000);
    waiters.notify("t");
    expect(await settled(aParked)).toBe(true);
    expect(await settled(bParked)).toBe(false);
    waiters.notify("t");
    expect(await settled(bParked)).toBe(true);
    expect(waiters.size).toBe(0);
  });

  it("ignores other topics", async () => {
    const waiters = new ReadyWaiters();
    const a = waiters.register(["t"]);
    const parked = a.wait(60_000);
    waiters.notify("u");
    expect(await settled(parked)).toBe(false);
    waiters.wakeAll();
    expect(await settled(parked)).toBe(true);
  });

  it("marks every leasing waiter when none is parked: they do not park", async () => {
    const waiters = new ReadyWaiters();
    const a = waiters.register(["t"]);
    const b = waiters.register(["t", "u"]);
    waiters.notify("t");
    // Both were mid-round: neither parks through the notification.
    expect(await settled(a.wait(60_000))).toBe(true);
    expect(await settled(b.wait(60_000))).toBe(true);
  });

  it("prefers a parked waiter to marking leasing ones", async () => {
    const waiters = new ReadyWaiters();
    const leasing = waiters.register(["t"]);
    const parkedWaiter = waiters.register(["t"]);
    const parked = parkedWaiter.wait(60_000);
    waiters.notify("t");
    expect(await settled(parked)).toBe(true);
    expect(leasing.marked).toBe(false);
    waiters.done(leasing, 0, 10);
  });

  it("passes a notification on when the round failed", async () => {
    const waiters = new ReadyWaiters();
    const failing = waiters.register(["t"]);
    const other = waiters.register(["t"]);
    const otherParked = other.wait(60_000);
    waiters.done(failing, 0, 10, true);
    expect(await settled(otherParked)).toBe(true);
  });

  it("a marked waiter returning with some tasks does not pass on (later rounds read the queue)", async () => {
    const waiters = new ReadyWaiters();
    const returning = waiters.register(["t"]);
    waiters.notify("t"); // marks it: nobody is parked
    // Registered after the notification: its own round sees the tasks.
    const later = waiters.register(["t"]);
    const laterParked = later.wait(60_000);
    waiters.done(returning, 3, 10);
    expect(await settled(laterParked)).toBe(false);
    waiters.wakeAll();
    await laterParked;
  });

  it("passes on when a waiter got all it asked for (more may be ready)", async () => {
    const waiters = new ReadyWaiters();
    const full = waiters.register(["t"]);
    const other = waiters.register(["t"]);
    const otherParked = other.wait(60_000);
    waiters.done(full, 10, 10);
    expect(await settled(otherParked)).toBe(true);
  });

  it("does not pass on when a waiter got fewer than it asked for, unnotified", async () => {
    const waiters = new ReadyWaiters();
    const partial = waiters.register(["t"]);
    const other = waiters.register(["t"]);
    const otherParked = other.wait(60_000);
    waiters.done(partial, 4, 10);
    expect(await settled(otherParked)).toBe(false);
    waiters.wakeAll();
    await otherParked;
  });

  it("ends a wait on abort and on timeout, unregistered", async () => {
    const waiters = new ReadyWaiters();
    const controller = new AbortController();
    const aborted = waiters.register(["t"]).wait(60_000, controller.signal);
    controller.abort();
    await aborted;
    await waiters.register(["t"]).wait(1);
    expect(waiters.size).toBe(0);
  });
});
