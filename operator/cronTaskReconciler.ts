/**
 * CronTask -> one schedule in the scheduler (id `<namespace>.<name>.<uid prefix>`), upserted when
 * the resource's generation is not yet reflected (status.observedGeneration) or the schedule is
 * missing. UpsertSchedule is idempotent and an edit never fires a spurious run nor drops the
 * next one (the scheduler's guarantee). The status is read from GetSchedule every time.
 * Deletion: the finalizer deletes the schedule (occurrences already running finish), then is
 * removed.
 */
import type {
  GetScheduleResponse,
  HistoryEntry,
  Schedule,
  UpsertScheduleResponse,
} from "../proto/gen/ddq/v1/cron_service.js";
import { HistoryEntry_Outcome } from "../proto/gen/ddq/v1/cron_service.js";
import { scheduleSpecToPb } from "../scheduler/api/cronService.js";
import { parseOccurrenceId } from "../scheduler/engine/taskId.js";
import { isNotFound, type ReconcileContext, type ReconcileResult } from "./context.js";
import type { Informer } from "./informer.js";
import {
  findCondition,
  iso,
  jsonEqual,
  nowSeconds,
  setCondition,
  type ResourceWriter,
  reportPending,
  validAndScheduled,
} from "./resources.js";
import { cronScheduleId, cronTaskToScheduleSpec } from "./spec/cronTask.js";
import { formatSpecErrors } from "./spec/errors.js";
import {
  CONDITION_SCHEDULED,
  CONDITION_VALID,
  CRON_TASK,
  DDQ_API_VERSION,
  REASON_INVALID_SPEC,
  type CronHistoryEntry,
  type CronOutcome,
  type CronTask,
  type CronTaskPhase,
  type CronTaskStatus,
} from "./spec/types.js";

const OUTCOMES: Record<HistoryEntry_Outcome, CronOutcome | undefined> = {
  [HistoryEntry_Outcome.OUTCOME_UNSPECIFIED]: undefined,
  [HistoryEntry_Outcome.OUTCOME_SUCCEEDED]: "Succeeded",
  [HistoryEntry_Outcome.OUTCOME_DEAD]: "Failed",
  [HistoryEntry_Outcome.OUTCOME_CANCELLED]: "Cancelled",
  [HistoryEntry_Outcome.OUTCOME_MISSED]: "Missed",
  [HistoryEntry_Outcome.OUTCOME_SKIPPED]: "Skipped",
  [HistoryEntry_Outcome.UNRECOGNIZED]: undefined,
};

function historyOf(schedule: Schedule): CronHistoryEntry[] {
  const status = schedule.status;
  if (status === undefined) return [];
  const entries: { entry: CronHistoryEntry; slotMs: number; atMs: number }[] = [];
  const add = (list: HistoryEntry[]): void => {
    for (const item of list) {
      const outcome = OUTCOMES[item.outcome];
      const scheduledTime = iso(item.scheduledTime);
      if (outcome === undefined || scheduledTime === undefined) continue;
      const entry: CronHistoryEntry = { scheduledTime, outcome };
      if (item.occurrenceId !== "") entry.occurrenceId = item.occurrenceId;
      const finished = iso(item.time);
      if (finished !== undefined) entry.finishedTime = finished;
      if (item.reason !== "") entry.message = item.reason.slice(0, 1024);
      entries.push({
        entry,
        slotMs: item.scheduledTime?.getTime() ?? 0,
        atMs: item.time?.getTime() ?? 0,
      });
    }
  };
  add(status.succeeded);
  add(status.failed);
  add(status.missedHistory);
  entries.sort((a, b) => a.slotMs - b.slotMs || a.atMs - b.atMs);
  return entries.map((e) => e.entry);
}

function historyKey(entry: CronHistoryEntry): string {
  return `${entry.occurrenceId ?? ""}|${entry.scheduledTime}|${entry.outcome}`;
}

export class CronTaskReconciler {
  constructor(
    private readonly context: ReconcileContext,
    private readonly cache: Informer<CronTask>,
    private readonly writer: ResourceWriter<CronTaskStatus, CronTask>,
  ) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const cached = this.cache.get(key);
    if (cached === undefined) return {};
    let resource: CronTask = { ...cached, apiVersion: DDQ_API_VERSION, kind: CRON_TASK.kind };
    const { client, index } = this.context;
    const generation = resource.metadata.generation ?? 1;
    const old: CronTaskStatus = resource.status ?? {};
    const scheduleId = cronScheduleId(resource.metadata);

    if (resource.metadata.deletionTimestamp !== undefined) {
      await this.deleteSchedule(scheduleId);
      index.deleteSchedule(scheduleId);
      await this.writer.removeFinalizer(resource);
      return {};
    }
    resource = await this.writer.ensureFinalizer(resource);
    index.setSchedule(scheduleId, key);

    let schedule: Schedule | undefined;
    try {
      schedule = await this.getSchedule(scheduleId);
    } catch (error) {
      await this.reportPending(resource, old, error);
      throw error;
    }
    let status: CronTaskStatus;
    let upserted: "created" | "updated" | undefined;
    if (
      schedule === undefined ||
      old.observedGeneration !== generation ||
      old.phase === "Invalid"
    ) {
      const converted = await cronTaskToScheduleSpec(resource, {
        httpTopic: this.context.httpTopic,
        readSecret: this.context.readSecret,
      });
      if (!converted.ok) {
        if (schedule !== undefined) await this.deleteSchedule(scheduleId);
        status = this.invalidStatus(resource, old, formatSpecErrors(converted.errors));
      } else {
        const spec = scheduleSpecToPb(converted.value);
        const same =
          schedule?.spec !== undefined &&
          old.observedGeneration !== undefined &&
          jsonEqual(JSON.parse(JSON.stringify(schedule.spec)), JSON.parse(JSON.stringify(spec)));
        if (!same) {
          let response: UpsertScheduleResponse;
          try {
            response = await client.upsertSchedule(spec);
          } catch (error) {
            await this.reportPending(resource, old, error);
            throw error;
          }
          upserted = response.created ? "created" : "updated";
          schedule = await this.getSchedule(scheduleId);
        }
        if (schedule === undefined)
          throw new Error(`schedule ${scheduleId} vanished after its upsert`);
        status = this.statusOf(resource, scheduleId, schedule, old);
      }
    } else {
      status = this.statusOf(resource, scheduleId, schedule, old);
    }

    if (!jsonEqual(status, old)) {
      const written = await this.writer.writeStatus(resource, status);
      if (written === undefined) return { requeueAfterMs: 0 };
      this.recordEvents(written, old, status, upserted);
    } else if (upserted !== undefined) {
      this.recordEvents(resource, old, status, upserted);
    }
    const nextMs = Date.parse(status.nextScheduleTime ?? "");
    const untilNext = Number.isNaN(nextMs)
      ? Infinity
      : Math.max(nextMs - Date.now() + 1_000, 1_000);
    return { requeueAfterMs: Math.min(this.context.resyncMs, untilNext) };
  }

  private reportPending(resource: CronTask, old: CronTaskStatus, error: unknown): Promise<void> {
    return reportPending(this.writer, resource, old, "schedule", error, this.context.log);
  }

  private async getSchedule(id: string): Promise<Schedule | undefined> {
    let response: GetScheduleResponse;
    try {
      response = await this.context.client.getSchedule(id);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    return response.schedule;
  }

  private async deleteSchedule(id: string): Promise<void> {
    try {
      await this.context.client.deleteSchedule(id);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  private statusOf(
    resource: CronTask,
    scheduleId: string,
    schedule: Schedule,
    old: CronTaskStatus,
  ): CronTaskStatus {
    const generation = resource.metadata.generation ?? 1;
    const now = nowSeconds();
    const s = schedule.status;
    const next = iso(s?.nextScheduleTime);
    const suspended = s?.suspended ?? resource.spec.suspend ?? false;
    const phase: CronTaskPhase = suspended
      ? "Suspended"
      : next === undefined
        ? "Completed"
        : "Active";
    const conditions = validAndScheduled(
      old.conditions,
      generation,
      {
        status: "True",
        reason: "ScheduleCreated",
        message: `schedule ${scheduleId} exists in the scheduler`,
      },
      now,
    );
    const status: CronTaskStatus = {
      observedGeneration: generation,
      phase,
      conditions,
      scheduleId,
      runs: s?.runs ?? 0,
      missed: s?.missed ?? 0,
      skipped: s?.skipped ?? 0,
      active: (s?.active ?? []).map((occurrenceId) => {
        const parsed = parseOccurrenceId(occurrenceId);
        const scheduledTime = parsed === undefined ? undefined : iso(parsed.slotMs);
        return scheduledTime === undefined ? { occurrenceId } : { occurrenceId, scheduledTime };
      }),
      history: historyOf(schedule),
    };
    // A suspended schedule does not fire: no next time is shown.
    if (next !== undefined && !suspended) status.nextScheduleTime = next;
    const last = iso(s?.lastScheduleTime);
    if (last !== undefined) status.lastScheduleTime = last;
    const ok = iso(s?.lastSuccessfulTime);
    if (ok !== undefined) status.lastSuccessfulTime = ok;
    return status;
  }

  private invalidStatus(resource: CronTask, old: CronTaskStatus, message: string): CronTaskStatus {
    const generation = resource.metadata.generation ?? 1;
    const now = nowSeconds();
    let conditions = setCondition(
      old.conditions,
      {
        type: CONDITION_VALID,
        status: "False",
        reason: REASON_INVALID_SPEC,
        message,
        observedGeneration: generation,
      },
      now,
    );
    conditions = setCondition(
      conditions,
      {
        type: CONDITION_SCHEDULED,
        status: "False",
        reason: REASON_INVALID_SPEC,
        message: "nothing is scheduled while the spec is invalid",
        observedGeneration: generation,
      },
      now,
    );
    const kept: CronTaskStatus = { ...old };
    delete kept.nextScheduleTime;
    return { ...kept, observedGeneration: generation, phase: "Invalid", conditions, active: [] };
  }

  private recordEvents(
    resource: CronTask,
    old: CronTaskStatus,
    next: CronTaskStatus,
    upserted: "created" | "updated" | undefined,
  ): void {
    const { recorder } = this.context;
    const subject = { ...resource, apiVersion: DDQ_API_VERSION, kind: CRON_TASK.kind };
    const valid = findCondition(next.conditions, CONDITION_VALID);
    const oldValid = findCondition(old.conditions, CONDITION_VALID);
    if (valid?.status === "False") {
      if (oldValid?.status !== "False" || oldValid.message !== valid.message)
        recorder.record(subject, "Warning", REASON_INVALID_SPEC, valid.message);
      return;
    }
    if (upserted !== undefined) {
      recorder.record(
        subject,
        "Normal",
        "Scheduled",
        `schedule ${next.scheduleId ?? ""} ${upserted}; next run at ${next.nextScheduleTime ?? "(none)"}`,
      );
    }
    const runs = next.runs ?? 0;
    const oldRuns = old.runs ?? 0;
    if (runs > oldRuns) {
      recorder.record(
        subject,
        "Normal",
        "Fired",
        `${runs - oldRuns} occurrence(s) fired (last scheduled for ${next.lastScheduleTime ?? "?"}); ${runs} run(s) in total`,
      );
    }
    const seen = new Set((old.history ?? []).map(historyKey));
    for (const entry of next.history ?? []) {
      if (seen.has(historyKey(entry))) continue;
      if (entry.outcome === "Missed" || entry.outcome === "Skipped") continue;
      const what = `occurrence ${entry.occurrenceId ?? ""} scheduled for ${entry.scheduledTime}`;
      if (entry.outcome === "Succeeded")
        recorder.record(subject, "Normal", "Succeeded", `${what} succeeded`);
      else
        recorder.record(
          subject,
          "Warning",
          entry.outcome,
          `${what} ${entry.outcome.toLowerCase()}${entry.message === undefined ? "" : `: ${entry.message}`}`,
        );
    }
    const missed = (next.missed ?? 0) - (old.missed ?? 0);
    if (missed > 0)
      recorder.record(
        subject,
        "Warning",
        "Missed",
        `${missed} slot(s) missed; ${next.missed ?? 0} in total`,
      );
    const skipped = (next.skipped ?? 0) - (old.skipped ?? 0);
    if (skipped > 0)
      recorder.record(
        subject,
        "Normal",
        "Skipped",
        `${skipped} slot(s) skipped by policy (${resource.spec.concurrencyPolicy ?? "Allow"}, catch-up ${resource.spec.catchUp ?? "Latest"}); ${next.skipped ?? 0} in total`,
      );
    if (next.phase !== old.phase && (next.phase === "Suspended" || next.phase === "Completed"))
      recorder.record(subject, "Normal", next.phase, `the schedule is ${next.phase.toLowerCase()}`);
  }
}
