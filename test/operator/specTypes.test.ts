/**
 * The TypeScript types of operator/spec/types.ts against the CRD schemas: the same fields (the
 * key lists are checked to be exhaustive by the compiler, their content against the schema here),
 * the same required fields, the same enums, and the same defaults.
 */
import { describe, expect, it } from "vitest";
import type { V1JSONSchemaProps } from "@kubernetes/client-node";
import { SPEC_DEFAULTS } from "../../operator/spec/defaults.js";
import {
  CRON_OUTCOMES,
  CRON_TASK_PHASES,
  DELAYED_TASK_PHASES,
  HTTP_METHODS,
  type BackoffSpec,
  type BackoffType,
  type Condition,
  type ConditionStatus,
  type CronActiveOccurrence,
  type CronCatchUp,
  type CronConcurrencyPolicy,
  type CronHistoryEntry,
  type CronTask,
  type CronTaskSpec,
  type CronTaskStatus,
  type DelayedTask,
  type DelayedTaskSpec,
  type DelayedTaskStatus,
  type DstFoldPolicy,
  type DstGapPolicy,
  type HttpHeader,
  type HttpHeaderSource,
  type HttpTarget,
  type RetrySpec,
  type SecretKeySelector,
  type TaskTarget,
} from "../../operator/spec/types.js";
import { loadDdqCrds, rootSchema, schemaAt } from "../../tools/crdFiles.js";

/** The keys of T that are not optional. */
type RequiredKeys<T> = {
  [K in keyof T]-?: object extends Pick<T, K> ? never : K;
}[keyof T];

type Missing<All, Listed> = [Exclude<All, Listed>] extends [never] ? unknown : never;

/** All keys of T, each once: a missing key is a compile error. */
function keysOf<T>() {
  return <const K extends readonly (keyof T & string)[]>(
    keys: K & Missing<keyof T, K[number]>,
  ): readonly string[] => keys;
}

/** The required keys of T: a missing or an optional one is a compile error. */
function requiredOf<T>() {
  return <const K extends readonly RequiredKeys<T>[]>(
    keys: K & Missing<RequiredKeys<T>, K[number]>,
  ): readonly string[] => keys as readonly string[];
}

/** Every member of a string union: a missing one is a compile error. */
function allOf<U extends string>() {
  return <const V extends readonly U[]>(values: V & Missing<U, V[number]>): readonly string[] =>
    values;
}

const [delayedCrd, cronCrd] = loadDdqCrds();
if (delayedCrd === undefined || cronCrd === undefined) throw new Error("CRDs missing");
const delayedRoot = rootSchema(delayedCrd);
const cronRoot = rootSchema(cronCrd);

function at(root: V1JSONSchemaProps, path: string): V1JSONSchemaProps {
  const schema = path === "" ? root : schemaAt(root, path);
  if (schema === undefined) throw new Error(`no schema at ${path}`);
  return schema;
}

const sharedShapes: [string, readonly string[], readonly string[]][] = [
  ["spec.target", keysOf<TaskTarget>()(["topic", "payload", "http"]), requiredOf<TaskTarget>()([])],
  [
    "spec.target.http",
    keysOf<HttpTarget>()(["url", "method", "headers", "body", "timeoutSeconds"]),
    requiredOf<HttpTarget>()(["url"]),
  ],
  [
    "spec.target.http.headers[]",
    keysOf<HttpHeader>()(["name", "value", "valueFrom"]),
    requiredOf<HttpHeader>()(["name"]),
  ],
  [
    "spec.target.http.headers[].valueFrom",
    keysOf<HttpHeaderSource>()(["secretKeyRef"]),
    requiredOf<HttpHeaderSource>()(["secretKeyRef"]),
  ],
  [
    "spec.target.http.headers[].valueFrom.secretKeyRef",
    keysOf<SecretKeySelector>()(["name", "key"]),
    requiredOf<SecretKeySelector>()(["name", "key"]),
  ],
  ["spec.retry", keysOf<RetrySpec>()(["maxAttempts", "backoff"]), requiredOf<RetrySpec>()([])],
  [
    "spec.retry.backoff",
    keysOf<BackoffSpec>()(["type", "initialDelay", "maxDelay", "jitterPercent"]),
    requiredOf<BackoffSpec>()([]),
  ],
  [
    "status.conditions[]",
    keysOf<Condition>()([
      "type",
      "status",
      "reason",
      "message",
      "observedGeneration",
      "lastTransitionTime",
    ]),
    requiredOf<Condition>()(["type", "status", "reason", "message", "lastTransitionTime"]),
  ],
];

const delayedShapes: [string, readonly string[], readonly string[]][] = [
  [
    "",
    keysOf<DelayedTask>()(["apiVersion", "kind", "metadata", "spec", "status"]),
    requiredOf<DelayedTask>()(["metadata", "spec"]).filter((key) => key !== "metadata"),
  ],
  [
    "spec",
    keysOf<DelayedTaskSpec>()([
      "runAt",
      "delay",
      "target",
      "retry",
      "priority",
      "leaseTimeoutSeconds",
      "ttlSecondsAfterFinished",
    ]),
    requiredOf<DelayedTaskSpec>()(["target"]),
  ],
  [
    "status",
    keysOf<DelayedTaskStatus>()([
      "observedGeneration",
      "phase",
      "conditions",
      "taskId",
      "scheduledTime",
      "attempts",
      "lastError",
      "startTime",
      "completionTime",
    ]),
    requiredOf<DelayedTaskStatus>()([]),
  ],
  ...sharedShapes,
];

const cronShapes: [string, readonly string[], readonly string[]][] = [
  [
    "",
    keysOf<CronTask>()(["apiVersion", "kind", "metadata", "spec", "status"]),
    requiredOf<CronTask>()(["metadata", "spec"]).filter((key) => key !== "metadata"),
  ],
  [
    "spec",
    keysOf<CronTaskSpec>()([
      "schedule",
      "additionalSchedules",
      "timeZone",
      "dstGapPolicy",
      "dstFoldPolicy",
      "suspend",
      "startAt",
      "endAt",
      "maxRuns",
      "concurrencyPolicy",
      "startingDeadlineSeconds",
      "catchUp",
      "maxBurst",
      "jitterSeconds",
      "successfulHistoryLimit",
      "failedHistoryLimit",
      "missedHistoryLimit",
      "target",
      "retry",
      "priority",
      "leaseTimeoutSeconds",
    ]),
    requiredOf<CronTaskSpec>()(["schedule", "target"]),
  ],
  [
    "status",
    keysOf<CronTaskStatus>()([
      "observedGeneration",
      "phase",
      "conditions",
      "scheduleId",
      "lastScheduleTime",
      "nextScheduleTime",
      "lastSuccessfulTime",
      "active",
      "history",
      "runs",
      "missed",
      "skipped",
    ]),
    requiredOf<CronTaskStatus>()([]),
  ],
  [
    "status.active[]",
    keysOf<CronActiveOccurrence>()(["occurrenceId", "scheduledTime"]),
    requiredOf<CronActiveOccurrence>()(["occurrenceId"]),
  ],
  [
    "status.history[]",
    keysOf<CronHistoryEntry>()([
      "occurrenceId",
      "scheduledTime",
      "outcome",
      "finishedTime",
      "message",
    ]),
    requiredOf<CronHistoryEntry>()(["scheduledTime", "outcome"]),
  ],
  ...sharedShapes,
];

describe.each([
  ["DelayedTask", delayedRoot, delayedShapes],
  ["CronTask", cronRoot, cronShapes],
] as const)("%s types", (_kind, root, shapes) => {
  it.each(shapes)("%s has the schema's fields and required fields", (path, keys, required) => {
    const schema = at(root, path);
    expect([...keys].sort()).toEqual(Object.keys(schema.properties ?? {}).sort());
    expect([...required].sort()).toEqual([...(schema.required ?? [])].sort());
  });
});

describe("enums", () => {
  it.each([
    [delayedRoot, "status.phase", [...DELAYED_TASK_PHASES]],
    [cronRoot, "status.phase", [...CRON_TASK_PHASES]],
    [cronRoot, "status.history[].outcome", [...CRON_OUTCOMES]],
    [delayedRoot, "spec.target.http.method", [...HTTP_METHODS]],
    [delayedRoot, "spec.retry.backoff.type", allOf<BackoffType>()(["Fixed", "Exponential"])],
    [
      delayedRoot,
      "status.conditions[].status",
      allOf<ConditionStatus>()(["True", "False", "Unknown"]),
    ],
    [cronRoot, "spec.dstGapPolicy", allOf<DstGapPolicy>()(["Shift", "Skip"])],
    [cronRoot, "spec.dstFoldPolicy", allOf<DstFoldPolicy>()(["First", "Last"])],
    [
      cronRoot,
      "spec.concurrencyPolicy",
      allOf<CronConcurrencyPolicy>()(["Allow", "Forbid", "Replace"]),
    ],
    [cronRoot, "spec.catchUp", allOf<CronCatchUp>()(["Skip", "Latest", "All"])],
  ] as const)("%#: the schema of %s lists exactly the type's values", (root, path, values) => {
    expect(at(root, path)._enum).toEqual(values);
  });
});

describe("SPEC_DEFAULTS", () => {
  const paths: Record<keyof typeof SPEC_DEFAULTS, [V1JSONSchemaProps, string]> = {
    httpMethod: [delayedRoot, "spec.target.http.method"],
    httpTimeoutSeconds: [delayedRoot, "spec.target.http.timeoutSeconds"],
    maxAttempts: [delayedRoot, "spec.retry.maxAttempts"],
    backoffType: [delayedRoot, "spec.retry.backoff.type"],
    initialDelay: [delayedRoot, "spec.retry.backoff.initialDelay"],
    maxDelay: [delayedRoot, "spec.retry.backoff.maxDelay"],
    jitterPercent: [delayedRoot, "spec.retry.backoff.jitterPercent"],
    priority: [delayedRoot, "spec.priority"],
    leaseTimeoutSeconds: [delayedRoot, "spec.leaseTimeoutSeconds"],
    timeZone: [cronRoot, "spec.timeZone"],
    dstGapPolicy: [cronRoot, "spec.dstGapPolicy"],
    dstFoldPolicy: [cronRoot, "spec.dstFoldPolicy"],
    suspend: [cronRoot, "spec.suspend"],
    concurrencyPolicy: [cronRoot, "spec.concurrencyPolicy"],
    catchUp: [cronRoot, "spec.catchUp"],
    maxBurst: [cronRoot, "spec.maxBurst"],
    jitterSeconds: [cronRoot, "spec.jitterSeconds"],
    successfulHistoryLimit: [cronRoot, "spec.successfulHistoryLimit"],
    failedHistoryLimit: [cronRoot, "spec.failedHistoryLimit"],
    missedHistoryLimit: [cronRoot, "spec.missedHistoryLimit"],
  };

  it.each(Object.entries(paths))("%s is the schema default", (key, [root, path]) => {
    expect(at(root, path)._default).toEqual(SPEC_DEFAULTS[key as keyof typeof SPEC_DEFAULTS]);
  });

  it("the default backoff object is the backoff fields' defaults", () => {
    expect(at(delayedRoot, "spec.retry.backoff")._default).toEqual({
      type: SPEC_DEFAULTS.backoffType,
      initialDelay: SPEC_DEFAULTS.initialDelay,
      maxDelay: SPEC_DEFAULTS.maxDelay,
      jitterPercent: SPEC_DEFAULTS.jitterPercent,
    });
  });
});
