/**
 * The operator's pure spec layer: DelayedTask and CronTask objects (types.ts) turned into the
 * scheduler's TaskSpec and CronScheduleSpec, with the checks the API server cannot do, each error
 * naming the resource field at fault.
 */
export * from "./types.js";
export { SPEC_DEFAULTS, DEFAULT_HTTP_TOPIC } from "./defaults.js";
export { formatSpecErrors, type SpecError, type SpecResult } from "./errors.js";
export { parseDurationMs, parseDateTime } from "./time.js";
export { timestampMs } from "./metadata.js";
export type { ConversionOptions } from "./options.js";
export {
  encodeTopicPayload,
  type HttpRequestEnvelope,
  type SecretData,
  type SecretReader,
} from "./template.js";
export { delayedTaskToTaskSpec, delayedTaskIdempotencyKey } from "./delayedTask.js";
export { cronTaskToScheduleSpec, cronScheduleId } from "./cronTask.js";
