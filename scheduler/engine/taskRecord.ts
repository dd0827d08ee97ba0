import { decodeBackoff } from "./backoffCodec.js";
import { createdAtOfTaskId } from "./taskId.js";
import { TASK_STATES, type OwnerReference, type Task, type TaskState } from "./model.js";

/**
 * Field names of a task hash (short, to keep Redis memory per task low):
 * tp topic, pl payload, st state, due due time, pr priority (absent = 0), at attempt,
 * ma max attempts, bo backoff, lt lease timeout, ik idempotency key, ow owner JSON,
 * tc traceparent, lx lease expiry, tk lease token, lf token of the last applied
 * failure, cr cancel requested, le last error, rs result, fa finished. The creation time is
 * not stored: the id (a ULID) encodes it.
 */
export type TaskRecord = Map<string, Buffer>;

export function recordFromHgetall(raw: Record<string, Buffer>): TaskRecord {
  return new Map(Object.entries(raw));
}

function text(record: TaskRecord, field: string): string | undefined {
  return record.get(field)?.toString("utf8");
}

function num(record: TaskRecord, field: string): number | undefined {
  const value = text(record, field);
  return value === undefined ? undefined : Number(value);
}

function isTaskState(value: string | undefined): value is TaskState {
  return (TASK_STATES as readonly string[]).includes(value ?? "");
}

/** Decodes a task hash; undefined when the hash is empty (unknown or expired task). */
export function decodeTask(id: string, shard: number, record: TaskRecord): Task | undefined {
  const state = text(record, "st");
  if (!isTaskState(state)) return undefined;
  const owner = text(record, "ow");
  const task: Task = {
    id,
    shard,
    topic: text(record, "tp") ?? "",
    state,
    payload: record.get("pl") ?? Buffer.alloc(0),
    dueAtMs: num(record, "due") ?? 0,
    priority: num(record, "pr") ?? 0,
    attempt: num(record, "at") ?? 0,
    maxAttempts: num(record, "ma") ?? 1,
    backoff: decodeBackoff(text(record, "bo") ?? "f:0"),
    leaseTimeoutMs: num(record, "lt") ?? 0,
    createdAtMs: createdAtOfTaskId(id),
    cancelRequested: text(record, "cr") === "1",
  };
  const optional = {
    idempotencyKey: text(record, "ik"),
    traceParent: text(record, "tc"),
    leaseExpiresAtMs: num(record, "lx"),
    lastError: text(record, "le"),
    finishedAtMs: num(record, "fa"),
    result: record.get("rs"),
    owner: owner === undefined ? undefined : (JSON.parse(owner) as OwnerReference),
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) Object.assign(task, { [key]: value });
  }
  return task;
}
