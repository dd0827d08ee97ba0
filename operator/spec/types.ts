/**
 * TypeScript types of the ddq.io/v1alpha1 custom resources, matching the CRD schemas in crds/
 * (test/operator/specTypes.test.ts checks that every field here is in the schema and the other
 * way round). Optional fields with a schema default are optional here too: objects read from the
 * API server have them, objects built in code may not, and the conversions apply the same
 * defaults (defaults.ts).
 */

export const DDQ_GROUP = "ddq.io";
export const DDQ_VERSION = "v1alpha1";
export const DDQ_API_VERSION = `${DDQ_GROUP}/${DDQ_VERSION}`;

/** Names of a custom resource, as in its CRD. */
export interface ResourceNames {
  kind: string;
  plural: string;
  singular: string;
  shortName: string;
}

export const DELAYED_TASK: ResourceNames = {
  kind: "DelayedTask",
  plural: "delayedtasks",
  singular: "delayedtask",
  shortName: "dt",
};

export const CRON_TASK: ResourceNames = {
  kind: "CronTask",
  plural: "crontasks",
  singular: "crontask",
  shortName: "ct",
};

/** Any JSON value (the free-form target.payload). */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * The metadata fields the conversions read. Timestamps are strings in objects read as JSON (the
 * custom objects API) and Dates in client-node's typed models: both are accepted.
 */
export interface ResourceMetadata {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

// ---- target, retry: shared by both resources ----

export interface SecretKeySelector {
  /** A Secret in the resource's namespace. */
  name: string;
  key: string;
}

export interface HttpHeaderSource {
  secretKeyRef: SecretKeySelector;
}

/** Exactly one of value and valueFrom. */
export interface HttpHeader {
  name: string;
  value?: string;
  valueFrom?: HttpHeaderSource;
}

export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface HttpTarget {
  /** Absolute http or https URL. */
  url: string;
  /** Default POST. */
  method?: HttpMethod;
  headers?: HttpHeader[];
  /** Not allowed with GET or HEAD. */
  body?: string;
  /** Default 30. */
  timeoutSeconds?: number;
}

/** Exactly one of topic and http; payload only with topic. */
export interface TaskTarget {
  topic?: string;
  payload?: JsonValue;
  http?: HttpTarget;
}

export type BackoffType = "Fixed" | "Exponential";

export interface BackoffSpec {
  /** Default Exponential. */
  type?: BackoffType;
  /** Duration (e.g. "1s"); default "1s". */
  initialDelay?: string;
  /** Duration; default "10m". Exponential only. */
  maxDelay?: string;
  /** 0..100, default 20. Exponential only. */
  jitterPercent?: number;
}

export interface RetrySpec {
  /** 1..1000, default 5. */
  maxAttempts?: number;
  backoff?: BackoffSpec;
}

/** The fields both resources have: what each task (or occurrence) is. */
export interface TaskTemplateSpec {
  target: TaskTarget;
  retry?: RetrySpec;
  /** 0..1000, default 0. */
  priority?: number;
  /** 1..43200, default 30. */
  leaseTimeoutSeconds?: number;
}

// ---- status building blocks ----

export type ConditionStatus = "True" | "False" | "Unknown";

/** The shape of metav1.Condition. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
  /** RFC 3339 date-time. */
  lastTransitionTime: string;
}

export const CONDITION_VALID = "Valid";
export const CONDITION_SCHEDULED = "Scheduled";
export const CONDITION_SUCCEEDED = "Succeeded";
/** Reason of Valid=False when the operator rejects a spec. */
export const REASON_INVALID_SPEC = "InvalidSpec";

// ---- DelayedTask ----

export interface DelayedTaskSpec extends TaskTemplateSpec {
  /** RFC 3339 date-time; exactly one of runAt and delay. */
  runAt?: string;
  /** Duration from metadata.creationTimestamp; exactly one of runAt and delay. */
  delay?: string;
  ttlSecondsAfterFinished?: number;
}

export const DELAYED_TASK_PHASES = [
  "Pending",
  "Scheduled",
  "Running",
  "Retrying",
  "Succeeded",
  "Failed",
  "Cancelled",
  "Invalid",
] as const;
export type DelayedTaskPhase = (typeof DELAYED_TASK_PHASES)[number];

export interface DelayedTaskStatus {
  observedGeneration?: number;
  phase?: DelayedTaskPhase;
  conditions?: Condition[];
  taskId?: string;
  /** RFC 3339 date-time. */
  scheduledTime?: string;
  attempts?: number;
  lastError?: string;
  startTime?: string;
  completionTime?: string;
}

export interface DelayedTask {
  apiVersion?: string;
  kind?: string;
  metadata: ResourceMetadata;
  spec: DelayedTaskSpec;
  status?: DelayedTaskStatus;
}

// ---- CronTask ----

export type DstGapPolicy = "Shift" | "Skip";
export type DstFoldPolicy = "First" | "Last";
export type CronConcurrencyPolicy = "Allow" | "Forbid" | "Replace";
export type CronCatchUp = "Skip" | "Latest" | "All";

export interface CronTaskSpec extends TaskTemplateSpec {
  schedule: string;
  additionalSchedules?: string[];
  /** IANA name, default "UTC". */
  timeZone?: string;
  /** Default Shift. */
  dstGapPolicy?: DstGapPolicy;
  /** Default First. */
  dstFoldPolicy?: DstFoldPolicy;
  /** Default false. */
  suspend?: boolean;
  /** RFC 3339 date-time, inclusive. */
  startAt?: string;
  /** RFC 3339 date-time, exclusive; after startAt. */
  endAt?: string;
  maxRuns?: number;
  /** Default Allow. */
  concurrencyPolicy?: CronConcurrencyPolicy;
  startingDeadlineSeconds?: number;
  /** Default Latest. */
  catchUp?: CronCatchUp;
  /** Default 10. */
  maxBurst?: number;
  /** Default 0. */
  jitterSeconds?: number;
  /** Default 3. */
  successfulHistoryLimit?: number;
  /** Default 1. */
  failedHistoryLimit?: number;
  /** Default 10. */
  missedHistoryLimit?: number;
}

export const CRON_TASK_PHASES = ["Pending", "Active", "Suspended", "Completed", "Invalid"] as const;
export type CronTaskPhase = (typeof CRON_TASK_PHASES)[number];

export interface CronActiveOccurrence {
  occurrenceId: string;
  scheduledTime?: string;
}

export const CRON_OUTCOMES = ["Succeeded", "Failed", "Cancelled", "Missed", "Skipped"] as const;
export type CronOutcome = (typeof CRON_OUTCOMES)[number];

export interface CronHistoryEntry {
  /** Unset for Missed and Skipped slots. */
  occurrenceId?: string;
  scheduledTime: string;
  outcome: CronOutcome;
  finishedTime?: string;
  message?: string;
}

export interface CronTaskStatus {
  observedGeneration?: number;
  phase?: CronTaskPhase;
  conditions?: Condition[];
  scheduleId?: string;
  lastScheduleTime?: string;
  nextScheduleTime?: string;
  lastSuccessfulTime?: string;
  active?: CronActiveOccurrence[];
  history?: CronHistoryEntry[];
  runs?: number;
  missed?: number;
  skipped?: number;
}

export interface CronTask {
  apiVersion?: string;
  kind?: string;
  metadata: ResourceMetadata;
  spec: CronTaskSpec;
  status?: CronTaskStatus;
}
