import { describe, expect, it } from "vitest";
import { parseScheduleExpression } from "../../scheduler/cron/cronExpression.js";
import { compileCronTiming, type CronTiming } from "../../scheduler/cron/cronSchedule.js";
import { nextFireAfter, previewFires } from "../../scheduler/cron/nextFire.js";
import { validateCronTiming } from "../../scheduler/cron/validateTiming.js";
import { DdqError } from "../../scheduler/engine/errors.js";

const NOW = Date.parse("2026-01-01T00:00:00Z");

function errorOf(action: () => unknown): DdqError {
  try {
    action();
  } catch (error) {
    if (error instanceof DdqError) return error;
    throw error;
  }
  throw new Error("expected a DdqError");
}

const cases: { name: string; timing: CronTiming; field: string; message: RegExp }[] = [
  {
    name: "no expressions",
    timing: { schedules: [] },
    field: "schedules",
    message: /non-empty list/,
  },
  {
    name: "not a list",
    timing: { schedules: "@daily" as unknown as string[] },
    field: "schedules",
    message: /non-empty list/,
  },
  {
    name: "too many expressions",
    timing: { schedules: Array.from({ length: 33 }, () => "@daily") },
    field: "schedules",
    message: /at most 32/,
  },
  {
    name: "a minute out of range, in the second expression",
    timing: { schedules: ["@daily", "61 * * * *"] },
    field: "schedules[1]",
    message: /invalid cron expression "61 \* \* \* \*": Constraint error/,
  },
  {
    name: "too few fields",
    timing: { schedules: ["* * *"] },
    field: "schedules[0]",
    message: /expected 5 fields .* or 6 \(second first\), got 3/,
  },
  {
    name: "too many fields",
    timing: { schedules: ["0 0 0 * * * 2026"] },
    field: "schedules[0]",
    message: /got 7/,
  },
  {
    name: "an empty expression",
    timing: { schedules: ["  "] },
    field: "schedules[0]",
    message: /must not be empty/,
  },
  {
    name: "not a string",
    timing: { schedules: [5 as unknown as string] },
    field: "schedules[0]",
    message: /must be a string/,
  },
  {
    name: "an unknown name",
    timing: { schedules: ["0 0 * * FUN"] },
    field: "schedules[0]",
    message: /unknown weekday name "FUN"/,
  },
  {
    name: "a full month name",
    timing: { schedules: ["0 0 * JANUARY *"] },
    field: "schedules[0]",
    message: /unknown month name "JANUARY": months are 1-12 or JAN\.\.DEC/,
  },
  {
    name: "a full weekday name",
    timing: { schedules: ["0 0 * * monday"] },
    field: "schedules[0]",
    message: /unknown weekday name "monday": weekdays are 0-7 .* or SUN\.\.SAT/,
  },
  {
    name: "a weekday name in the month field",
    timing: { schedules: ["0 0 * MON *"] },
    field: "schedules[0]",
    message: /unknown month name "MON"/,
  },
  {
    name: "names run together",
    timing: { schedules: ["0 0 * * SUNMON"] },
    field: "schedules[0]",
    message: /unknown weekday name "SUNMON"/,
  },
  {
    name: "a value listed twice (cron-parser rejects overlapping list items)",
    timing: { schedules: ["0 1-5,3 * * *"] },
    field: "schedules[0]",
    message: /duplicate values found: 3/,
  },
  {
    name: "a hashed value",
    timing: { schedules: ["H * * * *"] },
    field: "schedules[0]",
    message: /hashed values \(H\) are not supported/,
  },
  {
    name: "an unknown macro",
    timing: { schedules: ["@reboot"] },
    field: "schedules[0]",
    message: /unknown macro "@reboot"/,
  },
  {
    name: "@every below 1s",
    timing: { schedules: ["@every 500ms"] },
    field: "schedules[0]",
    message: /shorter than the minimum of 1s/,
  },
  {
    name: "@every not in whole seconds",
    timing: { schedules: ["@every 1500ms"] },
    field: "schedules[0]",
    message: /whole number of seconds/,
  },
  {
    name: "@every with a bad duration",
    timing: { schedules: ["@every 1.5h"] },
    field: "schedules[0]",
    message: /invalid @every duration "1.5h"/,
  },
  {
    name: "@every without a duration",
    timing: { schedules: ["@every"] },
    field: "schedules[0]",
    message: /expected "@every <duration>"/,
  },
  {
    name: "@every longer than a year",
    timing: { schedules: ["@every 8785h"] },
    field: "schedules[0]",
    message: /longer than the maximum of 8784h/,
  },
  {
    name: "Feb 30 (rejected by cron-parser when parsing)",
    timing: { schedules: ["0 0 30 2 *"] },
    field: "schedules[0]",
    message: /never fires: its day of month does not occur in any of its months/,
  },
  {
    name: "April 31 and June 31",
    timing: { schedules: ["@hourly", "0 0 31 4,6 *"] },
    field: "schedules[1]",
    message: /never fires/,
  },
  {
    name: "an unknown time zone",
    timing: { schedules: ["@daily"], timeZone: "Mars/Olympus_Mons" },
    field: "timeZone",
    message: /unknown IANA time zone "Mars\/Olympus_Mons"/,
  },
  {
    name: "an offset instead of a zone",
    timing: { schedules: ["@daily"], timeZone: "+05:00" },
    field: "timeZone",
    message: /unknown IANA time zone/,
  },
  {
    name: "an unknown gap policy",
    timing: { schedules: ["@daily"], dstGap: "later" as unknown as "skip" },
    field: "dstGap",
    message: /must be one of "shift", "skip", got "later"/,
  },
  {
    name: "an unknown fold policy",
    timing: { schedules: ["@daily"], dstFold: "both" as unknown as "last" },
    field: "dstFold",
    message: /must be one of "first", "last"/,
  },
  {
    name: "a fractional startAt",
    timing: { schedules: ["@daily"], startAt: 1.5 },
    field: "startAt",
    message: /integer number of epoch milliseconds/,
  },
  {
    name: "an endAt beyond year 9999",
    timing: { schedules: ["@daily"], endAt: 9e15 },
    field: "endAt",
    message: /from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z/,
  },
  {
    name: "endAt equal to startAt",
    timing: { schedules: ["@daily"], startAt: NOW, endAt: NOW },
    field: "endAt",
    message: /must be after startAt/,
  },
  {
    name: "endAt before startAt",
    timing: { schedules: ["@daily"], startAt: NOW, endAt: NOW - 1 },
    field: "endAt",
    message: /must be after startAt/,
  },
  {
    name: "a schedule that fires only in a skipped gap",
    timing: { schedules: ["30 2 * 3 0#2"], timeZone: "America/New_York", dstGap: "skip" },
    field: "schedules[0]",
    message:
      /"30 2 \* 3 0#2" never fires in America\/New_York \(dstGap "skip", dstFold "first"\): no fire within 50 years after 2026-01-01T00:00:00.000Z/,
  },
];

describe("validateCronTiming rejects bad input with the field at fault", () => {
  it.each(cases)("$name -> $field", ({ timing, field, message }) => {
    const error = errorOf(() => validateCronTiming(timing, NOW));
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(`${field}: `)).toBe(true);
  });

  it("nextFireAfter and previewFires reject bad timings and arguments the same way", () => {
    expect(errorOf(() => nextFireAfter({ schedules: ["61 * * * *"] }, NOW)).field).toBe(
      "schedules[0]",
    );
    expect(errorOf(() => nextFireAfter({ schedules: ["@daily"] }, Number.NaN)).field).toBe(
      "afterMs",
    );
    expect(errorOf(() => previewFires({ schedules: ["@daily"] }, NOW, -1)).field).toBe("n");
    expect(errorOf(() => previewFires({ schedules: ["@daily"] }, NOW, 1.5)).field).toBe("n");
  });
});

describe("validateCronTiming accepts good input and applies defaults", () => {
  it("defaults", () => {
    const schedule = validateCronTiming({ schedules: ["*/5 * * * *"] }, NOW);
    expect(schedule).toMatchObject({
      timeZone: "UTC",
      dstGap: "shift",
      dstFold: "first",
      startAt: undefined,
      endAt: undefined,
    });
    expect(schedule.expressions).toHaveLength(1);
  });

  it("canonical zone names", () => {
    expect(
      validateCronTiming({ schedules: ["@daily"], timeZone: "US/Eastern" }, NOW).timeZone,
    ).toBe("America/New_York");
  });

  it("a gap-only schedule is fine with shift", () => {
    expect(() =>
      validateCronTiming({ schedules: ["30 2 * 3 0#2"], timeZone: "America/New_York" }, NOW),
    ).not.toThrow();
  });

  it("rare but real schedules within the 50-year bound", () => {
    expect(() => validateCronTiming({ schedules: ["0 0 * 2 1#5"] }, NOW)).not.toThrow(); // 2044
    expect(() => validateCronTiming({ schedules: ["0 0 29 2 *"] }, NOW)).not.toThrow();
  });

  it("a window without fires is not an error of the expression", () => {
    expect(() =>
      validateCronTiming(
        {
          schedules: ["@yearly"],
          startAt: Date.parse("2026-02-01T00:00:00Z"),
          endAt: Date.parse("2026-03-01T00:00:00Z"),
        },
        NOW,
      ),
    ).not.toThrow();
  });

  it("normalizes expressions to six fields", () => {
    const normalized = (text: string): string => {
      const expression = parseScheduleExpression("schedules[0]", text);
      return expression.kind === "calendar"
        ? expression.normalized
        : `every ${expression.periodMs}`;
    };
    expect(normalized(" 5  4 * * * ")).toBe("0 5 4 * * *");
    expect(normalized("1 2 3 * * *")).toBe("1 2 3 * * *");
    expect(normalized("@midnight")).toBe("0 0 0 * * *");
    expect(normalized("@weekly")).toBe("0 0 0 * * 0");
    expect(normalized("@every 1h30m")).toBe("every 5400000");
    expect(normalized("@every 2000ms")).toBe("every 2000");
    expect(normalized("0 0 * * THU")).toBe("0 0 0 * * THU");
  });

  it("compileCronTiming does not search for fires", () => {
    expect(() =>
      compileCronTiming({
        schedules: ["30 2 * 3 0#2"],
        timeZone: "America/New_York",
        dstGap: "skip",
      }),
    ).not.toThrow();
  });
});
