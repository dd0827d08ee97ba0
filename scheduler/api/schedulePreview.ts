/**
 * PreviewSchedule: the next fire times of a stored schedule (`id`) or of a spec that is not saved
 * (`spec`, checked exactly as UpsertSchedule checks it), after `from_time` (default now). The same
 * pure computation (cron/nextFire.ts) as the scheduler's fires; `due_time` adds the schedule's
 * jitter offset.
 */
import type {
  PreviewScheduleRequest,
  PreviewScheduleResponse,
} from "../../proto/gen/ddq/v1/cron_service.js";
import { checkInstant } from "../cron/cronSchedule.js";
import { checkCronSpec } from "../cron/cronSpec.js";
import { MAX_PREVIEW, previewFires, type FirePreview } from "../cron/nextFire.js";
import { invalidArgument } from "../engine/errors.js";
import type { Scheduler } from "../scheduler.js";
import { scheduleSpecFromPb, withSpecPrefix } from "./cronService.js";
import { timestampMs } from "./protoTime.js";

/** Default `count`. */
const DEFAULT_PREVIEW_COUNT = 10;

async function preview(
  scheduler: Scheduler,
  request: PreviewScheduleRequest,
  count: number,
  fromMs: number,
): Promise<{ timeZone: string; fires: FirePreview[]; jitterOffsetMs: number }> {
  if (request.spec === undefined) return scheduler.cron.preview(request.id, count, fromMs);
  if (request.id !== "") {
    throw invalidArgument("id", "must be empty when spec is set (exactly one of id and spec)");
  }
  const spec = scheduleSpecFromPb(request.spec);
  let checked;
  try {
    checked = checkCronSpec(spec, scheduler.limits, scheduler.defaults, {
      full: true,
      nowMs: Date.now(),
    });
  } catch (error) {
    throw withSpecPrefix(error);
  }
  return {
    timeZone: checked.timing.timeZone,
    fires: previewFires(checked.timing, fromMs, count),
    jitterOffsetMs: scheduler.cron.jitterOffset(checked.id, checked.jitterMs),
  };
}

export async function previewSchedule(
  scheduler: Scheduler,
  request: PreviewScheduleRequest,
): Promise<PreviewScheduleResponse> {
  const count = request.count === 0 ? DEFAULT_PREVIEW_COUNT : request.count;
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_PREVIEW) {
    throw invalidArgument("count", `must be from 1 to ${MAX_PREVIEW}, got ${request.count}`);
  }
  const from = timestampMs(request.fromTime, "from_time");
  const fromMs = from === undefined ? Date.now() : checkInstant("from_time", from);
  const { timeZone, fires, jitterOffsetMs } = await preview(scheduler, request, count, fromMs);
  return {
    timeZone,
    fires: fires.map((f) => ({
      time: new Date(f.atMs),
      localTime: f.wallClock,
      dueTime: new Date(f.atMs + jitterOffsetMs),
    })),
  };
}
