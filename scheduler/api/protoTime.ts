/**
 * google.protobuf.Duration and Timestamp at the API boundary. ddq works in integer milliseconds;
 * finer input is rounded to the millisecond, and malformed values are INVALID_ARGUMENT for the
 * field that carried them.
 */
import type { Duration } from "../../proto/gen/google/protobuf/duration.js";
import { invalidArgument } from "../engine/errors.js";

const MAX_DURATION_SECONDS = 315_576_000_000; // the Duration message's own bound (10,000 years)

/** Milliseconds of a Duration, or undefined when the field is unset. */
export function durationMs(duration: Duration | undefined, field: string): number | undefined {
  if (duration === undefined) return undefined;
  const { seconds, nanos } = duration;
  if (!Number.isSafeInteger(seconds) || Math.abs(seconds) > MAX_DURATION_SECONDS) {
    throw invalidArgument(field, `seconds out of range: ${seconds}`);
  }
  if (!Number.isInteger(nanos) || nanos <= -1e9 || nanos >= 1e9) {
    throw invalidArgument(field, `nanos must be within ±999,999,999, got ${nanos}`);
  }
  if ((seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
    throw invalidArgument(field, "seconds and nanos must have the same sign");
  }
  if (seconds < 0 || nanos < 0) throw invalidArgument(field, "must not be negative");
  return seconds * 1000 + Math.round(nanos / 1e6);
}

export function toDuration(ms: number): Duration {
  const whole = Math.floor(ms / 1000);
  return { seconds: whole, nanos: (ms - whole * 1000) * 1_000_000 };
}

/** Epoch milliseconds of a Timestamp (ts-proto maps it to a Date), or undefined when unset. */
export function timestampMs(date: Date | undefined, field: string): number | undefined {
  if (date === undefined) return undefined;
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw invalidArgument(field, "is not a valid timestamp");
  return ms;
}

export function toTimestamp(ms: number | undefined): Date | undefined {
  return ms === undefined ? undefined : new Date(ms);
}
