/**
 * The ends of the range: a fire's instant and its wall clock in the schedule's zone both lie in
 * years 0001..9999 (docs/CRON.md, "Limits"), so every fire prints as an RFC 3339 time in UTC and
 * in its zone, in every zone offset.
 */
import { describe, expect, it } from "vitest";
import { isDdqError } from "../../scheduler/engine/errors.js";
import { MAX_INSTANT_MS, MIN_INSTANT_MS } from "../../scheduler/cron/cronSchedule.js";
import { fireRange, nextFireAfter, previewFires } from "../../scheduler/cron/nextFire.js";
import { validateCronTiming } from "../../scheduler/cron/validateTiming.js";
import { offsetAt } from "../../scheduler/cron/zonedTime.js";

const HOUR = 3_600_000;

/** Etc/GMT+12 (UTC-12) .. Etc/GMT-14 (UTC+14), and zones with offsets that are not whole hours. */
const ZONES = [
  ...Array.from({ length: 27 }, (_, i) => {
    const hours = i - 12; // UTC-12 .. UTC+14; Etc/GMT names have the sign inverted
    return hours === 0 ? "UTC" : `Etc/GMT${hours > 0 ? "-" : "+"}${Math.abs(hours)}`;
  }),
  "Europe/Berlin",
  "America/New_York",
  "Asia/Kathmandu",
  "Asia/Kolkata",
  "Pacific/Chatham",
  "Pacific/Marquesas",
  "America/St_Johns",
  "Australia/Lord_Howe",
  "Pacific/Kiritimati",
];

const RFC3339_LOCAL = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d(:\d\d)?$/;

describe("fires near year 9999 and year 1", () => {
  it.each(ZONES)("%s: the last fires print as years <= 9999, and nothing follows", (timeZone) => {
    const { lastMs } = fireRange(timeZone);
    const cases: [string, number][] = [
      ["0 * * * *", 3 * HOUR],
      ["@every 1h", 3 * HOUR],
      ["* * * * * *", 100_000],
      ["0 0 0 31 12 *", 48 * HOUR],
    ];
    for (const [expression, before] of cases) {
      const timing = validateCronTiming(
        { schedules: [expression], timeZone },
        Date.UTC(2026, 0, 1),
      );
      const fires = previewFires(timing, lastMs - before, 1000);
      expect(fires.length).toBeGreaterThan(0);
      for (const fire of fires) {
        expect(fire.wallClock).toMatch(RFC3339_LOCAL);
        expect(fire.wallClock.startsWith("9999-")).toBe(true);
        expect(fire.utc.startsWith("9999-")).toBe(true);
        expect(fire.atMs).toBeLessThanOrEqual(lastMs);
      }
      const last = fires[fires.length - 1]?.atMs ?? 0;
      expect(nextFireAfter(timing, last)).toBeUndefined();
    }
  });

  it.each(ZONES)("%s: the first fires print as years >= 0001", (timeZone) => {
    const { firstMs } = fireRange(timeZone);
    const timing = validateCronTiming({ schedules: ["0 * * * *"], timeZone }, Date.UTC(2026, 0, 1));
    const fires = previewFires(timing, MIN_INSTANT_MS - 1, 3);
    expect(fires.length).toBe(3);
    for (const fire of fires) {
      expect(fire.wallClock).toMatch(RFC3339_LOCAL);
      expect(fire.wallClock.startsWith("0001-")).toBe(true);
      expect(fire.atMs).toBeGreaterThanOrEqual(firstMs);
    }
  });

  it("the range is UTC's shortened by the zone's offset at its ends", () => {
    expect(fireRange("UTC")).toEqual({ firstMs: MIN_INSTANT_MS, lastMs: MAX_INSTANT_MS });
    // UTC+01:00: the last fire is at most 9999-12-31T22:59:59.999Z (23:59:59.999 local).
    expect(new Date(fireRange("Europe/Berlin").lastMs).toISOString()).toBe(
      "9999-12-31T22:59:59.999Z",
    );
    // UTC-05:00: the end is UTC's; the start is 05:00Z on 0001-01-01 plus the local mean time
    // New York kept then (-04:56:02).
    expect(fireRange("America/New_York").lastMs).toBe(MAX_INSTANT_MS);
    expect(fireRange("America/New_York").firstMs).toBe(
      MIN_INSTANT_MS - offsetAt("America/New_York", MIN_INSTANT_MS),
    );
  });

  it("a fire at 9999-12-31T23:00Z in a UTC+1 zone does not exist (its local time is year 10000)", () => {
    const timing = { schedules: ["0 * * * *"], timeZone: "Etc/GMT-1" };
    const fires = previewFires(timing, Date.parse("9999-12-31T21:30:00Z"), 10);
    expect(fires.map((f) => f.wallClock)).toEqual([
      "9999-12-31T23:00:00+01:00", // 22:00Z
    ]);
  });

  it("refuses instants after the last one, naming the bound", () => {
    for (const field of ["startAt", "endAt"] as const) {
      let caught: unknown;
      try {
        validateCronTiming({ schedules: ["@daily"], [field]: MAX_INSTANT_MS + 1 });
      } catch (error) {
        caught = error;
      }
      expect(isDdqError(caught, "INVALID_ARGUMENT")).toBe(true);
      expect((caught as Error).message).toContain(
        `${field}: must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z`,
      );
    }
    expect(() => nextFireAfter({ schedules: ["@daily"] }, MAX_INSTANT_MS + 1)).toThrow(
      /afterMs: must be an epoch-ms instant from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59\.999Z/,
    );
  });
});
