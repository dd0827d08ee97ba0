import { createHash } from "node:crypto";
import { invalidArgument } from "./errors.js";
import {
  MAX_PRIORITY,
  type BackoffPolicy,
  type EngineDefaults,
  type EngineLimits,
  type OwnerReference,
  type TaskSpec,
} from "./model.js";
import { encodeBackoff } from "./backoffCodec.js";

/** A task spec checked against the limits, with defaults applied, ready for enqueue.lua. */
export interface PreparedTask {
  topic: string;
  payload: Buffer;
  dueKind: "at" | "in";
  dueValueMs: number;
  priority: number;
  maxAttempts: number;
  backoff: string;
  leaseTimeoutMs: number;
  idempotencyKey: string;
  /** sha256 of topic and payload: a reused idempotency key must carry the same. */
  fingerprint: string;
  owner: string;
  traceParent: string;
}

const TOPIC = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const PRINTABLE = /^[\x21-\x7e]+$/;

function integerIn(field: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value))
    throw invalidArgument(field, `must be an integer, got ${value}`);
  if (value < min || value > max)
    throw invalidArgument(field, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

export function validateTopic(field: string, topic: string, limits: EngineLimits): string {
  if (topic.length === 0) throw invalidArgument(field, "must not be empty");
  if (topic.length > limits.maxTopicLength) {
    throw invalidArgument(
      field,
      `must be at most ${limits.maxTopicLength} characters, got ${topic.length}`,
    );
  }
  if (!TOPIC.test(topic)) {
    throw invalidArgument(
      field,
      "may contain only letters, digits, '.', '_' and '-', and must start with a letter or digit",
    );
  }
  return topic;
}

function validateBackoff(
  field: string,
  backoff: BackoffPolicy,
  limits: EngineLimits,
): BackoffPolicy {
  if (backoff.kind === "fixed") {
    integerIn(`${field}.delayMs`, backoff.delayMs, 0, limits.maxHorizonMs);
    return backoff;
  }
  integerIn(`${field}.initialMs`, backoff.initialMs, 1, limits.maxHorizonMs);
  integerIn(`${field}.maxMs`, backoff.maxMs, backoff.initialMs, limits.maxHorizonMs);
  if (!(backoff.jitter >= 0 && backoff.jitter <= 1)) {
    throw invalidArgument(`${field}.jitter`, `must be between 0 and 1, got ${backoff.jitter}`);
  }
  return backoff;
}

function validateOwner(field: string, owner: OwnerReference): string {
  for (const key of ["kind", "namespace", "name", "uid"] as const) {
    const value = owner[key];
    if (value.length === 0 || value.length > 253) {
      throw invalidArgument(`${field}.${key}`, "must be 1 to 253 characters");
    }
  }
  return JSON.stringify({
    kind: owner.kind,
    namespace: owner.namespace,
    name: owner.name,
    uid: owner.uid,
  });
}

/**
 * Checks one task spec against the limits and applies defaults. `at` prefixes field names in
 * errors (for a batch: "tasks[3]."). The horizon of an absolute due time is checked again in
 * Redis against the server clock; here only what needs no clock.
 */
export function prepareTask(
  spec: TaskSpec,
  limits: EngineLimits,
  defaults: EngineDefaults,
  at = "",
): PreparedTask {
  const topic = validateTopic(`${at}topic`, spec.topic, limits);
  const payload = Buffer.from(spec.payload ?? new Uint8Array());
  if (payload.length > limits.maxPayloadBytes) {
    throw invalidArgument(
      `${at}payload`,
      `is ${payload.length} bytes, more than the limit of ${limits.maxPayloadBytes}`,
    );
  }
  let dueKind: "at" | "in" = "in";
  let dueValueMs = 0;
  if (spec.due !== undefined && "atMs" in spec.due) {
    dueKind = "at";
    dueValueMs = integerIn(`${at}due.atMs`, spec.due.atMs, 0, Number.MAX_SAFE_INTEGER);
  } else if (spec.due !== undefined) {
    if (spec.due.delayMs < 0)
      throw invalidArgument(`${at}due.delayMs`, `must not be negative, got ${spec.due.delayMs}`);
    dueValueMs = integerIn(`${at}due.delayMs`, spec.due.delayMs, 0, limits.maxHorizonMs);
  }
  const priority = integerIn(`${at}priority`, spec.priority ?? 0, 0, MAX_PRIORITY);
  const maxAttempts = integerIn(
    `${at}maxAttempts`,
    spec.maxAttempts ?? defaults.maxAttempts,
    1,
    limits.maxAttempts,
  );
  const backoff = encodeBackoff(
    validateBackoff(`${at}backoff`, spec.backoff ?? defaults.backoff, limits),
  );
  const leaseTimeoutMs = integerIn(
    `${at}leaseTimeoutMs`,
    spec.leaseTimeoutMs ?? defaults.leaseTimeoutMs,
    100,
    limits.maxLeaseTimeoutMs,
  );
  const idempotencyKey = spec.idempotencyKey ?? "";
  if (spec.idempotencyKey !== undefined) {
    if (idempotencyKey.length === 0 || idempotencyKey.length > limits.maxIdempotencyKeyLength) {
      throw invalidArgument(
        `${at}idempotencyKey`,
        `must be 1 to ${limits.maxIdempotencyKeyLength} characters`,
      );
    }
    if (!PRINTABLE.test(idempotencyKey)) {
      throw invalidArgument(
        `${at}idempotencyKey`,
        "may contain only printable ASCII characters without spaces",
      );
    }
  }
  const traceParent = spec.traceParent ?? "";
  if (traceParent !== "" && !TRACEPARENT.test(traceParent)) {
    throw invalidArgument(
      `${at}traceParent`,
      "must be a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)",
    );
  }
  // Only a task with an idempotency key needs its fingerprint (a reused key must match it).
  const fingerprint =
    idempotencyKey === ""
      ? ""
      : createHash("sha256").update(topic).update("\0").update(payload).digest("hex");
  return {
    topic,
    payload,
    dueKind,
    dueValueMs,
    priority,
    maxAttempts,
    backoff,
    leaseTimeoutMs,
    idempotencyKey,
    fingerprint,
    owner: spec.owner === undefined ? "" : validateOwner(`${at}owner`, spec.owner),
    traceParent,
  };
}
