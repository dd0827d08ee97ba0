/**
 * Wall clock <-> instant conversion for an IANA time zone, on top of `Intl.DateTimeFormat`.
 *
 * A *wall time* is represented as a number of milliseconds: the epoch milliseconds of the same
 * calendar fields read as UTC (`Date.UTC(year, month - 1, day, hour, minute, second)`). So
 * `wall = instant + offset(instant)`, where the offset (in ms, east of Greenwich positive) is the
 * zone's UTC offset at that instant. Offsets may have any number of whole seconds (e.g. +05:45,
 * +10:30 / +11:00 at Lord Howe, or local mean time before 1900).
 *
 * A wall time exists once ("single"), not at all ("gap": the clock jumped over it, e.g. spring
 * forward), or twice ("fold": the clock went back over it, e.g. fall back).
 *
 * Assumption (true of the tz database in every zone's modern history): the offset changes at most
 * once within any 48 hours around a wall time, and transitions happen at whole seconds.
 */

export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** How a wall time maps to instants in a zone. */
export type WallResolution =
  /** The wall time exists once, at `instant`. */
  | { kind: "single"; instant: number }
  /**
   * The wall time does not exist: the clock jumped from `offsetBefore` to `offsetAfter`
   * (> offsetBefore) at the instant `transition`. The gap's wall times are
   * [transition + offsetBefore, transition + offsetAfter).
   */
  | { kind: "gap"; transition: number; offsetBefore: number; offsetAfter: number }
  /**
   * The wall time exists twice: at `earlier` (with the old, larger offset) and at `later`
   * (with the new offset). `later - earlier` is the length of the fold.
   */
  | { kind: "fold"; earlier: number; later: number };

const formatters = new Map<string, Intl.DateTimeFormat>();
const canonicalNames = new Map<string, string | undefined>();

/**
 * Per zone, one interval of instants known to have a single offset: built from two equal
 * offsets at most 48 hours apart (by the assumption above there is no transition between them)
 * and grown by merging overlapping such intervals. Saves Intl lookups on repeated conversions.
 */
interface StableInterval {
  lo: number;
  hi: number;
  offset: number;
}
const stableIntervals = new Map<string, StableInterval>();

function knownOffset(timeZone: string, lo: number, hi: number): number | undefined {
  const interval = stableIntervals.get(timeZone);
  return interval !== undefined && lo >= interval.lo && hi <= interval.hi
    ? interval.offset
    : undefined;
}

function recordStable(timeZone: string, lo: number, hi: number, offset: number): void {
  const interval = stableIntervals.get(timeZone);
  if (
    interval !== undefined &&
    interval.offset === offset &&
    lo <= interval.hi &&
    hi >= interval.lo
  ) {
    interval.lo = Math.min(interval.lo, lo);
    interval.hi = Math.max(interval.hi, hi);
  } else {
    stableIntervals.set(timeZone, { lo, hi, offset });
  }
}

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      era: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

function isUtc(timeZone: string): boolean {
  return timeZone === "UTC";
}

/**
 * The canonical name of an IANA time zone (e.g. "US/Eastern" -> "America/New_York",
 * "utc" -> "UTC"), or undefined if the runtime does not know it. Offset strings such as "+05:00"
 * are not IANA names and are refused.
 */
export function canonicalTimeZone(timeZone: string): string | undefined {
  if (canonicalNames.has(timeZone)) return canonicalNames.get(timeZone);
  let canonical: string | undefined;
  if (timeZone.length > 0 && !/^[+-]/.test(timeZone)) {
    try {
      canonical = new Intl.DateTimeFormat("en-US", { timeZone }).resolvedOptions().timeZone;
    } catch {
      canonical = undefined;
    }
  }
  if (canonicalNames.size < 10_000) canonicalNames.set(timeZone, canonical);
  return canonical;
}

/** Epoch ms of calendar fields read as UTC; years 0..99 are not shifted to 1900..1999. */
export function wallFromFields(
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

/** The wall time of an instant in a zone, to the millisecond. */
export function instantToWall(timeZone: string, instant: number): number {
  return instant + offsetAt(timeZone, instant);
}

/** The zone's UTC offset in ms at an instant (wall - instant). */
export function offsetAt(timeZone: string, instant: number): number {
  if (isUtc(timeZone)) return 0;
  return knownOffset(timeZone, instant, instant) ?? intlOffsetAt(timeZone, instant);
}

function intlOffsetAt(timeZone: string, instant: number): number {
  const wholeSecond = Math.floor(instant / SECOND_MS) * SECOND_MS;
  const parts: Partial<Record<Intl.DateTimeFormatPartTypes, string>> = {};
  for (const part of formatterFor(timeZone).formatToParts(wholeSecond)) {
    parts[part.type] = part.value;
  }
  const era = parts.era;
  let year = Number(parts.year);
  if (era === "BC" || era === "B") year = 1 - year;
  return (
    wallFromFields(
      year,
      Number(parts.month),
      Number(parts.day),
      Number(parts.hour),
      Number(parts.minute),
      Number(parts.second),
    ) - wholeSecond
  );
}

/**
 * The first whole-second instant t in (lo, hi] for which `changed(t)` holds, assuming `changed`
 * is false up to some instant and true from it on, and true at hi. Binary search: about
 * log2((hi - lo) / 1000) steps.
 */
function firstWholeSecond(lo: number, hi: number, changed: (t: number) => boolean): number {
  let low = Math.floor(lo / SECOND_MS); // changed(low * 1000) is false (or low*1000 <= lo)
  let high = Math.floor(hi / SECOND_MS); // changed(high * 1000) is true
  if (!changed(high * SECOND_MS)) return hi;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (changed(middle * SECOND_MS)) high = middle;
    else low = middle;
  }
  return high * SECOND_MS;
}

/**
 * The instant of the offset transition in (lo, hi]: the first instant whose offset differs from
 * the offset at lo. Assumes at most one transition in the interval; returns hi if there is none.
 */
export function transitionBetween(timeZone: string, lo: number, hi: number): number {
  const before = offsetAt(timeZone, lo);
  return firstWholeSecond(lo, hi, (t) => offsetAt(timeZone, t) !== before);
}

/** Map a wall time in a zone to the instant(s) at which the zone's clocks show it. */
export function resolveWall(timeZone: string, wall: number): WallResolution {
  if (isUtc(timeZone)) return { kind: "single", instant: wall };
  const known = knownOffset(timeZone, wall - DAY_MS, wall + DAY_MS);
  if (known !== undefined) return { kind: "single", instant: wall - known };
  const offsetBefore = offsetAt(timeZone, wall - DAY_MS);
  const offsetAfter = offsetAt(timeZone, wall + DAY_MS);
  if (offsetBefore === offsetAfter) {
    // No transition within wall +- 1 day, which contains every instant showing `wall`.
    recordStable(timeZone, wall - DAY_MS, wall + DAY_MS, offsetBefore);
    return { kind: "single", instant: wall - offsetBefore };
  }
  const offsets = [...new Set([offsetBefore, offsetAt(timeZone, wall), offsetAfter])];
  const instants = [
    ...new Set(offsets.filter((o) => offsetAt(timeZone, wall - o) === o).map((o) => wall - o)),
  ].sort((a, b) => a - b);
  const first = instants[0];
  const last = instants[instants.length - 1];
  if (first !== undefined && last !== undefined) {
    return first === last
      ? { kind: "single", instant: first }
      : { kind: "fold", earlier: first, later: last };
  }
  // A gap: before the transition the wall clock is below `wall`, from it on above.
  const lo = wall - Math.max(...offsets);
  const hi = wall - Math.min(...offsets);
  const transition = firstWholeSecond(lo, hi, (t) => instantToWall(timeZone, t) > wall);
  return {
    kind: "gap",
    transition,
    offsetBefore: offsetAt(timeZone, transition - 1),
    offsetAfter: offsetAt(timeZone, transition),
  };
}

/**
 * For a wall time in a fold, the wall-clock interval [start, end) that exists twice, and the
 * transition instant. `fold` must come from `resolveWall`.
 */
export function foldBounds(
  timeZone: string,
  fold: { earlier: number; later: number },
): { transition: number; wallStart: number; wallEnd: number } {
  const transition = transitionBetween(timeZone, fold.earlier, fold.later);
  return {
    transition,
    wallStart: transition + offsetAt(timeZone, transition),
    wallEnd: transition + offsetAt(timeZone, transition - 1),
  };
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

/** "+HH:MM", or "+HH:MM:SS" for an offset with seconds (local mean time). */
export function formatOffset(offsetMs: number): string {
  const sign = offsetMs < 0 ? "-" : "+";
  const totalSeconds = Math.round(Math.abs(offsetMs) / SECOND_MS);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  const base = `${sign}${pad(hours, 2)}:${pad(minutes, 2)}`;
  return seconds === 0 ? base : `${base}:${pad(seconds, 2)}`;
}

/**
 * The wall clock of an instant in a zone as ISO 8601 with its UTC offset, to the second,
 * e.g. "2026-03-08T03:00:00-04:00" (UTC gives "+00:00").
 */
export function formatWallClock(timeZone: string, instant: number): string {
  const offset = offsetAt(timeZone, instant);
  const wall = new Date(Math.floor(instant / SECOND_MS) * SECOND_MS + offset);
  const year = wall.getUTCFullYear();
  const yearText =
    year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? "-" : "+"}${pad(Math.abs(year), 6)}`;
  return (
    `${yearText}-${pad(wall.getUTCMonth() + 1, 2)}-${pad(wall.getUTCDate(), 2)}` +
    `T${pad(wall.getUTCHours(), 2)}:${pad(wall.getUTCMinutes(), 2)}:${pad(wall.getUTCSeconds(), 2)}` +
    formatOffset(offset)
  );
}
