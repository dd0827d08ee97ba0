/**
 * A cron schedule as stored and fired by the scheduler: its timing (cronSchedule.ts), the policies
 * for overlap and missed runs, and the task each occurrence becomes. Semantics: docs/CRON.md.
 */
import { invalidArgument } from "../engine/errors.js";
import type { EngineDefaults, EngineLimits, TaskSpec } from "../engine/model.js";
import { SCHEDULE_ID } from "../engine/taskId.js";
import { prepareTask, type PreparedTask } from "../engine/validation.js";
import { compileCronTiming, type CompiledCronTiming, type CronTiming } from "./cronSchedule.js";
import { validateCronTiming } from "./validateTiming.js";

export type ConcurrencyPolicy = "Allow" | "Forbid" | "Replace";
export type CatchUpMode = "Skip" | "Latest" | "All";

export interface CronScheduleSpec {
  /** 1-200 characters of [A-Za-z0-9._-], starting with a letter or digit. */
  id: string;
  timing: CronTiming;
  suspend?: boolean;
  /** Stop after this many occurrences. */
  maxRuns?: number;
  /** Default Allow. */
  concurrencyPolicy?: ConcurrencyPolicy;
  /** A slot not fired within this many seconds of its time is missed. Default: no deadline. */
  startingDeadlineSeconds?: number;
  /** Which of several overdue slots (after downtime or a suspension) fire. Default Latest. */
  catchUp?: CatchUpMode;
  /** catchUp All: at most this many overdue slots fire at once (the latest). Default 10. */
  maxBurst?: number;
  /** Spread fires over [0, jitterMs] by a hash of the id: same offset on every fire. Default 0. */
  jitterMs?: number;
  /** Succeeded occurrences kept in the history. Default 3. */
  successfulHistoryLimit?: number;
  /** Failed (dead or cancelled) occurrences kept in the history. Default 1. */
  failedHistoryLimit?: number;
  /** Missed and skipped slots kept in the history (all are counted). Default 10. */
  missedHistoryLimit?: number;
  /** The task each occurrence becomes (its due time is the slot, plus jitter). */
  task: Omit<TaskSpec, "due" | "idempotencyKey">;
}

/** A spec checked and with defaults applied. */
export interface CheckedCronSpec {
  id: string;
  timing: CompiledCronTiming;
  /** The timing as given (stored, so that the spec can be returned as written). */
  timingInput: CronTiming;
  suspend: boolean;
  maxRuns: number | undefined;
  concurrencyPolicy: ConcurrencyPolicy;
  startingDeadlineMs: number | undefined;
  catchUp: CatchUpMode;
  maxBurst: number;
  jitterMs: number;
  successfulHistoryLimit: number;
  failedHistoryLimit: number;
  missedHistoryLimit: number;
  task: PreparedTask;
  taskInput: Omit<TaskSpec, "due" | "idempotencyKey">;
}

const MAX_HISTORY = 100;
const MAX_JITTER_MS = 3_600_000;

function optionalInteger(
  field: string,
  value: number | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidArgument(field, `must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function oneOf<T extends string>(
  field: string,
  value: T | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value))
    throw invalidArgument(field, `must be one of ${allowed.join(", ")}, got "${value}"`);
  return value;
}

export function validateScheduleId(id: string, field = "id"): string {
  if (!SCHEDULE_ID.test(id)) {
    throw invalidArgument(
      field,
      "must be 1-200 characters of letters, digits, '.', '_' and '-', starting with a letter or digit",
    );
  }
  return id;
}

/**
 * Checks a schedule spec and applies defaults. `full` also proves that the timing ever fires (a
 * bounded search, see docs/CRON.md): done on upsert; a stored spec is only recompiled.
 */
export function checkCronSpec(
  spec: CronScheduleSpec,
  limits: EngineLimits,
  defaults: EngineDefaults,
  options: { full: boolean; nowMs?: number } = { full: true },
): CheckedCronSpec {
  validateScheduleId(spec.id);
  const timing = options.full
    ? validateCronTiming(spec.timing, options.nowMs ?? Date.now())
    : compileCronTiming(spec.timing);
  const task = prepareTask({ ...spec.task }, limits, defaults, "task.");
  return {
    id: spec.id,
    timing,
    timingInput: spec.timing,
    suspend: spec.suspend ?? false,
    maxRuns: optionalInteger("maxRuns", spec.maxRuns, 1, Number.MAX_SAFE_INTEGER),
    concurrencyPolicy: oneOf(
      "concurrencyPolicy",
      spec.concurrencyPolicy,
      ["Allow", "Forbid", "Replace"],
      "Allow",
    ),
    startingDeadlineMs:
      spec.startingDeadlineSeconds === undefined
        ? undefined
        : (optionalInteger(
            "startingDeadlineSeconds",
            spec.startingDeadlineSeconds,
            1,
            366 * 86_400,
          ) ?? 0) * 1000,
    catchUp: oneOf("catchUp", spec.catchUp, ["Skip", "Latest", "All"], "Latest"),
    maxBurst: optionalInteger("maxBurst", spec.maxBurst, 1, 1000) ?? 10,
    jitterMs: optionalInteger("jitterMs", spec.jitterMs, 0, MAX_JITTER_MS) ?? 0,
    successfulHistoryLimit:
      optionalInteger("successfulHistoryLimit", spec.successfulHistoryLimit, 0, MAX_HISTORY) ?? 3,
    failedHistoryLimit:
      optionalInteger("failedHistoryLimit", spec.failedHistoryLimit, 0, MAX_HISTORY) ?? 1,
    missedHistoryLimit:
      optionalInteger("missedHistoryLimit", spec.missedHistoryLimit, 0, MAX_HISTORY) ?? 10,
    task,
    taskInput: spec.task,
  };
}
