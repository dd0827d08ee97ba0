/**
 * Full validation of a CronTiming: the structural checks of compileCronTiming, plus a check that
 * every calendar expression fires at least once (in the zone, with the DST policy) within the
 * search bound after the reference time.
 */
import { invalidArgument } from "../engine/errors.js";
import { compileCronTiming, type CompiledCronTiming, type CronTiming } from "./cronSchedule.js";
import { CALENDAR_SEARCH_YEARS, nextFireAfter } from "./nextFire.js";

/**
 * Check a CronTiming and apply defaults. Throws DdqError INVALID_ARGUMENT naming the field at
 * fault; a calendar expression that has no fire within CALENDAR_SEARCH_YEARS after
 * max(nowMs, startAt) is reported on its `schedules[i]` (startAt/endAt do not make an
 * expression "never fire": a window without fires is valid).
 */
export function validateCronTiming(timing: CronTiming, nowMs = Date.now()): CompiledCronTiming {
  const schedule = compileCronTiming(timing);
  const fromMs = schedule.startAt !== undefined ? Math.max(nowMs, schedule.startAt - 1) : nowMs;
  schedule.expressions.forEach((expression, index) => {
    if (expression.kind !== "calendar") return; // @every always fires
    const alone: CompiledCronTiming = {
      ...schedule,
      expressions: [expression],
      startAt: undefined,
      endAt: undefined,
    };
    if (nextFireAfter(alone, fromMs) === undefined) {
      throw invalidArgument(
        `schedules[${index}]`,
        `"${expression.source}" never fires in ${schedule.timeZone} ` +
          `(dstGap "${schedule.dstGap}", dstFold "${schedule.dstFold}"): no fire within ` +
          `${CALENDAR_SEARCH_YEARS} years after ${new Date(fromMs).toISOString()}`,
      );
    }
  });
  return schedule;
}
