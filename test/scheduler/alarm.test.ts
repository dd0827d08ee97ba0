import { describe, expect, it } from "vitest";
import { Alarm } from "../../scheduler/engine/firingLoop.js";

describe("the firing loop's alarm", () => {
  it("sleeps for the given time when nobody rings", async () => {
    const alarm = new Alarm();
    const started = Date.now();
    await alarm.sleep(30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it("wakes a sleeper at once when rung", async () => {
    const alarm = new Alarm();
    const started = Date.now();
    const sleeping = alarm.sleep(60_000);
    alarm.ring();
    await sleeping;
    expect(Date.now() - started).toBeLessThan(30_000); // not the 60 s sleep
  });

  it("remembers a ring while nobody sleeps, so the next sleep ends at once (no lost wake-up)", async () => {
    const alarm = new Alarm();
    alarm.ring(); // e.g. an earlier task was enqueued while the loop was in a pass
    const started = Date.now();
    await alarm.sleep(60_000);
    expect(Date.now() - started).toBeLessThan(30_000); // not the 60 s sleep
    // ...and only once: the sleep after that one waits again.
    const second = Promise.race([
      alarm.sleep(200).then(() => "slept"),
      new Promise((r) =>
        setTimeout(() => {
          r("timer");
        }, 100),
      ),
    ]);
    expect(await second).toBe("timer");
  });
});
