/**
 * DelayedTask -> one task in the scheduler. Level-triggered: every call reads the resource (from
 * the informer cache, fresher copies written by this process included) and the task (GetTask),
 * makes the scheduler match the spec, and writes the status the task's state implies.
 *
 * - The task is enqueued with the idempotency key `ddq.io/DelayedTask/<uid>/<generation>`, so a
 *   repeated reconcile (or one after a crash between Enqueue and the status write) finds the
 *   task created first.
 * - A new generation (an edit) cancels the previous generation's task, unless it is finished, and
 *   enqueues the new one: status.taskId follows. A task that already succeeded or failed is not
 *   run again by an edit.
 * - Deletion: the finalizer cancels the task (unless finished), then is removed.
 * - An invalid spec (what the API server could not check) gets Valid=False and an Event, and
 *   nothing is scheduled (a task of an earlier generation is cancelled).
 * - ttlSecondsAfterFinished deletes the resource that long after its completionTime.
 */
import { statusCode } from "../scheduler/kubernetesStatus.js";
import { status as GrpcCode } from "@grpc/grpc-js";
import {
  CancelTaskResponse_Outcome,
  type EnqueueResponse,
} from "../proto/gen/ddq/v1/task_service.js";
import { TaskState, type Task } from "../proto/gen/ddq/v1/task.js";
import { taskSpecToPb } from "../scheduler/api/taskMessages.js";
import { grpcCode, isNotFound, type ReconcileContext, type ReconcileResult } from "./context.js";
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
import { delayedTaskIdempotencyKey, delayedTaskToTaskSpec } from "./spec/delayedTask.js";
import { formatSpecErrors } from "./spec/errors.js";
import {
  CONDITION_SCHEDULED,
  CONDITION_SUCCEEDED,
  CONDITION_VALID,
  DDQ_API_VERSION,
  DELAYED_TASK,
  REASON_INVALID_SPEC,
  type DelayedTask,
  type DelayedTaskPhase,
  type DelayedTaskStatus,
} from "./spec/types.js";

const FINISHED_PHASES: readonly DelayedTaskPhase[] = ["Succeeded", "Failed", "Cancelled"];
const BEFORE_FIRE: readonly (DelayedTaskPhase | undefined)[] = [undefined, "Pending", "Scheduled"];

/** The generation an idempotency key `ddq.io/DelayedTask/<uid>/<generation>` names. */
export function generationOfKey(key: string): number | undefined {
  const match = /^ddq\.io\/DelayedTask\/[^/]+\/(\d+)$/.exec(key);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

function phaseOf(task: Task): DelayedTaskPhase {
  switch (task.state) {
    case TaskState.TASK_STATE_SCHEDULED:
    case TaskState.TASK_STATE_READY:
      return task.attempt > 0 ? "Retrying" : "Scheduled";
    case TaskState.TASK_STATE_LEASED:
      return "Running";
    case TaskState.TASK_STATE_SUCCEEDED:
      return "Succeeded";
    case TaskState.TASK_STATE_DEAD:
      return "Failed";
    case TaskState.TASK_STATE_CANCELLED:
      return "Cancelled";
    case TaskState.TASK_STATE_UNSPECIFIED:
    case TaskState.UNRECOGNIZED:
      return "Pending";
  }
}

function isFinishedTask(task: Task): boolean {
  return task.state === TaskState.TASK_STATE_SUCCEEDED || task.state === TaskState.TASK_STATE_DEAD;
}

/**
 * Fired: finished, or delivered at least once (leased now, or waiting for a retry). A DelayedTask
 * runs once, so an edit after this point does not enqueue the new generation: the running
 * attempt cannot be taken back.
 */
function hasFired(task: Task): boolean {
  return isFinishedTask(task) || task.state === TaskState.TASK_STATE_LEASED || task.attempt > 0;
}

export class DelayedTaskReconciler {
  constructor(
    private readonly context: ReconcileContext,
    private readonly cache: Informer<DelayedTask>,
    private readonly writer: ResourceWriter<DelayedTaskStatus, DelayedTask>,
  ) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const cached = this.cache.get(key);
    if (cached === undefined) return {};
    let resource: DelayedTask = { ...cached, apiVersion: DDQ_API_VERSION, kind: DELAYED_TASK.kind };
    const { client, index } = this.context;
    const generation = resource.metadata.generation ?? 1;
    const old: DelayedTaskStatus = resource.status ?? {};

    if (resource.metadata.deletionTimestamp !== undefined) {
      await this.cancelEverything(key, resource, old);
      await this.writer.removeFinalizer(resource);
      return {};
    }
    resource = await this.writer.ensureFinalizer(resource);

    // The task of the status, and the generation it was created for.
    let task: Task | undefined;
    if (old.taskId !== undefined) {
      index.setTask(old.taskId, key);
      try {
        task = await client.get(old.taskId);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    const taskGeneration =
      task === undefined ? old.observedGeneration : generationOfKey(task.idempotencyKey);
    const oldFinished =
      FINISHED_PHASES.includes(old.phase ?? "Pending") && old.phase !== "Cancelled";

    let status: DelayedTaskStatus;
    if (task !== undefined && taskGeneration === generation) {
      status = this.statusOf(resource, task, old);
    } else if (
      old.taskId !== undefined &&
      task === undefined &&
      (oldFinished || taskGeneration === generation)
    ) {
      // The recorded task is gone from the scheduler (past its retention): keep the record.
      // Enqueueing again, even for this generation, could run it twice once the idempotency
      // key's own retention has ended.
      status = { ...old, observedGeneration: generation };
    } else if (
      task !== undefined &&
      task.state !== TaskState.TASK_STATE_CANCELLED &&
      hasFired(task)
    ) {
      // Edited after it fired: a DelayedTask runs once; the edit does not run it again.
      status = { ...this.statusOf(resource, task, old), observedGeneration: generation };
    } else {
      const converted = await delayedTaskToTaskSpec(resource, {
        httpTopic: this.context.httpTopic,
        readSecret: this.context.readSecret,
      });
      if (task !== undefined && task.state !== TaskState.TASK_STATE_CANCELLED) {
        await this.cancelUnlessFinished(task.id);
      }
      await this.cancelOtherGenerations(key, generation, old.taskId);
      if (!converted.ok) {
        status = this.invalidStatus(resource, old, formatSpecErrors(converted.errors));
      } else {
        let response: EnqueueResponse;
        try {
          response = await client.enqueue(taskSpecToPb(converted.value));
        } catch (error) {
          await this.reportPending(resource, old, error);
          throw error;
        }
        const created = response.task;
        if (created === undefined) throw new Error("Enqueue answered without a task");
        index.setTask(created.id, key);
        const kept: DelayedTaskStatus = { ...old };
        delete kept.startTime;
        delete kept.completionTime;
        delete kept.lastError;
        delete kept.attempts;
        status = this.statusOf(resource, created, kept);
      }
    }

    if (!jsonEqual(status, old)) {
      const written = await this.writer.writeStatus(resource, status);
      if (written === undefined) {
        // Gone while we worked (deleted before the finalizer could hold it): nothing may run.
        const current = await this.writer.get(
          resource.metadata.namespace ?? "",
          resource.metadata.name ?? "",
        );
        if (current === undefined || current.metadata.uid !== resource.metadata.uid) {
          for (const id of index.tasksOf(key)) {
            await this.cancelUnlessFinished(id);
            index.deleteTask(id);
          }
          return {};
        }
        return { requeueAfterMs: 0 };
      }
      this.recordEvents(written, old, status);
    }
    return this.after(resource, status);
  }

  private reportPending(
    resource: DelayedTask,
    old: DelayedTaskStatus,
    error: unknown,
  ): Promise<void> {
    return reportPending(this.writer, resource, old, "task", error, this.context.log);
  }

  /**
   * Before the finalizer is released: cancels the recorded task, any task this process enqueued
   * for the resource, and a task of a generation the status does not record yet (enqueued just
   * before a crash or a conflicting status write). The last one is found through its idempotency
   * key: an Enqueue with the key returns the existing task (created=false), or creates a
   * placeholder far in the future that is cancelled at once.
   */
  private async cancelEverything(
    key: string,
    resource: DelayedTask,
    old: DelayedTaskStatus,
  ): Promise<void> {
    const ids = new Set(this.context.index.tasksOf(key));
    if (old.taskId !== undefined) ids.add(old.taskId);
    const generation = resource.metadata.generation ?? 1;
    const recorded = old.taskId === undefined ? 0 : (old.observedGeneration ?? 0);
    const unrecorded: number[] = [];
    // Deletion bumps the generation: the last spec generation is generation - 1.
    for (let g = Math.max(recorded + 1, generation - 5); g < generation; g += 1) unrecorded.push(g);
    const topic = resource.spec.target.topic ?? this.context.httpTopic;
    for (const g of unrecorded) {
      const idempotencyKey = delayedTaskIdempotencyKey({ ...resource.metadata, generation: g });
      try {
        const response = await this.context.client.enqueue({
          topic,
          payload: Buffer.alloc(0),
          priority: 0,
          idempotencyKey,
          traceParent: "",
          due: { $case: "delay", value: { seconds: 300 * 86_400, nanos: 0 } },
        });
        if (response.task !== undefined) ids.add(response.task.id);
      } catch (error) {
        // A target the scheduler refuses (an invalid topic) never had a task: nothing to cancel,
        // and the deletion must not hang on it.
        if (grpcCode(error) === GrpcCode.INVALID_ARGUMENT) continue;
        // The key exists with another payload: the real task, named in the error.
        const existing = /already used by task (\S+) with/.exec((error as Error).message)?.[1];
        if (grpcCode(error) !== GrpcCode.ALREADY_EXISTS || existing === undefined) throw error;
        ids.add(existing);
      }
    }
    for (const id of ids) {
      await this.cancelUnlessFinished(id);
      this.context.index.deleteTask(id);
    }
  }

  /**
   * Tasks this process enqueued for earlier generations that the status never recorded (a
   * status write lost to a conflict, then an edit): cancelled before the new one is enqueued.
   */
  private async cancelOtherGenerations(
    key: string,
    generation: number,
    recorded: string | undefined,
  ): Promise<void> {
    for (const id of this.context.index.tasksOf(key)) {
      if (id === recorded) continue;
      let other: Task;
      try {
        other = await this.context.client.get(id);
      } catch (error) {
        if (isNotFound(error)) continue;
        throw error;
      }
      const otherGeneration = generationOfKey(other.idempotencyKey);
      if (otherGeneration === generation || isFinishedTask(other)) continue;
      if (other.state !== TaskState.TASK_STATE_CANCELLED) await this.cancelUnlessFinished(id);
    }
  }

  private async cancelUnlessFinished(taskId: string): Promise<void> {
    try {
      const response = await this.context.client.cancel(taskId);
      if (response.outcome === CancelTaskResponse_Outcome.OUTCOME_UNSPECIFIED)
        this.context.log("cancel answered without an outcome", { taskId }, "warn");
    } catch (error) {
      // Not found (past retention) or already finished (FAILED_PRECONDITION): nothing to cancel.
      if (isNotFound(error) || grpcCode(error) === GrpcCode.FAILED_PRECONDITION) return;
      throw error;
    }
  }

  private statusOf(resource: DelayedTask, task: Task, old: DelayedTaskStatus): DelayedTaskStatus {
    const generation = resource.metadata.generation ?? 1;
    const now = nowSeconds();
    const phase = phaseOf(task);
    // The current due time: the first attempt's, or the next attempt's while retrying (what
    // `kubectl get` and Argo CD's health show); after the end, the last attempt's.
    const scheduledTime = iso(task.dueTime) ?? old.scheduledTime;
    let conditions = validAndScheduled(
      old.conditions,
      generation,
      {
        status: "True",
        reason: "TaskCreated",
        message: `task ${task.id} on topic ${task.topic}`,
      },
      now,
    );
    const succeeded =
      phase === "Succeeded"
        ? {
            status: "True" as const,
            reason: "Succeeded",
            message: `succeeded after ${task.attempt} attempt(s)`,
          }
        : phase === "Failed"
          ? { status: "False" as const, reason: "Failed", message: task.lastError || "failed" }
          : phase === "Cancelled"
            ? { status: "False" as const, reason: "Cancelled", message: "the task was cancelled" }
            : {
                status: "Unknown" as const,
                reason: phase,
                message: `the task is ${phase.toLowerCase()}`,
              };
    conditions = setCondition(
      conditions,
      { type: CONDITION_SUCCEEDED, ...succeeded, observedGeneration: generation },
      now,
    );
    const status: DelayedTaskStatus = {
      observedGeneration: generation,
      phase,
      conditions,
      taskId: task.id,
      attempts: task.attempt,
    };
    if (scheduledTime !== undefined) status.scheduledTime = scheduledTime;
    if (task.lastError !== "") status.lastError = task.lastError.slice(0, 4096);
    const startTime =
      old.taskId === task.id && old.startTime !== undefined
        ? old.startTime
        : task.attempt > 0
          ? now
          : undefined;
    if (startTime !== undefined) status.startTime = startTime;
    const completion = FINISHED_PHASES.includes(phase)
      ? ((old.taskId === task.id ? old.completionTime : undefined) ?? iso(task.finishTime) ?? now)
      : undefined;
    if (completion !== undefined) status.completionTime = completion;
    return status;
  }

  private invalidStatus(
    resource: DelayedTask,
    old: DelayedTaskStatus,
    message: string,
  ): DelayedTaskStatus {
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
    conditions = setCondition(
      conditions,
      {
        type: CONDITION_SUCCEEDED,
        status: "Unknown",
        reason: REASON_INVALID_SPEC,
        message: "the spec is invalid",
        observedGeneration: generation,
      },
      now,
    );
    const status: DelayedTaskStatus = {
      observedGeneration: generation,
      phase: "Invalid",
      conditions,
    };
    if (old.taskId !== undefined) status.taskId = old.taskId;
    return status;
  }

  private recordEvents(
    resource: DelayedTask,
    old: DelayedTaskStatus,
    next: DelayedTaskStatus,
  ): void {
    const { recorder } = this.context;
    const subject = { ...resource, apiVersion: DDQ_API_VERSION, kind: DELAYED_TASK.kind };
    const valid = findCondition(next.conditions, CONDITION_VALID);
    const oldValid = findCondition(old.conditions, CONDITION_VALID);
    if (
      valid?.status === "False" &&
      (oldValid?.status !== "False" || oldValid.message !== valid.message)
    ) {
      recorder.record(subject, "Warning", REASON_INVALID_SPEC, valid.message);
      return;
    }
    if (next.taskId !== undefined && next.taskId !== old.taskId) {
      recorder.record(
        subject,
        "Normal",
        "Scheduled",
        `task ${next.taskId} due at ${next.scheduledTime ?? "?"}` +
          (old.taskId === undefined ? "" : ` (replaces ${old.taskId} of an earlier generation)`),
      );
    }
    const phase = next.phase;
    const newTask = next.taskId !== old.taskId;
    const before = newTask ? undefined : old.phase;
    if (
      BEFORE_FIRE.includes(before) &&
      !BEFORE_FIRE.includes(phase) &&
      phase !== "Cancelled" &&
      phase !== "Invalid"
    ) {
      recorder.record(subject, "Normal", "Fired", `task ${next.taskId ?? ""} fired`);
    }
    const oldAttempts = newTask ? 0 : (old.attempts ?? 0);
    const attempts = next.attempts ?? 0;
    const retried =
      (phase === "Retrying" && (before !== "Retrying" || attempts > oldAttempts)) ||
      (attempts > 1 && attempts > oldAttempts + (before === "Retrying" ? 1 : 0));
    if (retried) {
      recorder.record(
        subject,
        "Warning",
        "Retrying",
        `attempt ${phase === "Retrying" ? attempts : attempts - 1} failed: ${next.lastError ?? ""}`,
      );
    }
    if (phase !== before) {
      if (phase === "Succeeded")
        recorder.record(subject, "Normal", "Succeeded", `succeeded after ${attempts} attempt(s)`);
      else if (phase === "Failed")
        recorder.record(
          subject,
          "Warning",
          "Failed",
          `failed after ${attempts} attempt(s): ${next.lastError ?? ""}`,
        );
      else if (phase === "Cancelled")
        recorder.record(subject, "Normal", "Cancelled", `task ${next.taskId ?? ""} was cancelled`);
    }
  }

  /** When to look again: the TTL of a finished resource, or a periodic check of a running one. */
  private async after(resource: DelayedTask, status: DelayedTaskStatus): Promise<ReconcileResult> {
    const phase = status.phase ?? "Pending";
    if (phase === "Invalid") return { requeueAfterMs: this.context.resyncMs };
    if (!FINISHED_PHASES.includes(phase)) return { requeueAfterMs: this.context.resyncMs };
    const ttl = resource.spec.ttlSecondsAfterFinished;
    if (ttl === undefined) return {};
    const completedMs = Date.parse(status.completionTime ?? "");
    const dueMs = (Number.isNaN(completedMs) ? Date.now() : completedMs) + ttl * 1000;
    if (dueMs > Date.now()) return { requeueAfterMs: dueMs - Date.now() };
    try {
      await this.writer.delete(resource);
    } catch (error) {
      if (statusCode(error) !== 403) throw error;
      // Not allowed to delete (RBAC without `delete`): say so once per resync, do not spin.
      this.context.recorder.record(
        { ...resource, apiVersion: DDQ_API_VERSION, kind: DELAYED_TASK.kind },
        "Warning",
        "TTLDeleteForbidden",
        `ttlSecondsAfterFinished expired but the operator may not delete ${DELAYED_TASK.plural}: ${(error as Error).message.slice(0, 200)}`,
      );
      return { requeueAfterMs: this.context.resyncMs };
    }
    return {};
  }
}
