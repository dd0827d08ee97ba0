/**
 * Errors on the wire: a gRPC status code and message, plus a serialized google.rpc.Status in the
 * `grpc-status-details-bin` trailer whose details carry a google.rpc.BadRequest field violation
 * (every error that concerns one request field, whatever its code) or google.rpc.RetryInfo (a rate limit or overload, UNAVAILABLE: retrying
 * later helps; a batch over the limit carries none, since retrying it would not).
 */
import { Metadata, status as GrpcCode, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import { BadRequest, RetryInfo } from "../../proto/gen/google/rpc/error_details.js";
import { Status } from "../../proto/gen/google/rpc/status.js";
import { DdqError, type DdqErrorCode } from "../engine/errors.js";
import { isRedisUnavailableError, RedisUnavailableError } from "../engine/redisErrors.js";
import { toDuration } from "./protoTime.js";

export const STATUS_DETAILS_KEY = "grpc-status-details-bin";
/** The field at fault of a status other than INVALID_ARGUMENT (kept for older clients). */
export const FIELD_KEY = "ddq-field";
const BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest";
const RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo";

const CODE_OF: Record<DdqErrorCode, GrpcCode> = {
  INVALID_ARGUMENT: GrpcCode.INVALID_ARGUMENT,
  NOT_FOUND: GrpcCode.NOT_FOUND,
  ALREADY_EXISTS: GrpcCode.ALREADY_EXISTS,
  FAILED_PRECONDITION: GrpcCode.FAILED_PRECONDITION,
  RESOURCE_EXHAUSTED: GrpcCode.RESOURCE_EXHAUSTED,
  OUT_OF_RANGE: GrpcCode.OUT_OF_RANGE,
  // A leadership change: the call is safe to retry (on this or another replica).
  STALE_EPOCH: GrpcCode.UNAVAILABLE,
  NOT_LEADER: GrpcCode.UNAVAILABLE,
};

/** Engine field names (TypeScript model) as request field paths (proto names). */
const FIELD_RENAMES: [RegExp, string][] = [
  [/due\.atMs$/, "due_time"],
  [/due\.delayMs$/, "delay"],
  // The horizon check in Redis (enqueue.lua) names `due`: only absolute due times reach it.
  [/(?<=^|\.)due$/, "due_time"],
  [/backoff\.delayMs$/, "backoff.fixed.delay"],
  [/backoff\.initialMs$/, "backoff.exponential.initial"],
  [/backoff\.maxMs$/, "backoff.exponential.max"],
  [/backoff\.jitter$/, "backoff.exponential.jitter"],
  [/leaseTimeoutMs$/, "lease_timeout"],
  [/extendMs$/, "extend_by"],
  [/(?<=^|\.)startAt$/, "start_time"],
  [/(?<=^|\.)endAt$/, "end_time"],
  [/(?<=^|\.)startingDeadlineSeconds$/, "starting_deadline"],
  [/(?<=^|\.)jitterMs$/, "jitter"],
  [/(?<=^|\.)n$/, "count"],
  [/(?<=^|\.)limit$/, "page_size"],
  [/(?<=^|\.)cursor$/, "page_token"],
];

export function protoFieldPath(field: string): string {
  let path = field;
  for (const [pattern, replacement] of FIELD_RENAMES) path = path.replace(pattern, replacement);
  return path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Longest message (and field description) sent: they echo client input, and travel in trailers. */
const MAX_MESSAGE_CHARS = 512;

/**
 * A message cut to MAX_MESSAGE_CHARS. Messages quote request values (an id, a topic): unbounded,
 * a huge one makes trailers the client cannot take, and the call hangs until its deadline.
 */
function boundedMessage(text: string): string {
  if (text.length <= MAX_MESSAGE_CHARS) return text;
  let cut = text.slice(0, MAX_MESSAGE_CHARS);
  // Never end on half a surrogate pair (it could not be encoded).
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}... (${text.length - cut.length} more characters)`;
}

function withDetails(
  code: GrpcCode,
  fullMessage: string,
  details: Status["details"],
): ServiceError {
  const message = boundedMessage(fullMessage);
  const metadata = new Metadata();
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(Status.encode({ code, message, details }).finish()));
  return Object.assign(new Error(message), { code, details: message, metadata });
}

/** A status with no details. */
export function statusError(code: GrpcCode, message: string): ServiceError {
  return withDetails(code, message, []);
}

/** The BadRequest detail naming `field`; `reason` is the status code's name. */
function fieldViolationDetail(
  code: GrpcCode,
  field: string,
  description: string,
): Status["details"][number] {
  const badRequest = BadRequest.encode({
    fieldViolations: [{ field, description, reason: GrpcCode[code] }],
  }).finish();
  return { typeUrl: BAD_REQUEST_TYPE, value: Buffer.from(badRequest) };
}

/** A status for a bad request field. */
export function invalidArgumentStatus(field: string, fullDescription: string): ServiceError {
  const description = boundedMessage(fullDescription);
  return withDetails(GrpcCode.INVALID_ARGUMENT, `${field}: ${description}`, [
    fieldViolationDetail(GrpcCode.INVALID_ARGUMENT, field, description),
  ]);
}

/**
 * A status other than INVALID_ARGUMENT that concerns one request field (a stale `lease_token`, a
 * reused `task.idempotency_key`, a batch over the limit): the same BadRequest field violation
 * (reason: the code's name), plus the field in the `ddq-field` trailer, its older form.
 */
export function fieldStatus(
  code: GrpcCode,
  field: string,
  message: string,
  fullDescription: string,
): ServiceError {
  const description = boundedMessage(fullDescription);
  const error = withDetails(code, message, [fieldViolationDetail(code, field, description)]);
  error.metadata.set(FIELD_KEY, field);
  return error;
}

/** A status telling the client to retry after a delay. */
export function retryableStatus(
  code: GrpcCode,
  message: string,
  retryAfterMs: number,
): ServiceError {
  const retry = RetryInfo.encode({ retryDelay: toDuration(Math.max(1, Math.ceil(retryAfterMs))) });
  return withDetails(code, message, [
    { typeUrl: RETRY_INFO_TYPE, value: Buffer.from(retry.finish()) },
  ]);
}

/** Retry delay suggested while Redis is unavailable (google.rpc.RetryInfo). */
export const REDIS_UNAVAILABLE_RETRY_MS = 1_000;

/**
 * The status an error becomes. DdqErrors map one-to-one; Redis being unreachable or unable to
 * serve (a dropped or stalled connection, LOADING, READONLY, CLUSTERDOWN...) is UNAVAILABLE with
 * a retry delay; anything else is INTERNAL with a generic message (the cause is logged by the
 * caller, never leaked to clients).
 */
export function toServiceError(error: unknown): ServiceError {
  if (error instanceof DdqError) {
    if (error.code === "INVALID_ARGUMENT" && error.field !== undefined) {
      const field = protoFieldPath(error.field);
      const prefix = `${error.field}: `;
      const description = error.message.startsWith(prefix)
        ? error.message.slice(prefix.length)
        : error.message;
      return invalidArgumentStatus(field, description);
    }
    if (error.code === "NOT_LEADER" || error.code === "STALE_EPOCH") {
      return retryableStatus(CODE_OF[error.code], error.message, 500);
    }
    if (error.field === undefined) return withDetails(CODE_OF[error.code], error.message, []);
    const field = protoFieldPath(error.field);
    const prefix = `${error.field}: `;
    const description = error.message.startsWith(prefix)
      ? error.message.slice(prefix.length)
      : error.message;
    return fieldStatus(
      CODE_OF[error.code],
      field,
      error.message.replaceAll(error.field, field),
      description,
    );
  }
  if (isServiceError(error)) return error;
  if (isRedisUnavailableError(error)) {
    const message =
      error instanceof RedisUnavailableError
        ? error.message
        : `Redis is unavailable (${error instanceof Error ? error.message : String(error)}); retry later`;
    return retryableStatus(GrpcCode.UNAVAILABLE, message, REDIS_UNAVAILABLE_RETRY_MS);
  }
  return withDetails(GrpcCode.INTERNAL, "internal error (logged by the scheduler)", []);
}

export function isServiceError(error: unknown): error is ServiceError {
  return (
    error instanceof Error &&
    typeof (error as Partial<ServiceError>).code === "number" &&
    (error as Partial<ServiceError>).metadata instanceof Metadata
  );
}

/**
 * The google.rpc.Status of an error as sent in its `grpc-status-details-bin` trailer (code and
 * message only when it has none): what an Ack item's result carries.
 */
export function statusProto(error: Pick<StatusObject, "code" | "details" | "metadata">): Status {
  const [raw] = error.metadata.get(STATUS_DETAILS_KEY);
  if (raw instanceof Buffer) {
    try {
      return Status.decode(raw);
    } catch {
      // Not a Status: fall through to the bare code and message.
    }
  }
  return { code: error.code, message: error.details, details: [] };
}

/** What a client can read off an error's details. */
export interface StatusDetails {
  /** `reason` is the status code's name (INVALID_ARGUMENT, FAILED_PRECONDITION, ...). */
  fieldViolations: { field: string; description: string; reason: string }[];
  retryAfterMs?: number;
}

export function readStatusDetails(error: Pick<StatusObject, "metadata">): StatusDetails {
  const [raw] = error.metadata.get(STATUS_DETAILS_KEY);
  if (!(raw instanceof Buffer)) return { fieldViolations: [] };
  let status: Status;
  try {
    status = Status.decode(raw);
  } catch {
    return { fieldViolations: [] };
  }
  return readDetails(status);
}

/** The details of a google.rpc.Status (a trailer's, or an Ack item's). */
export function readDetails(status: Pick<Status, "details">): StatusDetails {
  const out: StatusDetails = { fieldViolations: [] };
  for (const detail of status.details) {
    if (detail.typeUrl === BAD_REQUEST_TYPE) {
      for (const v of BadRequest.decode(detail.value).fieldViolations) {
        out.fieldViolations.push({ field: v.field, description: v.description, reason: v.reason });
      }
    } else if (detail.typeUrl === RETRY_INFO_TYPE) {
      const delay = RetryInfo.decode(detail.value).retryDelay;
      if (delay !== undefined) out.retryAfterMs = delay.seconds * 1000 + delay.nanos / 1e6;
    }
  }
  return out;
}
