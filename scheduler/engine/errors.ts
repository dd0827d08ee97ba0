/**
 * Typed errors of the engine. Each has a code that the gRPC layer maps one-to-one to a status
 * (INVALID_ARGUMENT, NOT_FOUND, ...) and, for bad input, the field at fault.
 */
export type DdqErrorCode =
  | "INVALID_ARGUMENT"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "FAILED_PRECONDITION"
  | "RESOURCE_EXHAUSTED"
  /** A position outside what is kept (e.g. events trimmed from a stream). */
  | "OUT_OF_RANGE"
  /** The caller's shard epoch is not the current one: it is no longer the shard's leader. */
  | "STALE_EPOCH"
  /** This scheduler does not lead the shard the operation needs. */
  | "NOT_LEADER";

export class DdqError extends Error {
  override readonly name = "DdqError";
  constructor(
    readonly code: DdqErrorCode,
    message: string,
    /** The request field at fault, for INVALID_ARGUMENT (e.g. "topic", "payload"). */
    readonly field?: string,
    /** For NOT_LEADER: the shard the operation needs (its leader can serve it). */
    readonly shard?: number,
  ) {
    super(message);
  }
}

export function invalidArgument(field: string, message: string): DdqError {
  return new DdqError("INVALID_ARGUMENT", `${field}: ${message}`, field);
}

export function isDdqError(error: unknown, code?: DdqErrorCode): error is DdqError {
  return error instanceof DdqError && (code === undefined || error.code === code);
}
