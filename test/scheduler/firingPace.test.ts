import { describe, expect, it } from "vitest";
import { FiringPace } from "../../scheduler/engine/firingLoop.js";

describe("FiringPace", () => {
  it("passes at the due time while tasks move less often than its rate", () => {
    const pace = new FiringPace(10, 100, 20);
    // A moving pass every 16 ms (62 a second): never throttled.
    for (let t = 1_000_003; t < 1_010_000; t += 16) expect(pace.next(t, true)).toBe(t);
  });

  it("moves to shared ticks once moving passes outrun the rate, and back when the load drops", () => {
    const pace = new FiringPace(10, 100, 20);
    let t = 2_000_000;
    // A moving pass every millisecond: the burst of 20 lasts about 22 ms.
    let free = 0;
    for (; pace.next(t, true) === t; t += 1) free += 1;
    expect(free).toBeGreaterThanOrEqual(20);
    expect(free).toBeLessThan(30);
    // Ticking: the next pass is the next multiple of 10 ms, whatever shard asks.
    expect(pace.next(t + 1, true)).toBe(Math.floor((t + 1) / 10) * 10 + 10);
    // Still a pass every tick with tasks: it stays on ticks.
    for (let tick = Math.floor(t / 10) * 10 + 10; tick < t + 1_000; tick += 10) {
      expect(pace.next(tick, true)).toBe(tick + 10);
    }
    // Quiet for a while, then a moving pass: back to due times.
    t += 2_000;
    expect(pace.next(t, false)).toBe(Math.floor(t / 10) * 10 + 10);
    expect(pace.next(t + 5, true)).toBe(t + 5);
  });

  it("shards' clocks a few ms apart do not refill the same interval twice", () => {
    const pace = new FiringPace(10, 100, 20);
    let t = 3_000_000;
    // Two shards alternate, one clock 6 ms ahead of the other, each passing every millisecond:
    // the refill is 0.1 a millisecond, so the burst runs out as with one clock.
    let free = 0;
    for (let i = 0; i < 200; i += 1, t += 1) {
      const now = i % 2 === 0 ? t : t + 6;
      if (pace.next(now, true) === now) free += 1;
    }
    expect(free).toBeLessThan(30);
  });

  it("a pass that moved nothing does not spend the budget", () => {
    const pace = new FiringPace(10, 100, 2);
    expect(pace.next(5_000_000, false)).toBe(5_000_000);
    expect(pace.next(5_000_001, false)).toBe(5_000_001);
    expect(pace.next(5_000_002, true)).toBe(5_000_002);
    expect(pace.next(5_000_003, true)).toBe(5_000_003);
    expect(pace.next(5_000_004, true)).toBe(5_000_010);
  });
});
