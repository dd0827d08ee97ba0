/**
 * The timing of a cron schedule (what a CronTask asks for) and its structural validation.
 * `compileCronTiming` checks the input and applies defaults; whether the schedule ever fires is
 * checked by `validateCronTiming` (validateTiming.ts), which needs the fire computation.
 * Semantics: docs/CRON.md.
 */
import { invalidArgument } from "../engine/errors.js";
import { parseScheduleExpression, type ScheduleExpression } from "./cronExpression.js";
import { canonicalTimeZone } from "./zonedTime.js";

/** What to do with a wall-clock time that does not exist (spring forward). */
export type DstGapPolicy = "shift" | "skip";
/** Which occurrence of a wall-clock time that exists twice (fall back) fires. */
export type DstFoldPolicy = "first" | "last";

export interface CronTiming {
  /** One or more expressions; the schedule is their union. */
  schedules: string[];
  /** IANA name, default "UTC". */
  timeZone?: string;
  /** Default "shift": fire at the transition instant. "skip": do not fire. */
  dstGap?: DstGapPolicy;
  /** Default "first": fire at the earlier occurrence. "last": at the later one. */
  dstFold?: DstFoldPolicy;
  /** Epoch ms: no fire before (inclusive bound). */
  startAt?: number;
  /** Epoch ms: no fire at or after (exclusive bound); must be after startAt. */
  endAt?: number;
}

/** A checked CronTiming with defaults applied; reuse it to avoid parsing on every call. */
export interface CompiledCronTiming {
  readonly kind: "compiledCronTiming";
  readonly expressions: readonly ScheduleExpression[];
  /** Canonical IANA name (e.g. "US/Eastern" becomes "America/New_York"). */
  readonly timeZone: string;
  readonly dstGap: DstGapPolicy;
  readonly dstFold: DstFoldPolicy;
  readonly startAt: number | undefined;
  readonly endAt: number | undefined;
}

/** At most this many expressions in one schedule. */
export const MAX_SCHEDULES = 32;
/** Instants (startAt, endAt, afterMs) must lie in years 0001..9999 UTC. */
export const MIN_INSTANT_MS = -62_135_596_800_000; // 0001-01-01T00:00:00Z
export const MAX_INSTANT_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/** Check an epoch-ms instant argument; throws INVALID_ARGUMENT for `field`. */
export function checkInstant(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw invalidArgument(field, `must be an integer number of epoch milliseconds`);
  }
  if (value < MIN_INSTANT_MS || value > MAX_INSTANT_MS) {
    throw invalidArgument(
      field,
      `must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z ` +
        `(${MIN_INSTANT_MS} to ${MAX_INSTANT_MS} epoch ms), got ${value}`,
    );
  }
  return value;
}

function optionalInstant(field: string, value: unknown): number | undefined {
  return value === undefined ? undefined : checkInstant(field, value);
}

function oneOf<T extends string>(
  field: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  const found = allowed.find((option) => option === value);
  if (found === undefined) {
    throw invalidArgument(
      field,
      `must be one of ${allowed.map((option) => `"${option}"`).join(", ")}, got ${JSON.stringify(value)}`,
    );
  }
  return found;
}

/**
 * Check a CronTiming (which may come from an untyped source) and apply defaults.
 * Throws DdqError INVALID_ARGUMENT naming the field at fault: `schedules`, `schedules[i]`,
 * `timeZone`, `dstGap`, `dstFold`, `startAt`, `endAt`.
 */
export function compileCronTiming(timing: CronTiming): CompiledCronTiming {
  const schedules: unknown = timing.schedules;
  if (!Array.isArray(schedules) || schedules.length === 0) {
    throw invalidArgument("schedules", "must be a non-empty list of expressions");
  }
  if (schedules.length > MAX_SCHEDULES) {
    throw invalidArgument("schedules", `must have at most ${MAX_SCHEDULES} expressions`);
  }
  const expressions = schedules.map((text: unknown, index) => {
    const field = `schedules[${index}]`;
    if (typeof text !== "string") throw invalidArgument(field, "must be a string");
    return parseScheduleExpression(field, text);
  });

  const zoneInput: unknown = timing.timeZone ?? "UTC";
  if (typeof zoneInput !== "string") throw invalidArgument("timeZone", "must be a string");
  const timeZone = canonicalTimeZone(zoneInput);
  if (timeZone === undefined) {
    throw invalidArgument("timeZone", `unknown IANA time zone "${zoneInput}"`);
  }

  const dstGap = oneOf<DstGapPolicy>("dstGap", timing.dstGap, ["shift", "skip"], "shift");
  const dstFold = oneOf<DstFoldPolicy>("dstFold", timing.dstFold, ["first", "last"], "first");
  const startAt = optionalInstant("startAt", timing.startAt);
  const endAt = optionalInstant("endAt", timing.endAt);
  if (startAt !== undefined && endAt !== undefined && endAt <= startAt) {
    throw invalidArgument("endAt", `must be after startAt (${startAt}), got ${endAt}`);
  }
  return { kind: "compiledCronTiming", expressions, timeZone, dstGap, dstFold, startAt, endAt };
}

export function isCompiledCronTiming(
  timing: CronTiming | CompiledCronTiming,
): timing is CompiledCronTiming {
  return "kind" in timing;
}

/** The compiled form of either input. */
export function compiled(timing: CronTiming | CompiledCronTiming): CompiledCronTiming {
  return isCompiledCronTiming(timing) ? timing : compileCronTiming(timing);
}
