import { describe, expect, it } from "vitest";
import {
  canonicalTimeZone,
  foldBounds,
  formatOffset,
  formatWallClock,
  instantToWall,
  offsetAt,
  resolveWall,
  transitionBetween,
  wallFromFields,
} from "../../scheduler/cron/zonedTime.js";

const HOUR = 3_600_000;
const MINUTE = 60_000;
const at = (iso: string): number => Date.parse(iso);

describe("offsetAt / instantToWall", () => {
  it.each([
    ["UTC", "2026-07-01T00:00:00Z", 0],
    ["America/New_York", "2026-01-15T12:00:00Z", -5 * HOUR],
    ["America/New_York", "2026-07-15T12:00:00Z", -4 * HOUR],
    ["Europe/Berlin", "2026-01-15T12:00:00Z", 1 * HOUR],
    ["Europe/Berlin", "2026-07-15T12:00:00Z", 2 * HOUR],
    ["Australia/Lord_Howe", "2026-07-15T12:00:00Z", 10.5 * HOUR],
    ["Australia/Lord_Howe", "2026-01-15T12:00:00Z", 11 * HOUR],
    ["Asia/Kathmandu", "2026-07-15T12:00:00Z", 5 * HOUR + 45 * MINUTE],
    ["Asia/Tokyo", "2026-07-15T12:00:00Z", 9 * HOUR],
    ["Pacific/Chatham", "2026-07-15T12:00:00Z", 12 * HOUR + 45 * MINUTE],
    ["Pacific/Chatham", "2026-01-15T12:00:00Z", 13 * HOUR + 45 * MINUTE],
    // Local mean time before 1883: an offset with seconds.
    ["America/New_York", "1880-01-01T00:00:00Z", -(4 * HOUR + 56 * MINUTE + 2000)],
  ])("%s at %s", (zone, iso, offset) => {
    expect(offsetAt(zone, at(iso))).toBe(offset);
    expect(instantToWall(zone, at(iso))).toBe(at(iso) + offset);
  });

  it("keeps milliseconds", () => {
    expect(instantToWall("Asia/Tokyo", at("2026-01-01T00:00:00.250Z"))).toBe(
      at("2026-01-01T09:00:00.250Z"),
    );
  });

  it("wallFromFields does not map years 0..99 to 1900..1999", () => {
    expect(new Date(wallFromFields(50, 3, 1, 12)).toISOString()).toBe("0050-03-01T12:00:00.000Z");
  });
});

describe("resolveWall", () => {
  it("a wall time that exists once", () => {
    expect(resolveWall("America/New_York", wallFromFields(2026, 6, 1, 12))).toEqual({
      kind: "single",
      instant: at("2026-06-01T16:00:00Z"),
    });
    expect(resolveWall("UTC", wallFromFields(2026, 3, 8, 2, 30))).toEqual({
      kind: "single",
      instant: at("2026-03-08T02:30:00Z"),
    });
  });

  it("New York spring forward: 02:30 on 2026-03-08 is in a gap ending at 07:00Z", () => {
    expect(resolveWall("America/New_York", wallFromFields(2026, 3, 8, 2, 30))).toEqual({
      kind: "gap",
      transition: at("2026-03-08T07:00:00Z"),
      offsetBefore: -5 * HOUR,
      offsetAfter: -4 * HOUR,
    });
    // The first and last second of the gap, and the first wall time after it.
    expect(resolveWall("America/New_York", wallFromFields(2026, 3, 8, 2, 0, 0)).kind).toBe("gap");
    expect(resolveWall("America/New_York", wallFromFields(2026, 3, 8, 2, 59, 59)).kind).toBe("gap");
    expect(resolveWall("America/New_York", wallFromFields(2026, 3, 8, 3, 0, 0))).toEqual({
      kind: "single",
      instant: at("2026-03-08T07:00:00Z"),
    });
    expect(resolveWall("America/New_York", wallFromFields(2026, 3, 8, 1, 59, 59))).toEqual({
      kind: "single",
      instant: at("2026-03-08T06:59:59Z"),
    });
  });

  it("New York fall back: 01:30 on 2026-11-01 exists at 05:30Z and 06:30Z", () => {
    const fold = resolveWall("America/New_York", wallFromFields(2026, 11, 1, 1, 30));
    expect(fold).toEqual({
      kind: "fold",
      earlier: at("2026-11-01T05:30:00Z"),
      later: at("2026-11-01T06:30:00Z"),
    });
    if (fold.kind !== "fold") throw new Error("expected a fold");
    expect(foldBounds("America/New_York", fold)).toEqual({
      transition: at("2026-11-01T06:00:00Z"),
      wallStart: wallFromFields(2026, 11, 1, 1),
      wallEnd: wallFromFields(2026, 11, 1, 2),
    });
    expect(resolveWall("America/New_York", wallFromFields(2026, 11, 1, 2, 0))).toEqual({
      kind: "single",
      instant: at("2026-11-01T07:00:00Z"),
    });
  });

  it("Lord Howe: a 30-minute gap (02:00 -> 02:30) and a 30-minute fold (02:00 -> 01:30)", () => {
    // First Sunday of October 2026 is the 4th; 02:00 +10:30 = 15:30Z on the 3rd.
    expect(resolveWall("Australia/Lord_Howe", wallFromFields(2026, 10, 4, 2, 15))).toEqual({
      kind: "gap",
      transition: at("2026-10-03T15:30:00Z"),
      offsetBefore: 10.5 * HOUR,
      offsetAfter: 11 * HOUR,
    });
    expect(resolveWall("Australia/Lord_Howe", wallFromFields(2026, 10, 4, 2, 30)).kind).toBe(
      "single",
    );
    // First Sunday of April 2026 is the 5th; 02:00 +11:00 = 15:00Z on the 4th.
    const fold = resolveWall("Australia/Lord_Howe", wallFromFields(2026, 4, 5, 1, 45));
    expect(fold).toEqual({
      kind: "fold",
      earlier: at("2026-04-04T14:45:00Z"),
      later: at("2026-04-04T15:15:00Z"),
    });
    if (fold.kind !== "fold") throw new Error("expected a fold");
    expect(foldBounds("Australia/Lord_Howe", fold).transition).toBe(at("2026-04-04T15:00:00Z"));
    expect(resolveWall("Australia/Lord_Howe", wallFromFields(2026, 4, 5, 1, 29)).kind).toBe(
      "single",
    );
  });

  it("Chatham (+12:45/+13:45) and Santiago (a gap at midnight)", () => {
    // Last Sunday of September 2026 is the 27th: 02:45 +12:45 -> 03:45 +13:45.
    expect(resolveWall("Pacific/Chatham", wallFromFields(2026, 9, 27, 3, 0))).toMatchObject({
      kind: "gap",
      transition: at("2026-09-26T14:00:00Z"),
    });
    // First Sunday of September 2026: 00:00 -04 -> 01:00 -03.
    expect(resolveWall("America/Santiago", wallFromFields(2026, 9, 6, 0, 30))).toMatchObject({
      kind: "gap",
      transition: at("2026-09-06T04:00:00Z"),
    });
  });

  it("a zone without DST never has gaps or folds", () => {
    for (let day = 1; day <= 28; day += 3) {
      for (let hour = 0; hour < 24; hour++) {
        expect(resolveWall("Asia/Tokyo", wallFromFields(2026, 3, day, hour)).kind).toBe("single");
      }
    }
  });

  it("transitionBetween finds the instant of the offset change", () => {
    expect(
      transitionBetween("Europe/Berlin", at("2026-03-28T00:00:00Z"), at("2026-03-30T00:00:00Z")),
    ).toBe(at("2026-03-29T01:00:00Z"));
    expect(
      transitionBetween("Europe/Berlin", at("2026-10-24T00:00:00Z"), at("2026-10-26T00:00:00Z")),
    ).toBe(at("2026-10-25T01:00:00Z"));
  });
});

describe("formatting and names", () => {
  it.each([
    ["America/New_York", "2026-03-08T07:00:00Z", "2026-03-08T03:00:00-04:00"],
    ["America/New_York", "2026-03-08T06:59:59Z", "2026-03-08T01:59:59-05:00"],
    ["UTC", "2026-03-08T07:00:00Z", "2026-03-08T07:00:00+00:00"],
    ["Asia/Kathmandu", "2026-03-08T07:00:00Z", "2026-03-08T12:45:00+05:45"],
    ["Australia/Lord_Howe", "2026-10-03T15:30:00Z", "2026-10-04T02:30:00+11:00"],
    ["America/New_York", "1880-01-01T00:00:00Z", "1879-12-31T19:03:58-04:56:02"],
  ])("formatWallClock(%s, %s)", (zone, iso, expected) => {
    expect(formatWallClock(zone, at(iso))).toBe(expected);
    // Date.parse does not read offsets with seconds (local mean time).
    if (!/:\d\d:\d\d$/.test(expected)) expect(Date.parse(expected)).toBe(at(iso));
  });

  it("formatOffset", () => {
    expect(formatOffset(0)).toBe("+00:00");
    expect(formatOffset(-3.5 * HOUR)).toBe("-03:30");
    expect(formatOffset(12 * HOUR + 45 * MINUTE)).toBe("+12:45");
  });

  it("canonicalTimeZone", () => {
    expect(canonicalTimeZone("America/New_York")).toBe("America/New_York");
    expect(canonicalTimeZone("US/Eastern")).toBe("America/New_York");
    expect(canonicalTimeZone("utc")).toBe("UTC");
    expect(canonicalTimeZone("Mars/Olympus_Mons")).toBeUndefined();
    expect(canonicalTimeZone("+05:00")).toBeUndefined();
    expect(canonicalTimeZone("")).toBeUndefined();
  });
});
