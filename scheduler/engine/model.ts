/**
 * The task model. A task's lifecycle has few, explicit states (see docs/TASK_LIFECYCLE.md):
 *
 *   scheduled -> ready -> leased -> succeeded
 *                  ^        |-----> scheduled (failed, retry with backoff)
 *                  |        |-----> dead      (failed, attempts exhausted or not retryable)
 *                  |        '-----> ready     (lease expired: redelivered)
 *   scheduled | ready | leased(cancel requested) -> cancelled
 */
export const TASK_STATES = [
  "scheduled",
  "ready",
  "leased",
  "succeeded",
  "dead",
  "cancelled",
] as const;
export type TaskState = (typeof TASK_STATES)[number];

export type BackoffPolicy =
  | { kind: "fixed"; delayMs: number }
  | {
      kind: "exponential";
      /** Delay after the first failure. */
      initialMs: number;
      /** Upper bound of any delay. */
      maxMs: number;
      /** 0..1: the delay is drawn uniformly from [d * (1 - jitter), d]. */
      jitter: number;
    };

/** The resource (for example a DelayedTask) that created a task. */
export interface OwnerReference {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

/** When a task becomes due: an absolute instant or a delay from now (Redis server time). */
export type DueTime = { atMs: number } | { delayMs: number };

/** What a producer asks for. Only `topic` is required. */
export interface TaskSpec {
  topic: string;
  payload?: Uint8Array;
  /** Default: due now. */
  due?: DueTime;
  /** 0..1000, higher leases first among tasks due at once. Default 0. */
  priority?: number;
  /** Deliveries before the task is dead-lettered. Default from EngineLimits.defaults. */
  maxAttempts?: number;
  backoff?: BackoffPolicy;
  /** Visibility timeout of a lease. Default from EngineLimits.defaults. */
  leaseTimeoutMs?: number;
  /** A repeated enqueue with this key within its retention returns the first task. */
  idempotencyKey?: string;
  owner?: OwnerReference;
  /** W3C traceparent of the producer's span. */
  traceParent?: string;
}

export interface Task {
  id: string;
  shard: number;
  topic: string;
  state: TaskState;
  payload: Uint8Array;
  dueAtMs: number;
  priority: number;
  /** Deliveries so far (a lease counts as one). */
  attempt: number;
  maxAttempts: number;
  backoff: BackoffPolicy;
  leaseTimeoutMs: number;
  idempotencyKey?: string;
  owner?: OwnerReference;
  traceParent?: string;
  createdAtMs: number;
  leaseExpiresAtMs?: number;
  cancelRequested: boolean;
  lastError?: string;
  result?: Uint8Array;
  finishedAtMs?: number;
}

export interface EnqueueResult {
  task: Pick<Task, "id" | "shard" | "topic" | "state" | "dueAtMs">;
  /** False when an idempotency key (or a resend) matched an existing task. */
  created: boolean;
}

/** A task handed to a worker under a lease. */
export interface LeasedTask {
  id: string;
  topic: string;
  payload: Uint8Array;
  attempt: number;
  maxAttempts: number;
  /** Required by extend, ack and fail: proves the caller holds the current lease. */
  leaseToken: string;
  leaseExpiresAtMs: number;
  traceParent?: string;
  owner?: OwnerReference;
}

/** Explicit limits; every one is checked with a clear error. */
export interface EngineLimits {
  maxPayloadBytes: number;
  /** A task may not be due later than now + this. */
  maxHorizonMs: number;
  maxBatchSize: number;
  maxTopicLength: number;
  /** Topics one lease may name (its cost grows with them, empty or not). */
  maxLeaseTopics: number;
  maxIdempotencyKeyLength: number;
  maxAttempts: number;
  maxLeaseTimeoutMs: number;
  maxErrorBytes: number;
  maxResultBytes: number;
}

export interface EngineDefaults {
  maxAttempts: number;
  backoff: BackoffPolicy;
  leaseTimeoutMs: number;
  /** How long an idempotency key keeps returning its task. */
  idempotencyRetentionMs: number;
  /** How long succeeded and cancelled tasks stay readable. */
  finishedRetentionMs: number;
}

export const DEFAULT_LIMITS: EngineLimits = {
  maxPayloadBytes: 1024 * 1024,
  maxHorizonMs: 2 * 366 * 24 * 3600 * 1000,
  maxBatchSize: 10_000,
  maxTopicLength: 128,
  maxLeaseTopics: 256,
  maxIdempotencyKeyLength: 256,
  maxAttempts: 1000,
  maxLeaseTimeoutMs: 12 * 3600 * 1000,
  maxErrorBytes: 8 * 1024,
  maxResultBytes: 64 * 1024,
};

export const DEFAULT_DEFAULTS: EngineDefaults = {
  maxAttempts: 5,
  backoff: { kind: "exponential", initialMs: 1000, maxMs: 10 * 60 * 1000, jitter: 0.2 },
  leaseTimeoutMs: 30_000,
  idempotencyRetentionMs: 24 * 3600 * 1000,
  finishedRetentionMs: 24 * 3600 * 1000,
};

export const MAX_PRIORITY = 1000;
