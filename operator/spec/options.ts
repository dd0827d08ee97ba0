/** Options of the conversions (delayedTaskToTaskSpec, cronTaskToScheduleSpec). */
import type { EngineDefaults, EngineLimits } from "../../scheduler/engine/model.js";
import type { SecretReader } from "./template.js";

export interface ConversionOptions {
  /** The topic of http targets (the operator's DDQ_HTTP_TOPIC). Default "ddq.http". */
  httpTopic?: string;
  /** Resolves headers with valueFrom.secretKeyRef; required only when such a header exists. */
  readSecret?: SecretReader;
  /** The current time, for checks relative to now. Default Date.now(). */
  nowMs?: number;
  /** The scheduler's limits and defaults. Default DEFAULT_LIMITS, DEFAULT_DEFAULTS. */
  limits?: EngineLimits;
  defaults?: EngineDefaults;
}
