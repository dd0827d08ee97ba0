/**
 * Fire instants of a cron schedule. Semantics (DST policy, union, bounds, search bound):
 * docs/CRON.md.
 *
 * Calendar expressions: cron-parser iterates *wall-clock* candidates (a wall time is a Date whose
 * UTC fields are the wall-clock fields, iterated with tz "UTC", so cron-parser does all calendar
 * logic), and each candidate w is mapped to an instant f(w) in the zone:
 *   - exists once: that instant;
 *   - in a gap: "shift" -> the transition instant, "skip" -> no instant;
 *   - in a fold: "first" -> the earlier instant, "last" -> the later one.
 * f is non-decreasing in w, so the fires of an expression are the set {f(w)} and the first fire
 * after t is f of the first candidate with f(w) > t. Fires are whole seconds.
 */
import { CronExpression } from "cron-parser";
import { invalidArgument } from "../engine/errors.js";
import type { CalendarExpression } from "./cronExpression.js";
import { matchesDayOfMonth } from "./cronFields.js";
import {
  MAX_INSTANT_MS,
  MIN_INSTANT_MS,
  compiled,
  type CompiledCronTiming,
  type CronTiming,
  type DstFoldPolicy,
  type DstGapPolicy,
} from "./cronSchedule.js";
import {
  DAY_MS,
  foldBounds,
  formatWallClock,
  instantToWall,
  offsetAt,
  resolveWall,
} from "./zonedTime.js";

/**
 * The search bound of calendar expressions: wall-clock candidates are searched up to this far
 * (50 years of 365.25 days) past the wall time of `afterMs`. No fire in it means "no next fire".
 * 50 years cover the rarest satisfiable calendar expressions, e.g. `0 0 * 2 1#5` (a fifth Monday
 * in February, i.e. Feb 29 on a Monday) recurs after up to 40 years (2072 -> 2112).
 */
export const CALENDAR_SEARCH_YEARS = 50;
export const CALENDAR_SEARCH_HORIZON_MS = Math.ceil(CALENDAR_SEARCH_YEARS * 365.25) * DAY_MS;

/**
 * cron-parser is asked for at most this much wall-clock time per iterator (via its endDate), so
 * that one next() stays far below its loop limit of 10,000 steps (about 400 steps per year).
 */
const SEARCH_CHUNK_MS = 366 * DAY_MS;
const OUT_OF_RANGE = "Out of the time span range";

/** At most this many instants per previewFires call. */
export const MAX_PREVIEW = 1000;

interface ZonePolicy {
  timeZone: string;
  dstGap: DstGapPolicy;
  dstFold: DstFoldPolicy;
}

/**
 * A wall time such that every candidate w with f(w) > fromMs is after it. Usually the wall time
 * of fromMs: earlier candidates map to instants <= fromMs. Inside a fold it depends on which
 * pass fromMs is in:
 *  - "last", first pass: the fold's wall times up to now fire later, at their second pass,
 *    so the search must start at the fold's first wall time (needed for correctness);
 *  - "first", second pass: the fold's remaining wall times fired at their first pass, so the
 *    search can start after the fold (an optimization: they would be skipped anyway).
 */
function searchStartWall(policy: ZonePolicy, fromMs: number): number {
  const wall = instantToWall(policy.timeZone, fromMs);
  const resolution = resolveWall(policy.timeZone, wall);
  if (resolution.kind !== "fold") return wall;
  const inSecondPass = fromMs > resolution.earlier;
  if (policy.dstFold === "last" && !inSecondPass) {
    return foldBounds(policy.timeZone, resolution).wallStart - 1;
  }
  if (policy.dstFold === "first" && inSecondPass) {
    return foldBounds(policy.timeZone, resolution).wallEnd - 1;
  }
  return wall;
}

function nextCandidate(iterator: CronExpression): number | undefined {
  try {
    return iterator.next().getTime();
  } catch (error) {
    if (error instanceof Error && error.message === OUT_OF_RANGE) return undefined;
    throw error;
  }
}

/**
 * The first fire of one calendar expression in (fromMs, limitMs), searching wall-clock
 * candidates up to the search bound.
 */
function nextCalendarFire(
  expression: CalendarExpression,
  policy: ZonePolicy,
  fromMs: number,
  limitMs: number,
): number | undefined {
  const { timeZone } = policy;
  let cursor = searchStartWall(policy, fromMs);
  let wallLimit = instantToWall(timeZone, fromMs) + CALENDAR_SEARCH_HORIZON_MS;
  if (Number.isFinite(limitMs)) {
    wallLimit = Math.min(wallLimit, limitMs + offsetAt(timeZone, limitMs) + DAY_MS);
  }
  while (cursor < wallLimit) {
    const chunkEnd = Math.min(cursor + SEARCH_CHUNK_MS, wallLimit);
    const iterator = CronExpression.fieldsToExpression(expression.fields, {
      tz: "UTC",
      currentDate: new Date(cursor),
      endDate: new Date(chunkEnd),
    });
    for (;;) {
      const wall = nextCandidate(iterator);
      if (wall === undefined) break;
      if (
        expression.dayOfMonthFilter !== undefined &&
        !matchesDayOfMonth(expression.dayOfMonthFilter, wall)
      ) {
        // Not one of the days of the month: on to the next day (one step per rejected day).
        iterator.reset(new Date((Math.floor(wall / DAY_MS) + 1) * DAY_MS - 1));
        continue;
      }
      const resolution = resolveWall(timeZone, wall);
      let instant: number;
      switch (resolution.kind) {
        case "single":
          instant = resolution.instant;
          break;
        case "fold":
          instant = policy.dstFold === "first" ? resolution.earlier : resolution.later;
          break;
        case "gap":
          if (policy.dstGap === "skip") {
            // Jump over the rest of the gap: none of its wall times fires.
            iterator.reset(new Date(resolution.transition + resolution.offsetAfter - 1));
            continue;
          }
          instant = resolution.transition;
          break;
      }
      if (instant <= fromMs) continue;
      return instant < limitMs ? instant : undefined;
    }
    cursor = chunkEnd;
  }
  return undefined;
}

function checkAfter(afterMs: number): void {
  // One day of slack below year 0001 so that `startAt - 1` is always accepted.
  if (!Number.isFinite(afterMs) || afterMs < MIN_INSTANT_MS - DAY_MS || afterMs > MAX_INSTANT_MS) {
    throw invalidArgument(
      "afterMs",
      `must be an epoch-ms instant from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z, ` +
        `got ${afterMs}`,
    );
  }
}

const fireRanges = new Map<string, { firstMs: number; lastMs: number }>();

/**
 * The first and last instants a schedule in `timeZone` may fire at: both the instant (UTC) and
 * its wall clock in the zone lie in years 0001..9999, so that every fire prints as an RFC 3339
 * time in UTC and in its zone. In UTC: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z; in a
 * zone east of Greenwich the end comes earlier by the offset (UTC+01:00: 9999-12-31T22:59:59.999Z),
 * in a zone west of it the start later (UTC-05:00: 0001-01-01T05:00:00Z).
 */
export function fireRange(timeZone: string): { firstMs: number; lastMs: number } {
  let range = fireRanges.get(timeZone);
  if (range === undefined) {
    // The instant whose wall clock is the bound: wall - offset, the offset taken where it applies.
    const latest = (offset: number): number => Math.min(MAX_INSTANT_MS, MAX_INSTANT_MS - offset);
    const earliest = (offset: number): number => Math.max(MIN_INSTANT_MS, MIN_INSTANT_MS - offset);
    const lastMs = latest(offsetAt(timeZone, latest(offsetAt(timeZone, MAX_INSTANT_MS))));
    const firstMs = earliest(offsetAt(timeZone, earliest(offsetAt(timeZone, MIN_INSTANT_MS))));
    range = { firstMs, lastMs };
    if (fireRanges.size < 10_000) fireRanges.set(timeZone, range);
  }
  return range;
}

/**
 * The first fire instant (epoch ms) strictly after `afterMs`, or undefined if there is none
 * before `endAt` (and within `fireRange`: years 0001..9999 in UTC and in the zone) or, for
 * calendar expressions, within the search bound
 * (CALENDAR_SEARCH_YEARS). Throws DdqError INVALID_ARGUMENT for an invalid timing or afterMs.
 */
export function nextFireAfter(
  timing: CronTiming | CompiledCronTiming,
  afterMs: number,
): number | undefined {
  const schedule = compiled(timing);
  checkAfter(afterMs);
  const { firstMs, lastMs } = fireRange(schedule.timeZone);
  // Fires are whole seconds: t > from  <=>  t > afterMs and t >= startAt (and t >= firstMs).
  const fromMs = Math.max(afterMs, (schedule.startAt ?? firstMs) - 1, firstMs - 1);
  let limitMs = Math.min(schedule.endAt ?? Infinity, lastMs + 1);
  let best: number | undefined;
  // Closed-form expressions first: their result narrows the calendar searches.
  for (const expression of schedule.expressions) {
    if (expression.kind !== "every") continue;
    const instant = (Math.floor(fromMs / expression.periodMs) + 1) * expression.periodMs;
    if (instant < limitMs) {
      best = instant;
      limitMs = instant;
    }
  }
  for (const expression of schedule.expressions) {
    if (expression.kind !== "calendar") continue;
    const instant = nextCalendarFire(expression, schedule, fromMs, limitMs);
    if (instant !== undefined) {
      best = instant;
      limitMs = instant;
    }
  }
  return best;
}

export interface FirePreview {
  /** Epoch ms. */
  atMs: number;
  /** UTC, ISO 8601: "2026-03-08T07:00:00.000Z". */
  utc: string;
  /** Wall clock in the schedule's zone with its offset: "2026-03-08T03:00:00-04:00". */
  wallClock: string;
}

/** The next `n` fires after `afterMs` (fewer if the schedule ends), for display. */
export function previewFires(
  timing: CronTiming | CompiledCronTiming,
  afterMs: number,
  n: number,
): FirePreview[] {
  const schedule = compiled(timing);
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_PREVIEW) {
    throw invalidArgument("n", `must be an integer between 0 and ${MAX_PREVIEW}, got ${n}`);
  }
  const fires: FirePreview[] = [];
  let after = afterMs;
  while (fires.length < n) {
    const atMs = nextFireAfter(schedule, after);
    if (atMs === undefined) break;
    fires.push({
      atMs,
      utc: new Date(atMs).toISOString(),
      wallClock: formatWallClock(schedule.timeZone, atMs),
    });
    after = atMs;
  }
  return fires;
}
