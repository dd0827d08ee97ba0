/** The pure time core of the cron engine: see docs/CRON.md. */
export {
  MACROS,
  MAX_EVERY_MS,
  MIN_EVERY_MS,
  parseScheduleExpression,
  type CalendarExpression,
  type EveryExpression,
  type ScheduleExpression,
} from "./cronExpression.js";
export {
  MAX_INSTANT_MS,
  MAX_SCHEDULES,
  MIN_INSTANT_MS,
  compileCronTiming,
  type CompiledCronTiming,
  type CronTiming,
  type DstFoldPolicy,
  type DstGapPolicy,
} from "./cronSchedule.js";
export {
  CALENDAR_SEARCH_HORIZON_MS,
  CALENDAR_SEARCH_YEARS,
  MAX_PREVIEW,
  nextFireAfter,
  previewFires,
  type FirePreview,
} from "./nextFire.js";
export { validateCronTiming } from "./validateTiming.js";
export {
  canonicalTimeZone,
  formatWallClock,
  instantToWall,
  offsetAt,
  resolveWall,
  type WallResolution,
} from "./zonedTime.js";
