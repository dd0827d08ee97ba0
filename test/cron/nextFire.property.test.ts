/**
 * Property tests: nextFireAfter against an independent brute-force reference written here.
 *
 * The reference steps through *instants* (every second for 6-field expressions, every minute for
 * 5-field ones), reads each instant's wall clock in the zone with its own Intl formatter (the
 * "longOffset" time-zone name, not the module's field arithmetic), matches the wall clock with
 * its own tiny cron matcher, and applies the DST policy in terms of what the clock does:
 *   - gap: the clock jumps forward between two steps; with "shift", if a skipped wall time
 *     matches, the instant after the jump fires (once, also if its own wall time matches);
 *   - fold: the clock goes back; "first" fires a matching wall time only if it is higher than
 *     every wall time seen before, "last" only if it is lower than every wall time seen after.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CronTiming, DstFoldPolicy, DstGapPolicy } from "../../scheduler/cron/cronSchedule.js";
import { nextFireAfter } from "../../scheduler/cron/nextFire.js";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const ZONES = [
  "America/New_York",
  "Europe/Berlin",
  "Australia/Lord_Howe",
  "Asia/Tokyo",
  "UTC",
  "Pacific/Chatham",
  "America/Santiago",
  "Asia/Kathmandu",
] as const;

const RANGE_START = Date.UTC(2025, 0, 1);
const RANGE_END = Date.UTC(2028, 0, 1);

// ---------------------------------------------------------------------------------------------
// Reference offsets: Intl's "longOffset" name ("GMT+10:30"), sampled, with transitions located
// to the second by bisection.

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

function intlOffset(zone: string, instant: number): number {
  let formatter = offsetFormatters.get(zone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" });
    offsetFormatters.set(zone, formatter);
  }
  const name = formatter.formatToParts(instant).find((part) => part.type === "timeZoneName");
  const match = /^GMT(?:([+-])(\d\d):(\d\d)(?::(\d\d))?)?$/.exec(name?.value ?? "");
  if (match === null) throw new Error(`unexpected offset name ${name?.value}`);
  if (match[1] === undefined) return 0;
  const magnitude =
    Number(match[2]) * HOUR + Number(match[3]) * MINUTE + Number(match[4] ?? 0) * SECOND;
  return match[1] === "-" ? -magnitude : magnitude;
}

const SAMPLE = 15 * MINUTE;
const sampleCache = new Map<string, number>();
function sampledOffset(zone: string, instant: number): number {
  const key = `${zone}@${instant}`;
  let offset = sampleCache.get(key);
  if (offset === undefined) {
    offset = intlOffset(zone, instant);
    sampleCache.set(key, offset);
  }
  return offset;
}

interface Segment {
  from: number;
  offset: number;
}

/** Offset segments covering [start, end]: each starts at a transition (or at start). */
function offsetSegments(zone: string, start: number, end: number): Segment[] {
  let t = Math.floor(start / SAMPLE) * SAMPLE;
  const segments: Segment[] = [{ from: -Infinity, offset: sampledOffset(zone, t) }];
  for (; t < end; t += SAMPLE) {
    const a = sampledOffset(zone, t);
    const b = sampledOffset(zone, t + SAMPLE);
    if (a === b) continue;
    let lo = t / SECOND;
    let hi = (t + SAMPLE) / SECOND;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (intlOffset(zone, mid * SECOND) === a) lo = mid;
      else hi = mid;
    }
    segments.push({ from: hi * SECOND, offset: b });
  }
  return segments;
}

/** All transitions of a zone in [RANGE_START, RANGE_END), computed once per zone. */
const transitionCache = new Map<string, number[]>();
function transitionsOf(zone: string): number[] {
  let transitions = transitionCache.get(zone);
  if (transitions === undefined) {
    transitions = [];
    for (let t = RANGE_START; t < RANGE_END; t += DAY) {
      if (intlOffset(zone, t) !== intlOffset(zone, t + DAY)) {
        const found = offsetSegments(zone, t, t + DAY).slice(1);
        transitions.push(...found.map((segment) => segment.from));
      }
    }
    transitionCache.set(zone, transitions);
  }
  return transitions;
}

// ---------------------------------------------------------------------------------------------
// Reference matcher for the generated subset: *, n, a-b, */n, a-b/n, lists.

interface FieldMatcher {
  star: boolean;
  values: Set<number>;
}

function parseField(text: string, min: number, max: number): FieldMatcher {
  const values = new Set<number>();
  for (const item of text.split(",")) {
    const [rangeText = "", stepText] = item.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    let lo: number;
    let hi: number;
    if (rangeText === "*") {
      lo = min;
      hi = max;
    } else if (rangeText.includes("-")) {
      [lo, hi] = rangeText.split("-").map(Number) as [number, number];
    } else {
      lo = Number(rangeText);
      hi = stepText === undefined ? lo : max;
    }
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  // Vixie cron / cronie: a field whose text starts with "*" is unrestricted.
  return { star: text.startsWith("*"), values };
}

interface Matcher {
  seconds: boolean;
  matches(wall: number): boolean;
}

function compileMatcher(expression: string): Matcher {
  const atoms = expression.split(" ");
  const seconds = atoms.length === 6;
  const [sec, min, hour, dom, month, dow] = (seconds ? atoms : ["0", ...atoms]).map((atom, i) =>
    parseField(atom, [0, 0, 0, 1, 1, 0][i] ?? 0, [59, 59, 23, 31, 12, 6][i] ?? 0),
  ) as [FieldMatcher, FieldMatcher, FieldMatcher, FieldMatcher, FieldMatcher, FieldMatcher];
  const dayCache = new Map<number, boolean>();
  const dayMatches = (dayNumber: number): boolean => {
    let result = dayCache.get(dayNumber);
    if (result === undefined) {
      const date = new Date(dayNumber * DAY);
      const domOk = dom.values.has(date.getUTCDate());
      const dowOk = dow.values.has(date.getUTCDay());
      const monthOk = month.values.has(date.getUTCMonth() + 1);
      // Vixie cron: if both day fields are restricted, either may match; otherwise both must.
      const dayOk = dom.star || dow.star ? domOk && dowOk : domOk || dowOk;
      result = monthOk && dayOk;
      dayCache.set(dayNumber, result);
    }
    return result;
  };
  return {
    seconds,
    matches(wall: number): boolean {
      const dayNumber = Math.floor(wall / DAY);
      const inDay = (wall - dayNumber * DAY) / SECOND;
      return (
        sec.values.has(inDay % 60) &&
        min.values.has(Math.floor(inDay / 60) % 60) &&
        hour.values.has(Math.floor(inDay / 3600)) &&
        dayMatches(dayNumber)
      );
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The reference: fires in (afterMs, afterMs + windowMs].

const PAD = 3 * HOUR; // longer than any fold in the zones above
/** How many of the next fires are compared. */
const COMPARED = 10;

function referenceFires(
  expressions: string[],
  zone: string,
  dstGap: DstGapPolicy,
  dstFold: DstFoldPolicy,
  afterMs: number,
  windowMs: number,
): number[] {
  const matchers = expressions.map(compileMatcher);
  const step = matchers.some((m) => m.seconds) ? SECOND : MINUTE;
  const matches = (wall: number): boolean => matchers.some((m) => m.matches(wall));
  const end = afterMs + windowMs;
  const first = Math.floor((afterMs - PAD) / step) * step;
  const count = Math.ceil((end + PAD - first) / step) + 1;
  const segments = offsetSegments(zone, first, first + count * step);
  const walls = new Float64Array(count);
  let segment = 0;
  for (let k = 0; k < count; k++) {
    const t = first + k * step;
    while (segment + 1 < segments.length && (segments[segment + 1]?.from ?? Infinity) <= t) {
      segment++;
    }
    walls[k] = t + (segments[segment]?.offset ?? 0);
  }
  const suffixMin = new Float64Array(count + 1);
  suffixMin[count] = Infinity;
  for (let k = count - 1; k >= 0; k--)
    suffixMin[k] = Math.min(walls[k] ?? 0, suffixMin[k + 1] ?? 0);

  const fires: number[] = [];
  let prefixMax = walls[0] ?? 0;
  for (let k = 1; k < count; k++) {
    const t = first + k * step;
    const wall = walls[k] ?? 0;
    const previous = walls[k - 1] ?? 0;
    let fire = false;
    if (matches(wall)) {
      fire = dstFold === "first" ? wall > prefixMax : wall < (suffixMin[k + 1] ?? 0);
    }
    if (!fire && dstGap === "shift" && wall - previous > step) {
      for (let skipped = previous + step; skipped < wall && !fire; skipped += step) {
        fire = matches(skipped);
      }
    }
    prefixMax = Math.max(prefixMax, wall);
    if (fire && t > afterMs && t <= end) fires.push(t);
  }
  return fires;
}

// ---------------------------------------------------------------------------------------------
// Generators.

const pick = <T>(values: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...values);

const list = (min: number, max: number, maxLength: number): fc.Arbitrary<string> =>
  fc
    .uniqueArray(fc.integer({ min, max }), { minLength: 1, maxLength })
    .map((values) => values.sort((a, b) => a - b).join(","));

const range = (min: number, max: number): fc.Arbitrary<string> =>
  fc
    .tuple(fc.integer({ min, max }), fc.integer({ min, max }))
    .map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`);

const secondField = fc.oneof(
  pick(["*", "0", "*/5", "*/10", "*/15", "*/20", "*/30", "7,37", "50-59"]),
  list(0, 59, 3),
  fc.tuple(range(0, 59), fc.integer({ min: 2, max: 20 })).map(([r, s]) => `${r}/${s}`),
);

const minuteField = fc.oneof(
  pick(["*", "0", "30", "*/2", "*/5", "*/10", "*/15", "*/30", "0,30", "15-45"]),
  pick(["*", "*/3", "0-29", "10-50/4"]),
  fc.integer({ min: 0, max: 59 }).map(String),
  list(0, 59, 4),
  range(0, 59),
  fc.tuple(range(0, 59), fc.integer({ min: 2, max: 25 })).map(([r, s]) => `${r}/${s}`),
);

/** The local hours within an hour of a zone's transitions (0-3 for zones without). */
function transitionHours(zone: string): number[] {
  const transitions = transitionsOf(zone).slice(0, 2);
  if (transitions.length === 0) return [0, 1, 2, 3];
  const hours = new Set<number>();
  for (const transition of transitions) {
    for (let d = -HOUR; d <= HOUR; d += 15 * MINUTE) {
      const instant = transition + d;
      hours.add(new Date(instant + intlOffset(zone, instant)).getUTCHours());
    }
  }
  return [...hours].sort((a, b) => a - b);
}

/** Hours: mostly the zone's transition hours. No value twice: cron-parser rejects "2,2". */
const hourField = (zone: string): fc.Arbitrary<string> => {
  const near = transitionHours(zone);
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .uniqueArray(fc.constantFrom(...near), { minLength: 1, maxLength: 3 })
        .map((hours) => hours.sort((a, b) => a - b).join(",")),
    },
    { weight: 2, arbitrary: pick(["*", "*/2", "*/3", "0-3/2", "1-3"]) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...near), fc.integer({ min: 0, max: 23 }))
        .map(([a, b]) => (a === b ? String(a) : `${Math.min(a, b)},${Math.max(a, b)}`)),
    },
    { weight: 1, arbitrary: range(0, 23) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(range(0, 23), fc.integer({ min: 2, max: 5 }))
        .map(([r, step]) => `${r}/${step}`),
    },
  );
};

// Days fire often: wildcards, or wide restrictions (both restricted -> either matches; one
// starting with "*" -> both must match).
const dayFields = fc.oneof(
  { weight: 6, arbitrary: fc.constant(["*", "*", "*"]) },
  {
    weight: 1,
    arbitrary: fc.tuple(
      pick(["*", "1-31", "*/2", "1-31/2"]),
      pick(["*", "1-12"]),
      pick(["*", "1-5", "0,6", "*/3", "1/2", "5/2,0"]),
    ),
  },
);

const calendarExpression = (seconds: boolean, zone: string): fc.Arbitrary<string> =>
  fc
    .tuple(seconds ? secondField : fc.constant(""), minuteField, hourField(zone), dayFields)
    .map(([s, m, h, days]) => [...(seconds ? [s] : []), m, h, ...days].join(" "));

/**
 * A zone and an instant: for zones with DST, within +-2 days of one of its 2025-2027 transitions
 * (most often within hours of it); for the others anywhere in 2025-2027.
 */
const zoneAndStart = fc
  .tuple(
    fc.oneof(
      { weight: 3, arbitrary: pick(ZONES.filter((zone) => transitionsOf(zone).length > 0)) },
      { weight: 1, arbitrary: pick(ZONES) },
    ),
    fc.nat(),
    fc.oneof(
      { weight: 1, arbitrary: fc.integer({ min: -2 * MINUTE, max: 30 * SECOND }) },
      { weight: 2, arbitrary: fc.integer({ min: -20 * MINUTE, max: 20 * MINUTE }) },
      { weight: 3, arbitrary: fc.integer({ min: -3 * HOUR, max: 1 * HOUR }) },
      { weight: 2, arbitrary: fc.integer({ min: -12 * HOUR, max: 2 * HOUR }) },
      { weight: 2, arbitrary: fc.integer({ min: -2 * DAY, max: 2 * DAY }) },
    ),
    fc.integer({ min: RANGE_START, max: RANGE_END - 3 * DAY }),
    pick([0, 0, 0, 1, 999, 30_000]),
  )
  .map(([zone, index, distance, anywhere, jitter]) => {
    const transitions = transitionsOf(zone);
    const transition = transitions[index % Math.max(transitions.length, 1)];
    const base = transition === undefined ? anywhere : transition + distance;
    // Most starts on whole minutes (often exactly at a fire), some in between.
    return { zone, afterMs: Math.floor(base / MINUTE) * MINUTE + jitter };
  });

const policies = fc.tuple(
  pick<DstGapPolicy>(["shift", "skip"]),
  pick<DstFoldPolicy>(["first", "last"]),
);

interface Scenario {
  expressions: string[];
  zone: string;
  afterMs: number;
  dstGap: DstGapPolicy;
  dstFold: DstFoldPolicy;
}

/** `count` expressions (with or without seconds), a zone, a start instant and the policies. */
const scenario = (seconds: boolean, count: number): fc.Arbitrary<Scenario> =>
  zoneAndStart.chain(({ zone, afterMs }) =>
    fc
      .tuple(
        fc.array(calendarExpression(seconds, zone), { minLength: count, maxLength: count }),
        policies,
      )
      .map(([expressions, [dstGap, dstFold]]) => ({ expressions, zone, afterMs, dstGap, dstFold })),
  );

/** Up to COMPARED fires of the module in (afterMs, afterMs + windowMs]. */
function moduleFires(timing: CronTiming, afterMs: number, windowMs: number): number[] {
  const fires: number[] = [];
  let after = afterMs;
  while (fires.length < COMPARED) {
    const next = nextFireAfter(timing, after);
    if (next === undefined || next > afterMs + windowMs) break;
    fires.push(next);
    after = next;
  }
  return fires;
}

function check(
  schedules: string[],
  zone: string,
  afterMs: number,
  dstGap: DstGapPolicy,
  dstFold: DstFoldPolicy,
  windowMs: number,
): void {
  const timing: CronTiming = { schedules, timeZone: zone, dstGap, dstFold };
  const expected = referenceFires(schedules, zone, dstGap, dstFold, afterMs, windowMs).slice(
    0,
    COMPARED,
  );
  const actual = moduleFires(timing, afterMs, windowMs);
  const show = (fires: number[]): string[] => fires.map((t) => new Date(t).toISOString());
  expect(show(actual)).toEqual(show(expected));
}

describe("nextFireAfter agrees with a brute-force reference", () => {
  it("the reference itself finds the known transitions", () => {
    expect(transitionsOf("America/New_York")).toContain(Date.parse("2026-03-08T07:00:00Z"));
    expect(transitionsOf("America/New_York")).toContain(Date.parse("2026-11-01T06:00:00Z"));
    expect(transitionsOf("Australia/Lord_Howe")).toContain(Date.parse("2026-10-03T15:30:00Z"));
    expect(transitionsOf("Australia/Lord_Howe")).toContain(Date.parse("2026-04-04T15:00:00Z"));
    expect(transitionsOf("Europe/Berlin")).toHaveLength(6);
    expect(transitionsOf("Asia/Tokyo")).toHaveLength(0);
    expect(
      referenceFires(
        ["30 2 * * *"],
        "America/New_York",
        "shift",
        "first",
        Date.parse("2026-03-07T12:00:00Z"),
        DAY,
      ),
    ).toEqual([Date.parse("2026-03-08T07:00:00Z")]);
    expect(
      referenceFires(
        ["30 1 * * *"],
        "America/New_York",
        "shift",
        "last",
        Date.parse("2026-10-31T12:00:00Z"),
        DAY,
      ),
    ).toEqual([Date.parse("2026-11-01T06:30:00Z")]);
  });

  it("5-field expressions (2-day window)", () => {
    fc.assert(
      fc.property(scenario(false, 1), (c) => {
        check(c.expressions, c.zone, c.afterMs, c.dstGap, c.dstFold, 2 * DAY);
      }),
      { numRuns: 500 },
    );
  });

  it("6-field expressions (12-hour window)", () => {
    fc.assert(
      fc.property(scenario(true, 1), (c) => {
        check(c.expressions, c.zone, c.afterMs, c.dstGap, c.dstFold, 12 * HOUR);
      }),
      { numRuns: 300 },
    );
  });

  it("unions of two expressions", () => {
    fc.assert(
      fc.property(
        fc.boolean().chain((seconds) => scenario(seconds, 2)),
        (c) => {
          const seconds = c.expressions[0]?.split(" ").length === 6;
          check(
            c.expressions,
            c.zone,
            c.afterMs,
            c.dstGap,
            c.dstFold,
            seconds ? 12 * HOUR : 2 * DAY,
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it("@every: the next multiple of the period since the epoch, in any zone", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        zoneAndStart,
        policies,
        (seconds, start, [gap, fold]) => {
          const timing: CronTiming = {
            schedules: [`@every ${seconds}s`],
            timeZone: start.zone,
            dstGap: gap,
            dstFold: fold,
          };
          const period = seconds * SECOND;
          const next = nextFireAfter(timing, start.afterMs);
          expect(next).toBe((Math.floor(start.afterMs / period) + 1) * period);
        },
      ),
      { numRuns: 200 },
    );
  });
});
