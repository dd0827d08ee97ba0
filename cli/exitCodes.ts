/**
 * Exit codes of the `ddq` CLI (docs/CLI.md): scripts can tell a usage error from a missing task
 * from an unreachable scheduler.
 */
import { status as GrpcCode } from "@grpc/grpc-js";

export const EXIT = {
  ok: 0,
  /** Anything not covered below (internal error, unexpected answer). */
  failure: 1,
  /** Bad command line or a request the server refused as invalid (INVALID_ARGUMENT). */
  usage: 2,
  /** NOT_FOUND. */
  notFound: 3,
  /** The request conflicts with the current state (FAILED_PRECONDITION, ALREADY_EXISTS, OUT_OF_RANGE). */
  conflict: 4,
  /** The scheduler is unreachable, busy or timed out (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED). */
  unavailable: 5,
  /** UNAUTHENTICATED or PERMISSION_DENIED. */
  denied: 6,
} as const;

const EXIT_OF_GRPC = new Map<number, number>([
  [GrpcCode.INVALID_ARGUMENT, EXIT.usage],
  [GrpcCode.NOT_FOUND, EXIT.notFound],
  [GrpcCode.FAILED_PRECONDITION, EXIT.conflict],
  [GrpcCode.ALREADY_EXISTS, EXIT.conflict],
  [GrpcCode.OUT_OF_RANGE, EXIT.conflict],
  [GrpcCode.UNAVAILABLE, EXIT.unavailable],
  [GrpcCode.DEADLINE_EXCEEDED, EXIT.unavailable],
  [GrpcCode.RESOURCE_EXHAUSTED, EXIT.unavailable],
  [GrpcCode.UNAUTHENTICATED, EXIT.denied],
  [GrpcCode.PERMISSION_DENIED, EXIT.denied],
]);

export function exitCodeOfGrpc(code: number): number {
  return EXIT_OF_GRPC.get(code) ?? EXIT.failure;
}

/** A command-line mistake: printed with the usage hint, exit code 2. */
export class UsageError extends Error {
  override readonly name: string = "UsageError";
}

/**
 * Bad input a command read (a file named by a flag that cannot be read or parsed): exit code 2
 * like a usage error, printed as one line without the usage hint.
 */
export class InputError extends UsageError {
  override readonly name = "InputError";
}
