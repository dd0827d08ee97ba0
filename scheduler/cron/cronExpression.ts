/**
 * Parsing of one schedule expression: a 5- or 6-field cron expression, a macro, or `@every`.
 * Calendar expressions are parsed by cron-parser; this module adds the accepted syntax on top
 * (field count, macros, no hashed `H` values; names, weekday steps and the day-field rule in
 * cronFields.ts) and turns its errors into DdqErrors for the field.
 */
import type { CronFieldCollection } from "cron-parser";
import { invalidArgument, type DdqError } from "../engine/errors.js";
import {
  CronFieldError,
  parseCalendarFields,
  resolveFields,
  type DayOfMonthFilter,
} from "./cronFields.js";

/** A calendar expression: fires at wall-clock times in the schedule's zone. */
export interface CalendarExpression {
  kind: "calendar";
  /** As written (trimmed). */
  source: string;
  /** Six fields, seconds first (5-field expressions and macros get second 0). */
  normalized: string;
  /** cron-parser's parsed fields, reused for every iteration. */
  fields: CronFieldCollection;
  /**
   * Both day fields must match (one starts with `*` or `?`, Vixie/cronie) and `fields` iterate
   * the weekdays only: a candidate must also fall on one of these days of the month.
   */
  dayOfMonthFilter: DayOfMonthFilter | undefined;
}

/** `@every <duration>`: fires at every instant that is a multiple of the period since the epoch. */
export interface EveryExpression {
  kind: "every";
  source: string;
  periodMs: number;
}

export type ScheduleExpression = CalendarExpression | EveryExpression;

/** The macros, as six-field expressions. */
export const MACROS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 0 1 1 *",
  "@annually": "0 0 0 1 1 *",
  "@monthly": "0 0 0 1 * *",
  "@weekly": "0 0 0 * * 0",
  "@daily": "0 0 0 * * *",
  "@midnight": "0 0 0 * * *",
  "@hourly": "0 0 * * * *",
};

/** Bounds of an `@every` period. */
export const MIN_EVERY_MS = 1000;
export const MAX_EVERY_MS = 366 * 24 * 3600 * 1000;

const MAX_EXPRESSION_LENGTH = 256;

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parse a Go-style duration made of whole-number parts: "90s", "1h30m", "2h", "1500ms".
 * Units: h, m, s, ms. The result must be a whole number of seconds.
 */
export function parseEveryDuration(field: string, text: string): number {
  const parts = /^(?:\d+(?:ms|h|m|s))+$/.test(text) ? text.match(/\d+(?:ms|h|m|s)/g) : null;
  if (parts === null) {
    throw invalidArgument(
      field,
      `invalid @every duration "${text}": expected whole-number parts with units h, m, s ` +
        `(e.g. "90s", "1h30m")`,
    );
  }
  let total = 0;
  for (const part of parts) {
    const unit = /(?:ms|h|m|s)$/.exec(part)?.[0] ?? "s";
    total += Number(part.slice(0, part.length - unit.length)) * (UNIT_MS[unit] ?? 1000);
  }
  if (total < MIN_EVERY_MS) {
    throw invalidArgument(field, `@every duration "${text}" is shorter than the minimum of 1s`);
  }
  if (total % 1000 !== 0) {
    throw invalidArgument(field, `@every duration "${text}" must be a whole number of seconds`);
  }
  if (total > MAX_EVERY_MS) {
    throw invalidArgument(field, `@every duration "${text}" is longer than the maximum of 8784h`);
  }
  return total;
}

function cronParserMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (message === "Invalid explicit day of month definition") {
    return "never fires: its day of month does not occur in any of its months";
  }
  return message;
}

/**
 * Parse one schedule expression; `field` names it in errors (e.g. "schedules[1]").
 * Throws DdqError INVALID_ARGUMENT.
 */
export function parseScheduleExpression(field: string, text: string): ScheduleExpression {
  const source = text.trim();
  if (source.length === 0) throw invalidArgument(field, "must not be empty");
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw invalidArgument(field, `must be at most ${MAX_EXPRESSION_LENGTH} characters`);
  }
  let sixFields: string;
  if (source.startsWith("@")) {
    const [macro, ...rest] = source.split(/\s+/);
    if (macro === "@every") {
      if (rest.length !== 1 || rest[0] === undefined) {
        throw invalidArgument(
          field,
          `"${source}": expected "@every <duration>", e.g. "@every 90s"`,
        );
      }
      return { kind: "every", source, periodMs: parseEveryDuration(field, rest[0]) };
    }
    const expansion = macro === undefined ? undefined : MACROS[macro];
    if (expansion === undefined || rest.length > 0) {
      throw invalidArgument(
        field,
        `unknown macro "${source}": expected one of ${Object.keys(MACROS).join(" ")} ` +
          `or "@every <duration>"`,
      );
    }
    sixFields = expansion;
  } else {
    const atoms = source.split(/\s+/);
    if (atoms.length !== 5 && atoms.length !== 6) {
      throw invalidArgument(
        field,
        `invalid cron expression "${source}": expected 5 fields (minute hour day-of-month ` +
          `month day-of-week) or 6 (second first), got ${atoms.length}`,
      );
    }
    sixFields = atoms.length === 5 ? `0 ${atoms.join(" ")}` : atoms.join(" ");
  }
  const invalid = (message: string): DdqError =>
    invalidArgument(field, `invalid cron expression "${source}": ${message}`);
  let resolved: string[];
  try {
    resolved = resolveFields(sixFields.split(" "));
  } catch (error) {
    throw invalid(cronParserMessage(error));
  }
  // cron-parser's Jenkins-style hashed values (H) are random unless seeded: not accepted.
  if (resolved.some((atom) => /H/.test(atom))) {
    throw invalid("hashed values (H) are not supported");
  }
  try {
    const { fields, dayOfMonthFilter } = parseCalendarFields(resolved);
    return { kind: "calendar", source, normalized: sixFields, fields, dayOfMonthFilter };
  } catch (error) {
    if (error instanceof CronFieldError) throw invalid(error.message);
    throw invalid(cronParserMessage(error));
  }
}
