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

/** The stored state of a task hash ("waiting" covers scheduled and ready). */
export function storedState(record: TaskRecord): string | undefined {
  return text(record, "st");
}

/**
 * Decodes a task hash; undefined when the hash is empty (unknown or expired task). A waiting
 * task is "ready" or "scheduled" by the index that holds it: `inReadyQueue` says which.
 */
export function decodeTask(
  id: string,
  shard: number,
  record: TaskRecord,
  inReadyQueue: boolean,
): Task | undefined {
  const stored = text(record, "st");
  const state = stored === "waiting" ? (inReadyQueue ? "ready" : "scheduled") : stored;
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
    // A finished task may keep a stale lease expiry field; it only means something while leased.
    leaseExpiresAtMs: state === "leased" ? num(record, "lx") : undefined,
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

/** Number of newline-terminated fields before the payload in a pending record. */
const PENDING_FIELDS = 9;

/**
 * Decodes a never-leased task's packed record (one field of the shard's pending hash; format in
 * scripts/includes/common.lua): "<topic>\n<due>\n<priority>\n<max attempts>\n<backoff>\n
 * <lease timeout>\n<idempotency key>\n<owner JSON>\n<traceparent>\n<payload>".
 */
export function decodePendingTask(
  id: string,
  shard: number,
  packed: Buffer,
  inReadyQueue: boolean,
): Task | undefined {
  const fields: string[] = [];
  let position = 0;
  for (let i = 0; i < PENDING_FIELDS; i += 1) {
    const newline = packed.indexOf(0x0a, position);
    if (newline < 0) return undefined;
    fields.push(packed.subarray(position, newline).toString("utf8"));
    position = newline + 1;
  }
  const [
    topic = "",
    due = "0",
    priority = "0",
    maxAttempts = "1",
    backoff = "f:0",
    leaseTimeout = "0",
    ik = "",
    ow = "",
    tc = "",
  ] = fields;
  const task: Task = {
    id,
    shard,
    topic,
    state: inReadyQueue ? "ready" : "scheduled",
    payload: packed.subarray(position),
    dueAtMs: Number(due),
    priority: Number(priority),
    attempt: 0,
    maxAttempts: Number(maxAttempts),
    backoff: decodeBackoff(backoff),
    leaseTimeoutMs: Number(leaseTimeout),
    createdAtMs: createdAtOfTaskId(id),
    cancelRequested: false,
  };
  if (ik !== "") task.idempotencyKey = ik;
  if (ow !== "") task.owner = JSON.parse(ow) as OwnerReference;
  if (tc !== "") task.traceParent = tc;
  return task;
}

/** The topic of a pending record (its first line), without decoding the rest. */
export function topicOfPendingRecord(packed: Buffer): string | undefined {
  const newline = packed.indexOf(0x0a);
  return newline < 0 ? undefined : packed.subarray(0, newline).toString("utf8");
}
