/**
 * The crontab dialect ddq accepts, on top of cron-parser's field syntax (docs/CRON.md,
 * "Expressions"). Rewrites the six fields of a calendar expression before cron-parser parses them:
 *
 * - **Names**: months `JAN`..`DEC` and weekdays `SUN`..`SAT`, exactly three letters in any case
 *   (as Vixie cron, cronie, robfig/cron and croniter). Any other word (`JANUARY`, `MONDAY`, a name
 *   in the wrong field, names run together) is refused with an error naming it.
 * - **Weekday steps `a/n`** run from a to 6 (Saturday), as in robfig/cron and croniter:
 *   `1/2` is Mon, Wed, Fri. cron-parser alone reads it as `1-7/2`, adding Sunday (7).
 * - **Day of month vs day of week** (Vixie cron and cronie, `entry.c`/`cron.c`): a day field whose
 *   text starts with `*` or `?` is "unrestricted", whatever follows. If neither day field is, a day
 *   matches if either field matches; otherwise it must match both. cron-parser only treats an exact
 *   `*`/`?` as unrestricted (so `*\/1` or `*\/2` against a weekday would mean "either"): where
 *   its reading differs, the day of month is handed to cron-parser as `*` and checked here on
 *   each candidate (`dayOfMonthFilter`).
 */
import { CronExpressionParser, type CronFieldCollection } from "cron-parser";

const MONTH_NAMES = [
  "jan",
  "feb",
  "mar",
  "apr",
  "may",
  "jun",
  "jul",
  "aug",
  "sep",
  "oct",
  "nov",
  "dec",
];
const WEEKDAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/** The days of the month a candidate must fall on (values of the day-of-month field). */
export interface DayOfMonthFilter {
  days: ReadonlySet<number>;
  /** `L`: the last day of the month. */
  lastDay: boolean;
}

export interface CalendarFields {
  /** cron-parser's fields, to iterate the candidates. */
  fields: CronFieldCollection;
  /** Set when both day fields must match and cron-parser iterates the weekdays only. */
  dayOfMonthFilter: DayOfMonthFilter | undefined;
}

/** A refused field: the message (without the expression) for the caller to wrap. */
export class CronFieldError extends Error {
  override readonly name = "CronFieldError";
}

/**
 * Replaces the names of one month or weekday field by numbers. Single letters are left to
 * cron-parser and the hashed-value check (`L`, `H`); a weekday name may carry `L` (`FRIL` = `5L`).
 */
function resolveNames(text: string, kind: "month" | "weekday"): string {
  const names = kind === "month" ? MONTH_NAMES : WEEKDAY_NAMES;
  return text.replace(/[a-z]+/gi, (word) => {
    if (word.length === 1) return word;
    const lower = word.toLowerCase();
    const base =
      kind === "weekday" && lower.length === 4 && lower.endsWith("l") ? lower.slice(0, 3) : lower;
    const index = names.indexOf(base);
    if (index < 0) {
      throw new CronFieldError(
        kind === "month"
          ? `unknown month name "${word}": months are 1-12 or JAN..DEC (three letters, any case)`
          : `unknown weekday name "${word}": weekdays are 0-7 (0 and 7 are Sunday) or SUN..SAT ` +
              `(three letters, any case)`,
      );
    }
    const value = String(kind === "month" ? index + 1 : index);
    return base === lower ? value : `${value}L`;
  });
}

/** Weekday items `a/n` (a in 0..6) become `a-6/n`: the step ends at Saturday. */
function boundWeekdaySteps(text: string): string {
  return text
    .split(",")
    .map((item) => {
      const step = /^(\d+)\/(\d+)$/.exec(item);
      return step !== null && Number(step[1]) <= 6 ? `${step[1]}-6/${step[2]}` : item;
    })
    .join(",");
}

/**
 * The six fields (seconds first) with names resolved and weekday steps bounded, as cron-parser is
 * to read them, before the day-field rule. Throws CronFieldError.
 */
export function resolveFields(sixFields: readonly string[]): string[] {
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = sixFields;
  if (dayOfWeek === undefined || month === undefined || dayOfMonth === undefined) {
    throw new CronFieldError("expected six fields");
  }
  return [
    second ?? "",
    minute ?? "",
    hour ?? "",
    dayOfMonth,
    resolveNames(month, "month"),
    boundWeekdaySteps(resolveNames(dayOfWeek, "weekday")),
  ];
}

function parse(fields: readonly string[]): CronFieldCollection {
  return CronExpressionParser.parse(fields.join(" "), { tz: "UTC" }).fields;
}

function allDaysOfMonth(values: readonly (number | string)[]): boolean {
  return values.filter((v) => typeof v === "number").length === 31;
}

function allWeekdays(collection: CronFieldCollection): boolean {
  const week = collection.dayOfWeek;
  if (week.nthDay > 0) return false;
  const days = new Set(week.values.filter((v) => typeof v === "number").map((v) => v % 7));
  return days.size === 7;
}

/**
 * Parses resolved fields (from resolveFields) with the Vixie/cronie day-field rule. Throws
 * cron-parser's errors.
 */
export function parseCalendarFields(resolved: readonly string[]): CalendarFields {
  const original = parse(resolved);
  const dayOfMonth = resolved[3] ?? "";
  const dayOfWeek = resolved[5] ?? "";
  const exactlyAny = (field: string): boolean => field === "*" || field === "?";
  const startsAny = (field: string): boolean => /^[*?]/.test(field);
  // Either field exactly * or ?: cron-parser's reading is the rule's. Neither starting with * or
  // ?: both restrict, "either" for both readings.
  if (exactlyAny(dayOfMonth) || exactlyAny(dayOfWeek))
    return { fields: original, dayOfMonthFilter: undefined };
  if (!startsAny(dayOfMonth) && !startsAny(dayOfWeek)) {
    return { fields: original, dayOfMonthFilter: undefined };
  }
  // Both must match. A field that allows every day leaves the other alone, which cron-parser
  // does by itself when that field is written `*`.
  const withField = (index: number, value: string): string[] =>
    resolved.map((field, i) => (i === index ? value : field));
  if (allDaysOfMonth(original.dayOfMonth.values)) {
    return { fields: parse(withField(3, "*")), dayOfMonthFilter: undefined };
  }
  if (allWeekdays(original)) {
    return { fields: parse(withField(5, "*")), dayOfMonthFilter: undefined };
  }
  const values: readonly (number | string)[] = original.dayOfMonth.values;
  return {
    fields: parse(withField(3, "*")),
    dayOfMonthFilter: {
      days: new Set(values.filter((v): v is number => typeof v === "number")),
      lastDay: values.includes("L"),
    },
  };
}

/** Whether a wall time (UTC fields = wall clock fields) falls on one of the filter's days. */
export function matchesDayOfMonth(filter: DayOfMonthFilter, wall: number): boolean {
  const date = new Date(wall);
  const day = date.getUTCDate();
  if (filter.days.has(day)) return true;
  if (!filter.lastDay) return false;
  const next = new Date(wall);
  next.setUTCDate(day + 1);
  return next.getUTCDate() === 1;
}
