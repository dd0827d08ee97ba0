import { describe, expect, it } from "vitest";
import { checkCronSpec, type CronScheduleSpec } from "../../scheduler/cron/cronSpec.js";
import { planFire } from "../../scheduler/cron/firePlan.js";
import { DEFAULT_DEFAULTS, DEFAULT_LIMITS } from "../../scheduler/engine/model.js";

const spec = (extra: Partial<CronScheduleSpec> = {}): ReturnType<typeof checkCronSpec> =>
  checkCronSpec(
    { id: "p", timing: { schedules: ["@every 1s"] }, task: { topic: "p" }, ...extra },
    DEFAULT_LIMITS,
    DEFAULT_DEFAULTS,
    { full: false },
  );

describe("fire planning after a long outage", () => {
  it("counts every overdue slot and runs the latest, however many there are", () => {
    // 300,001 overdue slots of an every-second schedule (about 3.5 days down).
    const now = 1_000_000_000_000;
    const stored = now - 300_000_000;
    const plan = planFire(spec(), stored, 0, now, 10);
    expect(plan.fire).toEqual([now]);
    expect(plan.missedCount).toBe(300_000);
    expect(plan.missedCountIsLowerBound).toBe(false);
    expect(plan.missed).toHaveLength(10);
    expect(plan.missed.at(-1)?.slotMs).toBe(now - 1000);
    expect(plan.nextSlotMs).toBe(now + 1000);
  });

  it("catch-up All runs the latest burst of a long backlog, counting the rest", () => {
    const now = 2_000_000_000_000;
    const plan = planFire(spec({ catchUp: "All", maxBurst: 3 }), now - 99_000, 0, now, 5);
    expect(plan.fire).toEqual([now - 2000, now - 1000, now]);
    expect(plan.missedCount).toBe(97);
    expect(plan.missed.map((m) => m.slotMs)).toEqual([
      now - 7000,
      now - 6000,
      now - 5000,
      now - 4000,
      now - 3000,
    ]);
  });

  it("judges the deadline on the slots it keeps, and counts older ones missed", () => {
    const now = 3_000_000_000_000;
    const plan = planFire(
      spec({ catchUp: "All", maxBurst: 100, startingDeadlineSeconds: 5 }),
      now - 500_000,
      0,
      now,
      3,
    );
    expect(plan.fire).toEqual([now - 5000, now - 4000, now - 3000, now - 2000, now - 1000, now]);
    expect(plan.missedCount).toBe(495);
  });
});
