/**
 * The defaults of the CRD schemas (crds/), applied again by the conversions so that an object
 * built in code without them means the same as one read from the API server.
 * test/operator/specTypes.test.ts checks them against the schemas.
 */
import type {
  BackoffType,
  CronCatchUp,
  CronConcurrencyPolicy,
  DstFoldPolicy,
  DstGapPolicy,
  HttpMethod,
} from "./types.js";

export const SPEC_DEFAULTS = {
  httpMethod: "POST" as HttpMethod,
  httpTimeoutSeconds: 30,
  maxAttempts: 5,
  backoffType: "Exponential" as BackoffType,
  initialDelay: "1s",
  maxDelay: "10m",
  jitterPercent: 20,
  priority: 0,
  leaseTimeoutSeconds: 30,
  timeZone: "UTC",
  dstGapPolicy: "Shift" as DstGapPolicy,
  dstFoldPolicy: "First" as DstFoldPolicy,
  suspend: false,
  concurrencyPolicy: "Allow" as CronConcurrencyPolicy,
  catchUp: "Latest" as CronCatchUp,
  maxBurst: 10,
  jitterSeconds: 0,
  successfulHistoryLimit: 3,
  failedHistoryLimit: 1,
  missedHistoryLimit: 10,
} as const;

/** The topic of the built-in http worker, unless the operator is given another (DDQ_HTTP_TOPIC). */
export const DEFAULT_HTTP_TOPIC = "ddq.http";
