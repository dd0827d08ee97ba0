/** CronService handlers (proto/ddq/v1/cron_service.proto) over the scheduler's cron engine. */
import {
  CatchUpMode,
  ConcurrencyPolicy,
  DstFoldPolicy,
  DstGapPolicy,
  HistoryEntry_Outcome,
  type CronServiceServer,
  type DeleteScheduleRequest,
  type DeleteScheduleResponse,
  type GetScheduleRequest,
  type GetScheduleResponse,
  type HistoryEntry as PbHistoryEntry,
  type ListSchedulesRequest,
  type ListSchedulesResponse,
  type PauseScheduleRequest,
  type PauseScheduleResponse,
  type PreviewScheduleRequest,
  type PreviewScheduleResponse,
  type ResumeScheduleRequest,
  type ResumeScheduleResponse,
  type Schedule,
  type ScheduleSpec,
  type TriggerScheduleRequest,
  type TriggerScheduleResponse,
  type UpsertScheduleRequest,
  type UpsertScheduleResponse,
  CronServiceService,
} from "../../proto/gen/ddq/v1/cron_service.js";
import type { HistoryEntry, ScheduleStatus } from "../cron/cronScheduler.js";
import type { CronScheduleSpec } from "../cron/cronSpec.js";
import type { CronTiming } from "../cron/cronSchedule.js";
import { invalidArgument, isDdqError } from "../engine/errors.js";
import { SCHEDULE_ID } from "../engine/taskId.js";
import type { Scheduler } from "../scheduler.js";
import type { CallGuard } from "./callGuard.js";
import { pageTokenOf, schedulePageToken } from "./pageToken.js";
import type { PeerRouter } from "./peerRouter.js";
import { checkMaxLength, MAX_TIME_ZONE_LENGTH } from "./requestFields.js";
import { durationMs, timestampMs, toDuration, toTimestamp } from "./protoTime.js";
import { taskSpecFromPb, taskSpecToPb } from "./taskMessages.js";

function enumName<E extends number, N extends string>(
  value: E,
  names: readonly (readonly [E, N])[],
  field: string,
): N | undefined {
  if ((value as number) === 0) return undefined;
  const hit = names.find(([v]) => v === value);
  if (hit === undefined) throw invalidArgument(field, `unknown value ${value}`);
  return hit[1];
}

const GAP = [
  [DstGapPolicy.DST_GAP_POLICY_SHIFT, "shift"],
  [DstGapPolicy.DST_GAP_POLICY_SKIP, "skip"],
] as const;
const FOLD = [
  [DstFoldPolicy.DST_FOLD_POLICY_FIRST, "first"],
  [DstFoldPolicy.DST_FOLD_POLICY_LAST, "last"],
] as const;
const CONCURRENCY = [
  [ConcurrencyPolicy.CONCURRENCY_POLICY_ALLOW, "Allow"],
  [ConcurrencyPolicy.CONCURRENCY_POLICY_FORBID, "Forbid"],
  [ConcurrencyPolicy.CONCURRENCY_POLICY_REPLACE, "Replace"],
] as const;
const CATCH_UP = [
  [CatchUpMode.CATCH_UP_MODE_SKIP, "Skip"],
  [CatchUpMode.CATCH_UP_MODE_LATEST, "Latest"],
  [CatchUpMode.CATCH_UP_MODE_ALL, "All"],
] as const;

function enumValue<E extends number, N extends string>(
  name: N | undefined,
  names: readonly (readonly [E, N])[],
  unspecified: E,
): E {
  return names.find(([, n]) => n === name)?.[0] ?? unspecified;
}

export function scheduleSpecFromPb(spec: ScheduleSpec | undefined): CronScheduleSpec {
  if (spec === undefined) throw invalidArgument("spec", "is required");
  const timing: CronTiming = { schedules: spec.schedules };
  if (spec.timeZone !== "")
    timing.timeZone = checkMaxLength("spec.time_zone", spec.timeZone, MAX_TIME_ZONE_LENGTH);
  const gap = enumName(spec.dstGap, GAP, "spec.dst_gap");
  if (gap !== undefined) timing.dstGap = gap;
  const fold = enumName(spec.dstFold, FOLD, "spec.dst_fold");
  if (fold !== undefined) timing.dstFold = fold;
  const startAt = timestampMs(spec.startTime, "spec.start_time");
  if (startAt !== undefined) timing.startAt = startAt;
  const endAt = timestampMs(spec.endTime, "spec.end_time");
  if (endAt !== undefined) timing.endAt = endAt;
  const task = taskSpecFromPb(spec.task, "spec.task.");
  if (task.due !== undefined) {
    throw invalidArgument(
      "atMs" in task.due ? "spec.task.due_time" : "spec.task.delay",
      "must be unset: an occurrence is due at its slot",
    );
  }
  if (task.idempotencyKey !== undefined) {
    throw invalidArgument(
      "spec.task.idempotency_key",
      "must be unset: occurrence ids are deterministic",
    );
  }
  const out: CronScheduleSpec = { id: spec.id, timing, suspend: spec.suspend, task };
  if (spec.maxRuns !== undefined) out.maxRuns = spec.maxRuns;
  const concurrency = enumName(spec.concurrencyPolicy, CONCURRENCY, "spec.concurrency_policy");
  if (concurrency !== undefined) out.concurrencyPolicy = concurrency;
  const deadlineMs = durationMs(spec.startingDeadline, "spec.starting_deadline");
  if (deadlineMs !== undefined) {
    if (deadlineMs % 1000 !== 0) {
      throw invalidArgument("spec.starting_deadline", "must be whole seconds");
    }
    out.startingDeadlineSeconds = deadlineMs / 1000;
  }
  const catchUp = enumName(spec.catchUp, CATCH_UP, "spec.catch_up");
  if (catchUp !== undefined) out.catchUp = catchUp;
  if (spec.maxBurst !== undefined) out.maxBurst = spec.maxBurst;
  const jitterMs = durationMs(spec.jitter, "spec.jitter");
  if (jitterMs !== undefined) out.jitterMs = jitterMs;
  if (spec.successfulHistoryLimit !== undefined)
    out.successfulHistoryLimit = spec.successfulHistoryLimit;
  if (spec.failedHistoryLimit !== undefined) out.failedHistoryLimit = spec.failedHistoryLimit;
  if (spec.missedHistoryLimit !== undefined) out.missedHistoryLimit = spec.missedHistoryLimit;
  return out;
}

export function scheduleSpecToPb(spec: CronScheduleSpec): ScheduleSpec {
  const out: ScheduleSpec = {
    id: spec.id,
    schedules: spec.timing.schedules,
    timeZone: spec.timing.timeZone ?? "",
    dstGap: enumValue(spec.timing.dstGap, GAP, DstGapPolicy.DST_GAP_POLICY_UNSPECIFIED),
    dstFold: enumValue(spec.timing.dstFold, FOLD, DstFoldPolicy.DST_FOLD_POLICY_UNSPECIFIED),
    suspend: spec.suspend ?? false,
    concurrencyPolicy: enumValue(
      spec.concurrencyPolicy,
      CONCURRENCY,
      ConcurrencyPolicy.CONCURRENCY_POLICY_UNSPECIFIED,
    ),
    catchUp: enumValue(spec.catchUp, CATCH_UP, CatchUpMode.CATCH_UP_MODE_UNSPECIFIED),
    task: taskSpecToPb(spec.task),
  };
  const start = toTimestamp(spec.timing.startAt);
  if (start !== undefined) out.startTime = start;
  const end = toTimestamp(spec.timing.endAt);
  if (end !== undefined) out.endTime = end;
  if (spec.maxRuns !== undefined) out.maxRuns = spec.maxRuns;
  if (spec.startingDeadlineSeconds !== undefined)
    out.startingDeadline = toDuration(spec.startingDeadlineSeconds * 1000);
  if (spec.maxBurst !== undefined) out.maxBurst = spec.maxBurst;
  if (spec.jitterMs !== undefined) out.jitter = toDuration(spec.jitterMs);
  if (spec.successfulHistoryLimit !== undefined)
    out.successfulHistoryLimit = spec.successfulHistoryLimit;
  if (spec.failedHistoryLimit !== undefined) out.failedHistoryLimit = spec.failedHistoryLimit;
  if (spec.missedHistoryLimit !== undefined) out.missedHistoryLimit = spec.missedHistoryLimit;
  return out;
}

const OUTCOME: Record<HistoryEntry["outcome"], HistoryEntry_Outcome> = {
  succeeded: HistoryEntry_Outcome.OUTCOME_SUCCEEDED,
  dead: HistoryEntry_Outcome.OUTCOME_DEAD,
  cancelled: HistoryEntry_Outcome.OUTCOME_CANCELLED,
  missed: HistoryEntry_Outcome.OUTCOME_MISSED,
  skipped: HistoryEntry_Outcome.OUTCOME_SKIPPED,
};

function historyToPb(entry: HistoryEntry): PbHistoryEntry {
  return {
    scheduledTime: new Date(entry.slot),
    outcome: OUTCOME[entry.outcome],
    time: new Date(entry.at),
    occurrenceId: entry.id ?? "",
    reason: entry.reason ?? "",
    attempt: entry.attempt ?? 0,
    manual: entry.manual ?? false,
  };
}

export function scheduleToPb(status: ScheduleStatus): Schedule {
  const out: Schedule = {
    spec: scheduleSpecToPb(status.spec),
    status: {
      generation: status.generation,
      suspended: status.suspended,
      runs: status.runs,
      missed: status.missed,
      skipped: status.skipped,
      active: status.active,
      succeeded: status.history.succeeded.map(historyToPb),
      failed: status.history.failed.map(historyToPb),
      missedHistory: status.history.missed.map(historyToPb),
    },
  };
  const s = out.status;
  if (s !== undefined) {
    const next = toTimestamp(status.nextScheduleTimeMs);
    if (next !== undefined) s.nextScheduleTime = next;
    const last = toTimestamp(status.lastScheduleTimeMs);
    if (last !== undefined) s.lastScheduleTime = last;
    const ok = toTimestamp(status.lastSuccessfulTimeMs);
    if (ok !== undefined) s.lastSuccessfulTime = ok;
  }
  return out;
}

export function cronServiceHandlers(
  scheduler: Scheduler,
  guard: CallGuard,
  router: PeerRouter,
): CronServiceServer {
  const cron = scheduler.cron;
  return {
    upsertSchedule: guard.unary<UpsertScheduleRequest, UpsertScheduleResponse>(
      "UpsertSchedule",
      (request, context) =>
        router.singleShard(CronServiceService.upsertSchedule, request, context, async () => {
          const spec = scheduleSpecFromPb(request.spec);
          let result;
          try {
            result = await cron.upsert(spec);
          } catch (error) {
            throw withSpecPrefix(error);
          }
          const out: UpsertScheduleResponse = {
            created: result.created,
            generation: result.generation,
          };
          const next = toTimestamp(result.nextScheduleTimeMs);
          if (next !== undefined) out.nextScheduleTime = next;
          return out;
        }),
    ),
    getSchedule: guard.unary<GetScheduleRequest, GetScheduleResponse>(
      "GetSchedule",
      async (request) => ({ schedule: scheduleToPb(await cron.get(request.id)) }),
    ),
    deleteSchedule: guard.unary<DeleteScheduleRequest, DeleteScheduleResponse>(
      "DeleteSchedule",
      (request, context) =>
        router.singleShard(CronServiceService.deleteSchedule, request, context, async () => ({
          deleted: await cron.delete(request.id),
        })),
    ),
    listSchedules: guard.unary<ListSchedulesRequest, ListSchedulesResponse>(
      "ListSchedules",
      async (request, context) => {
        const size = request.pageSize === 0 ? 100 : request.pageSize;
        if (!Number.isSafeInteger(size) || size < 1 || size > 1000) {
          throw invalidArgument("page_size", `must be from 1 to 1000, got ${request.pageSize}`);
        }
        const after = schedulePageToken(request.pageToken, (id) => SCHEDULE_ID.test(id));
        const ids = (await cron.list()).filter((id) => id > after);
        const page = ids.slice(0, size);
        context.signal.throwIfAborted();
        const schedules = await Promise.all(
          page.map((id) => cron.get(id).then(scheduleToPb, () => undefined)),
        );
        const last = page.at(-1);
        return {
          schedules: schedules.filter((s): s is Schedule => s !== undefined),
          nextPageToken: ids.length > size && last !== undefined ? pageTokenOf(last) : "",
        };
      },
    ),
    pauseSchedule: guard.unary<PauseScheduleRequest, PauseScheduleResponse>(
      "PauseSchedule",
      (request, context) =>
        router.singleShard(CronServiceService.pauseSchedule, request, context, async () => {
          await cron.setSuspended(request.id, true);
          return {};
        }),
    ),
    resumeSchedule: guard.unary<ResumeScheduleRequest, ResumeScheduleResponse>(
      "ResumeSchedule",
      (request, context) =>
        router.singleShard(CronServiceService.resumeSchedule, request, context, async () => {
          await cron.setSuspended(request.id, false);
          return {};
        }),
    ),
    triggerSchedule: guard.unary<TriggerScheduleRequest, TriggerScheduleResponse>(
      "TriggerSchedule",
      (request, context) =>
        router.singleShard(CronServiceService.triggerSchedule, request, context, async () => ({
          occurrenceId: (
            await cron.trigger(
              request.id,
              request.requestId === "" ? {} : { requestId: request.requestId },
            )
          ).occurrenceId,
        })),
    ),
    previewSchedule: guard.unary<PreviewScheduleRequest, PreviewScheduleResponse>(
      "PreviewSchedule",
      async (request) => {
        const count = request.count === 0 ? 10 : request.count;
        const { timeZone, fires } = await cron.preview(request.id, count);
        return {
          timeZone,
          fires: fires.map((f) => ({ time: new Date(f.atMs), localTime: f.wallClock })),
        };
      },
    ),
  };
}

/** Cron engine field names are relative to the spec: name them from the request's root. */
function withSpecPrefix(error: unknown): unknown {
  if (!isDdqError(error, "INVALID_ARGUMENT") || error.field === undefined) return error;
  const field = error.field.startsWith("spec.") ? error.field : `spec.${error.field}`;
  const message = error.message.startsWith(`${error.field}: `)
    ? error.message.slice(error.field.length + 2)
    : error.message;
  return invalidArgument(field, message);
}
