/**
 * DelayedTask -> the scheduler's TaskSpec (scheduler/engine/model.ts).
 *
 * - Due time: spec.runAt, or metadata.creationTimestamp + spec.delay. Anchoring the delay to the
 *   creation makes the due time a property of the resource: a repeated reconcile, an operator
 *   restart or a failover computes the same instant.
 * - Idempotency key: the resource's uid and generation (delayedTaskIdempotencyKey), so a repeated
 *   Enqueue of one generation returns the task created first.
 * - Owner: the resource (kind DelayedTask, namespace, name, uid).
 */
import {
  DEFAULT_DEFAULTS,
  DEFAULT_LIMITS,
  type EngineLimits,
  type TaskSpec,
} from "../../scheduler/engine/model.js";
import { prepareTask } from "../../scheduler/engine/validation.js";
import { DEFAULT_HTTP_TOPIC } from "./defaults.js";
import { DURATION_SYNTAX, parseDateTime, parseDurationMs } from "./time.js";
import { specError, specErrorFromScheduler, type SpecError, type SpecResult } from "./errors.js";
import { resourceIdentity, type ResourceIdentity } from "./metadata.js";
import { checkHttpTopic, convertTaskTemplate, templateFieldPath } from "./template.js";
import type { ConversionOptions } from "./options.js";
import { DELAYED_TASK, type DelayedTask, type ResourceMetadata } from "./types.js";

/** The idempotency key of a DelayedTask's task: one task per uid and generation. */
export function delayedTaskIdempotencyKey(metadata: ResourceMetadata): string {
  const identity = resourceIdentity(DELAYED_TASK.kind, metadata);
  return `ddq.io/${DELAYED_TASK.kind}/${identity.uid}/${identity.generation}`;
}

function dueAt(
  resource: DelayedTask,
  identity: ResourceIdentity,
  nowMs: number,
  limits: EngineLimits,
  errors: SpecError[],
): { atMs: number; field: string } | undefined {
  const { runAt, delay } = resource.spec;
  if ((runAt === undefined) === (delay === undefined)) {
    errors.push(specError("spec", "exactly one of spec.runAt or spec.delay must be set"));
    return undefined;
  }
  if (runAt !== undefined) {
    const atMs = parseDateTime(runAt);
    if (atMs === undefined) {
      errors.push(
        specError("spec.runAt", `must be an RFC 3339 date-time, got ${JSON.stringify(runAt)}`),
      );
      return undefined;
    }
    if (atMs < 0) {
      errors.push(specError("spec.runAt", `must not be before 1970-01-01T00:00:00Z, got ${runAt}`));
      return undefined;
    }
    if (atMs > nowMs + limits.maxHorizonMs) {
      const days = limits.maxHorizonMs / 86_400_000;
      errors.push(
        specError(
          "spec.runAt",
          `is more than ${days} days ahead (the scheduler's horizon): ${runAt}, now ` +
            new Date(nowMs).toISOString(),
        ),
      );
      return undefined;
    }
    return { atMs, field: "spec.runAt" };
  }
  const text = delay ?? "";
  const delayMs = parseDurationMs(text);
  if (delayMs === undefined) {
    errors.push(specError("spec.delay", `must be ${DURATION_SYNTAX}, got ${JSON.stringify(text)}`));
    return undefined;
  }
  if (delayMs > limits.maxHorizonMs) {
    errors.push(
      specError("spec.delay", `must be at most ${limits.maxHorizonMs / 3_600_000}h, got ${text}`),
    );
    return undefined;
  }
  if (identity.createdAtMs === undefined) {
    throw new Error(
      `${DELAYED_TASK.kind} ${identity.namespace}/${identity.name} has spec.delay but no ` +
        "metadata.creationTimestamp to count it from",
    );
  }
  return { atMs: identity.createdAtMs + delayMs, field: "spec.delay" };
}

/**
 * Converts a DelayedTask into the TaskSpec to enqueue, or the spec errors the API server could
 * not check (each naming its field). Rejects only when readSecret rejects (other than "not
 * found") or the options are unusable (an invalid httpTopic).
 */
export async function delayedTaskToTaskSpec(
  resource: DelayedTask,
  options: ConversionOptions = {},
): Promise<SpecResult<TaskSpec>> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const defaults = options.defaults ?? DEFAULT_DEFAULTS;
  const nowMs = options.nowMs ?? Date.now();
  const httpTopic = checkHttpTopic(options.httpTopic ?? DEFAULT_HTTP_TOPIC, limits);
  const identity = resourceIdentity(DELAYED_TASK.kind, resource.metadata);

  const errors: SpecError[] = [];
  const due = dueAt(resource, identity, nowMs, limits, errors);
  const template = await convertTaskTemplate(resource.spec, {
    namespace: identity.namespace,
    httpTopic,
    readSecret: options.readSecret,
    limits,
  });
  if (!template.ok) errors.push(...template.errors);
  if (!template.ok || due === undefined || errors.length > 0) return { ok: false, errors };

  const { targetKind, ...fields } = template.value;
  const spec: TaskSpec = {
    ...fields,
    due: { atMs: due.atMs },
    idempotencyKey: delayedTaskIdempotencyKey(resource.metadata),
    owner: {
      kind: DELAYED_TASK.kind,
      namespace: identity.namespace,
      name: identity.name,
      uid: identity.uid,
    },
  };
  try {
    prepareTask(spec, limits, defaults);
  } catch (error) {
    const mapped = specErrorFromScheduler(error, (field) =>
      field.startsWith("due.") ? due.field : templateFieldPath(field, targetKind),
    );
    return { ok: false, errors: [mapped] };
  }
  return { ok: true, value: spec };
}
