/**
 * CronTask -> the scheduler's CronScheduleSpec (scheduler/cron/cronSpec.ts).
 *
 * Checks what the API server cannot: the cron expressions (syntax, ranges, and that each one
 * ever fires in the zone with the DST policy), the time zone, a startAt..endAt window without
 * any fire, and everything the scheduler's checkCronSpec checks, each error naming the
 * resource's field (`spec.schedule`, `spec.additionalSchedules[2]`, `spec.timeZone`, ...).
 */
import type { CronTiming, DstFoldPolicy, DstGapPolicy } from "../../scheduler/cron/cronSchedule.js";
import { checkCronSpec, type CronScheduleSpec } from "../../scheduler/cron/cronSpec.js";
import { nextFireAfter } from "../../scheduler/cron/nextFire.js";
import { validateCronTiming } from "../../scheduler/cron/validateTiming.js";
import { DEFAULT_DEFAULTS, DEFAULT_LIMITS } from "../../scheduler/engine/model.js";
import { SCHEDULE_ID } from "../../scheduler/engine/taskId.js";
import { DEFAULT_HTTP_TOPIC, SPEC_DEFAULTS } from "./defaults.js";
import { specError, specErrorFromScheduler, type SpecError, type SpecResult } from "./errors.js";
import { resourceIdentity, shortHash } from "./metadata.js";
import type { ConversionOptions } from "./options.js";
import { checkHttpTopic, convertTaskTemplate, templateFieldPath } from "./template.js";
import { parseDateTime } from "./time.js";
import { CRON_TASK, type CronTask, type CronTaskSpec, type ResourceMetadata } from "./types.js";

const MAX_SCHEDULE_ID = 200;

/**
 * The id of a CronTask's schedule in the scheduler: `<namespace>.<name>.<first 8 of uid>`.
 * Readable, stable across generations, and different for a resource deleted and created again
 * under the same name (whose schedule must not inherit the old one's runs and history). Names
 * too long for the scheduler's 200 characters are shortened and get a hash of the full name.
 */
export function cronScheduleId(metadata: ResourceMetadata): string {
  const { namespace, name, uid } = resourceIdentity(CRON_TASK.kind, metadata);
  const uidPart = uid.replace(/[^A-Za-z0-9]/g, "").slice(0, 8);
  const full = `${namespace}.${name}.${uidPart}`;
  if (full.length <= MAX_SCHEDULE_ID && SCHEDULE_ID.test(full)) return full;
  const hash = shortHash(`${namespace}/${name}`);
  // namespace (<= 63) + "." + name part + "-" + hash (10) + "." + uid part (8) <= 200
  const room = MAX_SCHEDULE_ID - namespace.length - uidPart.length - hash.length - 3;
  const safeName = name.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, Math.max(room, 0));
  return `${namespace}.${safeName}-${hash}.${uidPart}`;
}

const DST_GAP: Readonly<Record<string, DstGapPolicy>> = { Shift: "shift", Skip: "skip" };
const DST_FOLD: Readonly<Record<string, DstFoldPolicy>> = { First: "first", Last: "last" };

/** The resource path of a CronTiming field the scheduler named. */
function timingFieldPath(field: string, expressionIndex?: number): string | undefined {
  const expression = /^schedules\[(\d+)\]$/.exec(field);
  if (expression !== null) {
    const index = expressionIndex ?? Number(expression[1]);
    return index === 0 ? "spec.schedule" : `spec.additionalSchedules[${index - 1}]`;
  }
  const paths: Readonly<Record<string, string>> = {
    schedules: "spec.additionalSchedules",
    timeZone: "spec.timeZone",
    dstGap: "spec.dstGapPolicy",
    dstFold: "spec.dstFoldPolicy",
    startAt: "spec.startAt",
    endAt: "spec.endAt",
  };
  return paths[field];
}

/** The resource path of a CronScheduleSpec field the scheduler named (not timing, not task). */
function scheduleFieldPath(field: string): string | undefined {
  const paths: Readonly<Record<string, string>> = {
    id: "metadata.name",
    maxRuns: "spec.maxRuns",
    concurrencyPolicy: "spec.concurrencyPolicy",
    startingDeadlineSeconds: "spec.startingDeadlineSeconds",
    catchUp: "spec.catchUp",
    maxBurst: "spec.maxBurst",
    jitterMs: "spec.jitterSeconds",
    successfulHistoryLimit: "spec.successfulHistoryLimit",
    failedHistoryLimit: "spec.failedHistoryLimit",
    missedHistoryLimit: "spec.missedHistoryLimit",
  };
  return paths[field];
}

function optionalInstant(
  text: string | undefined,
  field: string,
  errors: SpecError[],
): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDateTime(text);
  if (ms === undefined) {
    errors.push(specError(field, `must be an RFC 3339 date-time, got ${JSON.stringify(text)}`));
  }
  return ms;
}

/** The CronTiming of a spec, or undefined after recording errors. */
function timingOf(spec: CronTaskSpec, errors: SpecError[]): CronTiming | undefined {
  const before = errors.length;
  const dstGap = DST_GAP[spec.dstGapPolicy ?? SPEC_DEFAULTS.dstGapPolicy];
  if (dstGap === undefined) {
    errors.push(specError("spec.dstGapPolicy", `must be Shift or Skip, got ${spec.dstGapPolicy}`));
  }
  const dstFold = DST_FOLD[spec.dstFoldPolicy ?? SPEC_DEFAULTS.dstFoldPolicy];
  if (dstFold === undefined) {
    errors.push(
      specError("spec.dstFoldPolicy", `must be First or Last, got ${spec.dstFoldPolicy}`),
    );
  }
  const startAt = optionalInstant(spec.startAt, "spec.startAt", errors);
  const endAt = optionalInstant(spec.endAt, "spec.endAt", errors);
  if (startAt !== undefined && endAt !== undefined && endAt <= startAt) {
    errors.push(specError("spec.endAt", `must be after spec.startAt (${spec.startAt ?? ""})`));
  }
  if (errors.length > before || dstGap === undefined || dstFold === undefined) return undefined;
  return {
    schedules: [spec.schedule, ...(spec.additionalSchedules ?? [])],
    timeZone: spec.timeZone ?? SPEC_DEFAULTS.timeZone,
    dstGap,
    dstFold,
    ...(startAt === undefined ? {} : { startAt }),
    ...(endAt === undefined ? {} : { endAt }),
  };
}

/**
 * Validates the timing: each expression on its own (so that every bad one is reported, on its
 * own field), then the whole, and that a startAt..endAt window has a fire.
 */
function checkTiming(timing: CronTiming, nowMs: number, errors: SpecError[]): void {
  const before = errors.length;
  const reported = new Set<string>();
  const report = (error: SpecError): void => {
    const key = `${error.field}\u0000${error.message}`;
    if (reported.has(key)) return;
    reported.add(key);
    errors.push(error);
  };
  timing.schedules.forEach((expression, index) => {
    try {
      validateCronTiming({ ...timing, schedules: [expression] }, nowMs);
    } catch (error) {
      report(specErrorFromScheduler(error, (field) => timingFieldPath(field, index)));
    }
  });
  if (errors.length > before) return;
  let compiled;
  try {
    compiled = validateCronTiming(timing, nowMs);
  } catch (error) {
    report(specErrorFromScheduler(error, (field) => timingFieldPath(field)));
    return;
  }
  // A window that is given in full and holds no fire: the schedule can never run.
  if (timing.startAt !== undefined && timing.endAt !== undefined) {
    if (nextFireAfter(compiled, timing.startAt - 1) === undefined) {
      errors.push(
        specError(
          "spec.endAt",
          `the schedule has no fire from spec.startAt (${new Date(timing.startAt).toISOString()}) ` +
            `until spec.endAt (${new Date(timing.endAt).toISOString()}) in ${compiled.timeZone}`,
        ),
      );
    }
  }
}

/**
 * Converts a CronTask into the CronScheduleSpec to upsert, or the spec errors the API server
 * could not check (each naming its field). Rejects only when readSecret rejects (other than
 * "not found") or the options are unusable (an invalid httpTopic).
 */
export async function cronTaskToScheduleSpec(
  resource: CronTask,
  options: ConversionOptions = {},
): Promise<SpecResult<CronScheduleSpec>> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const defaults = options.defaults ?? DEFAULT_DEFAULTS;
  const nowMs = options.nowMs ?? Date.now();
  const httpTopic = checkHttpTopic(options.httpTopic ?? DEFAULT_HTTP_TOPIC, limits);
  const identity = resourceIdentity(CRON_TASK.kind, resource.metadata);
  const spec = resource.spec;

  const errors: SpecError[] = [];
  const jitterSeconds = spec.jitterSeconds ?? SPEC_DEFAULTS.jitterSeconds;
  if (!Number.isSafeInteger(jitterSeconds) || jitterSeconds < 0 || jitterSeconds > 3600) {
    // Checked here, in seconds: the scheduler would name its own field (jitterMs) and unit.
    errors.push(
      specError("spec.jitterSeconds", `must be an integer from 0 to 3600, got ${jitterSeconds}`),
    );
  }
  const timing = timingOf(spec, errors);
  if (timing !== undefined) checkTiming(timing, nowMs, errors);
  const template = await convertTaskTemplate(spec, {
    namespace: identity.namespace,
    httpTopic,
    readSecret: options.readSecret,
    limits,
  });
  if (!template.ok) errors.push(...template.errors);
  if (!template.ok || timing === undefined || errors.length > 0) return { ok: false, errors };

  const { targetKind, ...task } = template.value;
  const schedule: CronScheduleSpec = {
    id: cronScheduleId(resource.metadata),
    timing,
    suspend: spec.suspend ?? SPEC_DEFAULTS.suspend,
    ...(spec.maxRuns === undefined ? {} : { maxRuns: spec.maxRuns }),
    concurrencyPolicy: spec.concurrencyPolicy ?? SPEC_DEFAULTS.concurrencyPolicy,
    ...(spec.startingDeadlineSeconds === undefined
      ? {}
      : { startingDeadlineSeconds: spec.startingDeadlineSeconds }),
    catchUp: spec.catchUp ?? SPEC_DEFAULTS.catchUp,
    maxBurst: spec.maxBurst ?? SPEC_DEFAULTS.maxBurst,
    jitterMs: jitterSeconds * 1000,
    successfulHistoryLimit: spec.successfulHistoryLimit ?? SPEC_DEFAULTS.successfulHistoryLimit,
    failedHistoryLimit: spec.failedHistoryLimit ?? SPEC_DEFAULTS.failedHistoryLimit,
    missedHistoryLimit: spec.missedHistoryLimit ?? SPEC_DEFAULTS.missedHistoryLimit,
    task: {
      ...task,
      owner: {
        kind: CRON_TASK.kind,
        namespace: identity.namespace,
        name: identity.name,
        uid: identity.uid,
      },
    },
  };
  try {
    // The timing was fully validated above; this checks the remaining fields.
    checkCronSpec(schedule, limits, defaults, { full: false, nowMs });
  } catch (error) {
    const mapped = specErrorFromScheduler(
      error,
      (field) =>
        templateFieldPath(field, targetKind, "task.") ??
        scheduleFieldPath(field) ??
        timingFieldPath(field),
    );
    return { ok: false, errors: [mapped] };
  }
  return { ok: true, value: schedule };
}
