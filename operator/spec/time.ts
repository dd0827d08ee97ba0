/**
 * Time values of the CRDs. Durations (spec.delay, spec.retry.backoff.*): whole-number parts
 * with units h, m, s, ms, in that order, e.g. "30s", "5m", "1h30m", "1500ms"; the CRDs check the
 * same syntax with the same regular expression. Date-times: RFC 3339.
 */
const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** The duration in milliseconds, or undefined when `text` is not a duration. */
export function parseDurationMs(text: string): number | undefined {
  const match = text.length === 0 ? null : DURATION.exec(text);
  if (match === null) return undefined;
  const [, hours = "0", minutes = "0", seconds = "0", millis = "0"] = match;
  const total =
    Number(hours) * 3_600_000 + Number(minutes) * 60_000 + Number(seconds) * 1000 + Number(millis);
  return Number.isSafeInteger(total) ? total : undefined;
}

export const DURATION_SYNTAX =
  "a duration of whole-number parts with units h, m, s, ms in that order, such as 30s, 5m, 1h30m or 1500ms";

/** RFC 3339 date-time, as the CRDs' format date-time accepts it. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** Epoch ms of an RFC 3339 date-time (runAt, startAt, endAt), or undefined. */
export function parseDateTime(text: string): number | undefined {
  if (!RFC3339.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
