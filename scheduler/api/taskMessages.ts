/**
 * Task messages of the gRPC API (proto/ddq/v1/task.proto) to and from the engine's model
 * (scheduler/engine/model.ts). Only shape changes here; the engine validates the values.
 */
import {
  TaskState as PbTaskState,
  type Backoff as PbBackoff,
  type LeasedTask as PbLeasedTask,
  type OwnerReference as PbOwnerReference,
  type Task as PbTask,
  type TaskSpec as PbTaskSpec,
} from "../../proto/gen/ddq/v1/task.js";
import { invalidArgument } from "../engine/errors.js";
import type {
  BackoffPolicy,
  LeasedTask,
  OwnerReference,
  Task,
  TaskSpec,
  TaskState,
} from "../engine/model.js";
import { durationMs, timestampMs, toDuration, toTimestamp } from "./protoTime.js";

const STATE_TO_PB: Record<TaskState, PbTaskState> = {
  scheduled: PbTaskState.TASK_STATE_SCHEDULED,
  ready: PbTaskState.TASK_STATE_READY,
  leased: PbTaskState.TASK_STATE_LEASED,
  succeeded: PbTaskState.TASK_STATE_SUCCEEDED,
  dead: PbTaskState.TASK_STATE_DEAD,
  cancelled: PbTaskState.TASK_STATE_CANCELLED,
};

export function stateToPb(state: TaskState): PbTaskState {
  return STATE_TO_PB[state];
}

/** The engine state of a request's enum value; UNSPECIFIED and unknown numbers are rejected. */
export function stateFromPb(state: PbTaskState, field: string): TaskState {
  for (const [name, value] of Object.entries(STATE_TO_PB)) {
    if (value === state) return name as TaskState;
  }
  throw invalidArgument(
    field,
    `must be one of TASK_STATE_SCHEDULED, TASK_STATE_READY, TASK_STATE_LEASED, TASK_STATE_SUCCEEDED, TASK_STATE_DEAD, TASK_STATE_CANCELLED (got ${state})`,
  );
}

function backoffFromPb(backoff: PbBackoff | undefined, field: string): BackoffPolicy | undefined {
  if (backoff === undefined) return undefined;
  const policy = backoff.policy;
  // A Backoff message that is present but empty: the oneof requires exactly one policy.
  if (policy === undefined)
    throw invalidArgument(field, "must set exactly one of fixed or exponential");
  if (policy.$case === "fixed") {
    return {
      kind: "fixed",
      delayMs: durationMs(policy.value.delay, `${field}.fixed.delay`) ?? 0,
    };
  }
  return {
    kind: "exponential",
    initialMs: durationMs(policy.value.initial, `${field}.exponential.initial`) ?? 0,
    maxMs: durationMs(policy.value.max, `${field}.exponential.max`) ?? 0,
    jitter: policy.value.jitter,
  };
}

function backoffToPb(backoff: BackoffPolicy): PbBackoff {
  if (backoff.kind === "fixed") {
    return { policy: { $case: "fixed", value: { delay: toDuration(backoff.delayMs) } } };
  }
  return {
    policy: {
      $case: "exponential",
      value: {
        initial: toDuration(backoff.initialMs),
        max: toDuration(backoff.maxMs),
        jitter: backoff.jitter,
      },
    },
  };
}

function ownerFromPb(owner: PbOwnerReference | undefined): OwnerReference | undefined {
  return owner === undefined ? undefined : { ...owner };
}

/**
 * The engine spec of a request's TaskSpec. Empty strings mean unset (proto3), so an idempotency
 * key or trace parent of "" is simply absent.
 */
export function taskSpecFromPb(spec: PbTaskSpec | undefined, at: string): TaskSpec {
  if (spec === undefined) throw invalidArgument(at.replace(/\.$/, ""), "is required");
  const out: TaskSpec = { topic: spec.topic, payload: spec.payload, priority: spec.priority };
  const due = spec.due;
  if (due?.$case === "dueTime") {
    out.due = { atMs: timestampMs(due.value, `${at}due_time`) ?? 0 };
  } else if (due?.$case === "delay") {
    out.due = { delayMs: durationMs(due.value, `${at}delay`) ?? 0 };
  }
  if (spec.maxAttempts !== undefined) out.maxAttempts = spec.maxAttempts;
  const backoff = backoffFromPb(spec.backoff, `${at}backoff`);
  if (backoff !== undefined) out.backoff = backoff;
  const leaseTimeoutMs = durationMs(spec.leaseTimeout, `${at}lease_timeout`);
  if (leaseTimeoutMs !== undefined) out.leaseTimeoutMs = leaseTimeoutMs;
  if (spec.idempotencyKey !== "") out.idempotencyKey = spec.idempotencyKey;
  const owner = ownerFromPb(spec.owner);
  if (owner !== undefined) out.owner = owner;
  if (spec.traceParent !== "") out.traceParent = spec.traceParent;
  return out;
}

/** The inverse of taskSpecFromPb (used by clients and by cron task templates). */
export function taskSpecToPb(spec: TaskSpec): PbTaskSpec {
  const out: PbTaskSpec = {
    topic: spec.topic,
    payload: Buffer.from(spec.payload ?? new Uint8Array()),
    priority: spec.priority ?? 0,
    idempotencyKey: spec.idempotencyKey ?? "",
    traceParent: spec.traceParent ?? "",
  };
  if (spec.due !== undefined) {
    out.due =
      "atMs" in spec.due
        ? { $case: "dueTime", value: new Date(spec.due.atMs) }
        : { $case: "delay", value: toDuration(spec.due.delayMs) };
  }
  if (spec.maxAttempts !== undefined) out.maxAttempts = spec.maxAttempts;
  if (spec.backoff !== undefined) out.backoff = backoffToPb(spec.backoff);
  if (spec.leaseTimeoutMs !== undefined) out.leaseTimeout = toDuration(spec.leaseTimeoutMs);
  if (spec.owner !== undefined) out.owner = { ...spec.owner };
  return out;
}

export function taskToPb(task: Task): PbTask {
  const out: PbTask = {
    id: task.id,
    shard: task.shard,
    topic: task.topic,
    state: stateToPb(task.state),
    payload: Buffer.from(task.payload),
    priority: task.priority,
    attempt: task.attempt,
    maxAttempts: task.maxAttempts,
    backoff: backoffToPb(task.backoff),
    leaseTimeout: toDuration(task.leaseTimeoutMs),
    idempotencyKey: task.idempotencyKey ?? "",
    traceParent: task.traceParent ?? "",
    cancelRequested: task.cancelRequested,
    lastError: task.lastError ?? "",
    result: Buffer.from(task.result ?? new Uint8Array()),
  };
  const due = toTimestamp(task.dueAtMs);
  if (due !== undefined) out.dueTime = due;
  const created = toTimestamp(task.createdAtMs);
  if (created !== undefined) out.createTime = created;
  const leaseExpires = toTimestamp(task.leaseExpiresAtMs);
  if (leaseExpires !== undefined) out.leaseExpireTime = leaseExpires;
  const finished = toTimestamp(task.finishedAtMs);
  if (finished !== undefined) out.finishTime = finished;
  if (task.owner !== undefined) out.owner = { ...task.owner };
  return out;
}

/** A partial task (what Enqueue answers) as a Task message: unknown fields stay at defaults. */
export function taskSummaryToPb(
  task: Pick<Task, "id" | "shard" | "topic" | "state" | "dueAtMs">,
): PbTask {
  return {
    id: task.id,
    shard: task.shard,
    topic: task.topic,
    state: stateToPb(task.state),
    payload: Buffer.alloc(0),
    dueTime: new Date(task.dueAtMs),
    priority: 0,
    attempt: 0,
    maxAttempts: 0,
    idempotencyKey: "",
    traceParent: "",
    cancelRequested: false,
    lastError: "",
    result: Buffer.alloc(0),
  };
}

export function leasedTaskToPb(task: LeasedTask): PbLeasedTask {
  const out: PbLeasedTask = {
    id: task.id,
    topic: task.topic,
    payload: Buffer.from(task.payload),
    attempt: task.attempt,
    maxAttempts: task.maxAttempts,
    leaseToken: task.leaseToken,
    leaseExpireTime: new Date(task.leaseExpiresAtMs),
    traceParent: task.traceParent ?? "",
  };
  if (task.owner !== undefined) out.owner = { ...task.owner };
  return out;
}

export function leasedTaskFromPb(task: PbLeasedTask): LeasedTask {
  const out: LeasedTask = {
    id: task.id,
    topic: task.topic,
    payload: task.payload,
    attempt: task.attempt,
    maxAttempts: task.maxAttempts,
    leaseToken: task.leaseToken,
    leaseExpiresAtMs: task.leaseExpireTime?.getTime() ?? 0,
  };
  if (task.traceParent !== "") out.traceParent = task.traceParent;
  const owner = ownerFromPb(task.owner);
  if (owner !== undefined) out.owner = owner;
  return out;
}
