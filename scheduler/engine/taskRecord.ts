import { decodeBackoff } from "./backoffCodec.js";
import { createdAtOfTaskId } from "./taskId.js";
import { TASK_STATES, type OwnerReference, type Task, type TaskState } from "./model.js";

/**
 * A task hash (see scripts/includes/common.lua, "Where a task's record lives"): r the packed
 * record (below), tp topic, and the fields that change: st state, at attempt, tk lease token,
 * lx lease expiry, lf token of the last applied failure, cr cancel requested, le last error,
 * rs result, fa finished, due the due time once a retry or requeue changed it (otherwise the
 * record's). Short names keep Redis memory per task low. The creation time is not stored: the
 * id (a ULID) encodes it.
 */
export type TaskRecord = Map<string, Buffer>;

/** Number of newline-terminated fields before the payload in a packed record. */
const RECORD_FIELDS = 9;

/** A task's packed record: what the task is, written at enqueue and never changed. */
export interface PackedRecord {
  topic: string;
  dueAtMs: string;
  priority: string;
  maxAttempts: string;
  backoff: string;
  leaseTimeoutMs: string;
  idempotencyKey: string;
  owner: string;
  traceParent: string;
  payload: Buffer;
}

/**
 * Decodes a packed record (a field of the pending hash, or field r of a task hash; format in
 * scripts/includes/common.lua): "<topic>\n<due>\n<priority>\n<max attempts>\n<backoff>\n
 * <lease timeout>\n<idempotency key>\n<owner JSON>\n<traceparent>\n<payload>". The payload is
 * a view of `packed`, not a copy.
 */
export function parseRecord(bytes: Uint8Array): PackedRecord | undefined {
  const packed = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: string[] = [];
  let position = 0;
  for (let i = 0; i < RECORD_FIELDS; i += 1) {
    const newline = packed.indexOf(0x0a, position);
    if (newline < 0) return undefined;
    fields.push(packed.toString("utf8", position, newline));
    position = newline + 1;
  }
  const [
    topic = "",
    dueAtMs = "0",
    priority = "0",
    maxAttempts = "1",
    backoff = "f:0",
    leaseTimeoutMs = "0",
    idempotencyKey = "",
    owner = "",
    traceParent = "",
  ] = fields;
  return {
    topic,
    dueAtMs,
    priority,
    maxAttempts,
    backoff,
    leaseTimeoutMs,
    idempotencyKey,
    owner,
    traceParent,
    payload: packed.subarray(position),
  };
}

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
  const packed = record.get("r");
  const r = packed === undefined ? undefined : parseRecord(packed);
  if (r === undefined) return undefined;
  const task: Task = {
    id,
    shard,
    topic: text(record, "tp") ?? r.topic,
    state,
    payload: r.payload,
    dueAtMs: num(record, "due") ?? Number(r.dueAtMs),
    priority: Number(r.priority),
    attempt: num(record, "at") ?? 0,
    maxAttempts: Number(r.maxAttempts),
    backoff: decodeBackoff(r.backoff),
    leaseTimeoutMs: Number(r.leaseTimeoutMs),
    createdAtMs: createdAtOfTaskId(id),
    cancelRequested: text(record, "cr") === "1",
  };
  const optional = {
    idempotencyKey: r.idempotencyKey === "" ? undefined : r.idempotencyKey,
    traceParent: r.traceParent === "" ? undefined : r.traceParent,
    // A finished task may keep a stale lease expiry field; it only means something while leased.
    leaseExpiresAtMs: state === "leased" ? num(record, "lx") : undefined,
    lastError: text(record, "le"),
    finishedAtMs: num(record, "fa"),
    result: record.get("rs"),
    owner: r.owner === "" ? undefined : (JSON.parse(r.owner) as OwnerReference),
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) Object.assign(task, { [key]: value });
  }
  return task;
}

/** Decodes a never-leased task's packed record (one field of the shard's pending hash). */
export function decodePendingTask(
  id: string,
  shard: number,
  packed: Buffer,
  inReadyQueue: boolean,
): Task | undefined {
  const r = parseRecord(packed);
  if (r === undefined) return undefined;
  const task: Task = {
    id,
    shard,
    topic: r.topic,
    state: inReadyQueue ? "ready" : "scheduled",
    payload: r.payload,
    dueAtMs: Number(r.dueAtMs),
    priority: Number(r.priority),
    attempt: 0,
    maxAttempts: Number(r.maxAttempts),
    backoff: decodeBackoff(r.backoff),
    leaseTimeoutMs: Number(r.leaseTimeoutMs),
    createdAtMs: createdAtOfTaskId(id),
    cancelRequested: false,
  };
  if (r.idempotencyKey !== "") task.idempotencyKey = r.idempotencyKey;
  if (r.owner !== "") task.owner = JSON.parse(r.owner) as OwnerReference;
  if (r.traceParent !== "") task.traceParent = r.traceParent;
  return task;
}

/** The topic of a pending record (its first line), without decoding the rest. */
export function topicOfPendingRecord(packed: Buffer): string | undefined {
  const newline = packed.indexOf(0x0a);
  return newline < 0 ? undefined : packed.subarray(0, newline).toString("utf8");
}
