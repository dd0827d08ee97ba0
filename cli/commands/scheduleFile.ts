/**
 * The file of `ddq cron apply -f FILE`: a ScheduleSpec in ts-proto's JSON mapping (docs/CLI.md).
 * Every way it can be wrong (unreadable, not JSON, not an object, fields of the wrong type) is a
 * one-line error naming the file (exit 2), never a stack trace.
 */
import { ScheduleSpec } from "../../proto/gen/ddq/v1/cron_service.js";
import { toDuration } from "../../scheduler/api/protoTime.js";
import { parseDurationMs, type Settings } from "../config.js";
import { InputError, UsageError } from "../exitCodes.js";

/** Message fields that are google.protobuf.Duration in the ScheduleSpec JSON. */
const DURATION_KEYS = new Set([
  "startingDeadline",
  "jitter",
  "leaseTimeout",
  "delay",
  "initial",
  "max",
]);

/**
 * Accepts the canonical protobuf JSON for Durations ("300s", "1.5s") and the CLI's own forms
 * ("5m", "1h30m") in a ScheduleSpec file, as the {seconds, nanos} objects ts-proto reads.
 */
export function normalizeDurations(value: unknown, key = ""): unknown {
  if (typeof value === "string" && DURATION_KEYS.has(key)) {
    return toDuration(parseDurationMs(value, key));
  }
  if (Array.isArray(value)) return value.map((v) => normalizeDurations(v));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalizeDurations(v, k)]));
  }
  return value;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  return Array.isArray(value) ? "an array" : `a ${typeof value}`;
}

/** Reads and checks the ScheduleSpec named by `-f`/`--file` (`-`: standard input). */
export function scheduleSpecFromFile(settings: Settings): ScheduleSpec {
  const file = settings.required("file");
  const text = (settings.file("file", { stdin: true }) ?? Buffer.alloc(0)).toString("utf8");
  const where = `--file ${file}`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(
      `${where}: not JSON (the file is a ScheduleSpec in protobuf JSON, see docs/CLI.md): ` +
        (error as Error).message,
    );
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new InputError(`${where}: must hold a JSON object (a ScheduleSpec), got ${kindOf(json)}`);
  }
  try {
    return ScheduleSpec.fromJSON(normalizeDurations(json));
  } catch (error) {
    if (error instanceof UsageError) throw new InputError(`${where}: ${error.message}`);
    throw new InputError(`${where}: not a ScheduleSpec: ${(error as Error).message}`);
  }
}
