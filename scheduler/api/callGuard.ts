/**
 * What every API call goes through before its handler: authentication, the client's rate limit,
 * the server's bound on concurrent calls (back-pressure: RESOURCE_EXHAUSTED with RetryInfo), the
 * call's deadline and cancellation (an AbortSignal), Redis availability (UNAVAILABLE with
 * RetryInfo while it is unreachable, also for calls already waiting on it), and error mapping to
 * gRPC statuses.
 */
import {
  status as GrpcCode,
  type Metadata,
  type handleServerStreamingCall,
  type MethodDefinition,
  type ServiceDefinition,
  type handleUnaryCall,
  type ServerUnaryCall,
  type ServerWritableStream,
} from "@grpc/grpc-js";
import { AuthenticationError, type Authenticator } from "./authenticator.js";
import {
  invalidArgumentStatus,
  isServiceError,
  retryableStatus,
  statusError,
  toServiceError,
} from "./grpcStatus.js";
import { FORWARDED_BY } from "./peerRouter.js";
import type { RateLimiter } from "./rateLimiter.js";
import { RedisUnavailableError } from "../engine/redisErrors.js";
import { wireCheckOf, type WireViolation } from "./wireCheck.js";

/** What the guard needs of a unary or server-streaming call. */
type ServerSurfaceCall = Pick<
  ServerUnaryCall<unknown, unknown>,
  "metadata" | "getDeadline" | "getAuthContext" | "on" | "removeListener" | "cancelled"
>;

export interface CallContext {
  /** The authenticated client. */
  client: string;
  /** Epoch ms by which the call must answer (Infinity without a deadline). */
  deadlineMs: number;
  /**
   * Aborted when the client cancels, the deadline passes or the server shuts down; its reason is
   * the status to answer (CANCELLED, DEADLINE_EXCEEDED, UNAVAILABLE), so a handler that stops
   * work may throw it (`signal.throwIfAborted()`).
   */
  signal: AbortSignal;
  /** The call's request metadata. */
  metadata: Metadata;
}

/** What the guard needs to know of the store's availability (engine/redisAvailability.ts). */
export interface StoreAvailability {
  /** The error to answer with while the store is unreachable; undefined while it is reachable. */
  unavailable(): Error | undefined;
  /** True when the store is unreachable or has been slow to answer a probe. */
  suspect(): boolean;
  /** Called on every change; returns the unsubscribe function. */
  onChange(listener: (reachable: boolean) => void): () => void;
}

/**
 * How long before its deadline a call still waiting on a suspect store is answered UNAVAILABLE
 * (at most; a fifth of the call's time budget when that is shorter).
 */
const DEADLINE_MARGIN_MS = 250;

export interface CallGuardOptions {
  authenticator: Authenticator;
  /** Unset: calls are not checked against the store's availability. */
  store?: StoreAvailability;
  rateLimiter: RateLimiter;
  /** Calls handled at once (long-polls and watches included); more are refused. */
  maxInFlight: number;
  log: (message: string) => void;
}

interface Admitted {
  context: CallContext;
  /** Aborts the call's signal (its handler stops waiting). */
  abort: (reason: Error) => void;
  release: () => void;
}

function deadlineOf(call: ServerSurfaceCall): number {
  const deadline = call.getDeadline();
  if (deadline instanceof Date) return deadline.getTime();
  return Number.isFinite(deadline) ? deadline : Number.POSITIVE_INFINITY;
}

/** What a request that does not decode becomes (see `decodeGuarded`). */
class MalformedRequest {
  constructor(readonly reason: string) {}
}

/** Decoded requests whose bytes broke a wire rule (wireCheck.ts), with the first violation. */
const wireViolations = new WeakMap<object, WireViolation>();

/**
 * The service definition with request decoding that never throws: bytes that are not a valid
 * message become a MalformedRequest, which the guard answers INVALID_ARGUMENT (a decoder that
 * throws makes grpc-js answer INTERNAL, a server error, for what is the client's). Bytes that
 * decode but break a wire rule the decoded form hides (a Timestamp's nanos out of range, an
 * unknown enum value) are remembered, and answered INVALID_ARGUMENT naming the field.
 */
export function decodeGuarded<S extends ServiceDefinition>(definition: S): S {
  const guarded: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition) as [
    string,
    MethodDefinition<unknown, unknown>,
  ][]) {
    const wireCheck = wireCheckOf(method.path);
    guarded[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        let request: unknown;
        try {
          request = method.requestDeserialize(bytes);
        } catch (error) {
          return new MalformedRequest(error instanceof Error ? error.message : String(error));
        }
        const violation = wireCheck?.(bytes);
        if (violation !== undefined && typeof request === "object" && request !== null) {
          wireViolations.set(request, violation);
        }
        return request;
      },
    };
  }
  return guarded as S;
}

/**
 * The refusal of a request that is malformed or breaks a wire rule. A forwarded call's wire rules
 * were checked by the replica that forwarded it (its re-encoding of a Date before 1970 carries
 * negative nanos, which protobuf's own Timestamp would not).
 */
function rejected(method: string, request: unknown, metadata: Metadata): Error | undefined {
  if (request instanceof MalformedRequest) {
    return statusError(
      GrpcCode.INVALID_ARGUMENT,
      `the request is not a valid ${method}Request message: ${request.reason}`,
    );
  }
  if (typeof request !== "object" || request === null) return undefined;
  const violation = wireViolations.get(request);
  if (violation === undefined || metadata.get(FORWARDED_BY).length > 0) return undefined;
  return invalidArgumentStatus(violation.field, violation.description);
}

export class CallGuard {
  private inFlight = 0;
  private readonly active = new Set<AbortController>();
  private draining = false;
  /** "<method> <code>" -> calls answered. */
  readonly answered = new Map<string, number>();

  constructor(private readonly options: CallGuardOptions) {}

  get callsInFlight(): number {
    return this.inFlight;
  }

  /** Refuses new calls and aborts the running ones (long-polls return, watches end). */
  drain(): void {
    this.draining = true;
    for (const controller of this.active) {
      controller.abort(
        retryableStatus(GrpcCode.UNAVAILABLE, "the scheduler is shutting down", 200),
      );
    }
  }

  private admit(call: ServerSurfaceCall): Admitted {
    if (this.draining) {
      throw retryableStatus(GrpcCode.UNAVAILABLE, "the scheduler is shutting down", 200);
    }
    let client: string;
    try {
      client = this.options.authenticator.authenticate(call.metadata, call.getAuthContext());
    } catch (error) {
      if (error instanceof AuthenticationError) {
        throw statusError(GrpcCode.UNAUTHENTICATED, error.message);
      }
      throw error;
    }
    // Refused before any work: nothing was written, the call is safe to resend.
    const down = this.options.store?.unavailable();
    if (down !== undefined) throw down;
    const waitMs = this.options.rateLimiter.take(client);
    if (waitMs > 0) {
      throw retryableStatus(
        GrpcCode.RESOURCE_EXHAUSTED,
        `rate limit of client ${client} exceeded; retry after ${Math.ceil(waitMs)} ms`,
        waitMs,
      );
    }
    if (this.inFlight >= this.options.maxInFlight) {
      throw retryableStatus(
        GrpcCode.RESOURCE_EXHAUSTED,
        `the scheduler is handling ${this.inFlight} calls, its limit; retry shortly`,
        100,
      );
    }
    this.inFlight += 1;
    const controller = new AbortController();
    this.active.add(controller);
    const deadlineMs = deadlineOf(call);
    const onCancel = (): void => {
      controller.abort(statusError(GrpcCode.CANCELLED, "the call was cancelled"));
    };
    const onDeadline = (): void => {
      controller.abort(statusError(GrpcCode.DEADLINE_EXCEEDED, "the call's deadline passed"));
    };
    call.on("cancelled", onCancel);
    // A client that gave up before the handler started: its "cancelled" event has already fired.
    if (call.cancelled) onCancel();
    const timer = Number.isFinite(deadlineMs)
      ? setTimeout(onDeadline, Math.max(0, deadlineMs - Date.now()))
      : undefined;
    return {
      context: { client, deadlineMs, signal: controller.signal, metadata: call.metadata },
      abort: (reason) => {
        controller.abort(reason);
      },
      release: () => {
        clearTimeout(timer);
        call.removeListener("cancelled", onCancel);
        this.active.delete(controller);
        this.inFlight -= 1;
      },
    };
  }

  /**
   * The handler's outcome, unless the store becomes unreachable while the call waits (or is
   * suspect when the call's deadline is near): then the call is aborted (long-polls and watches
   * stop) and answered with the store's error (UNAVAILABLE) at once, whatever the handler does
   * later. A write answered so may still be applied when the store comes back: resending it with
   * the same idempotency key or request id is safe (docs/API.md).
   */
  private bounded<T>(work: Promise<T>, admitted: Admitted): Promise<T> {
    const store = this.options.store;
    if (store === undefined) return work;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const giveUp = (error: Error): void => {
        if (settled) return;
        settled = true;
        unsubscribe();
        clearTimeout(timer);
        admitted.abort(error);
        reject(error);
      };
      const unsubscribe = store.onChange((reachable) => {
        if (!reachable)
          giveUp(store.unavailable() ?? new RedisUnavailableError("Redis became unreachable"));
      });
      const budgetMs = admitted.context.deadlineMs - Date.now();
      if (Number.isFinite(budgetMs)) {
        const margin = Math.min(DEADLINE_MARGIN_MS, Math.max(0, budgetMs / 5));
        timer = setTimeout(
          () => {
            if (store.suspect()) {
              giveUp(
                store.unavailable() ??
                  new RedisUnavailableError(
                    "Redis has not answered in time for the call's deadline; retry later",
                  ),
              );
            }
          },
          Math.max(0, budgetMs - margin),
        );
      }
      work.then(
        (value) => {
          if (settled) return;
          settled = true;
          unsubscribe();
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          unsubscribe();
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  private count(method: string, code: number): void {
    const key = `${method} ${code}`;
    this.answered.set(key, (this.answered.get(key) ?? 0) + 1);
  }

  private failed(method: string, error: unknown): ReturnType<typeof toServiceError> {
    const status = toServiceError(error);
    this.count(method, status.code);
    if (status.code === GrpcCode.INTERNAL && !isServiceError(error)) {
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      this.options.log(`${method}: internal error: ${detail}`);
    }
    return status;
  }

  unary<Req, Res>(
    method: string,
    handler: (request: Req, context: CallContext) => Promise<Res>,
  ): handleUnaryCall<Req, Res> {
    return (call, callback) => {
      let admitted: ReturnType<CallGuard["admit"]>;
      try {
        admitted = this.admit(call);
      } catch (error) {
        callback(this.failed(method, error));
        return;
      }
      const bad = rejected(method, call.request, call.metadata);
      if (bad !== undefined) {
        admitted.release();
        callback(this.failed(method, bad));
        return;
      }
      // A handler that throws before its first await fails the call like one that rejects.
      this.bounded(
        new Promise<Res>((resolve) => {
          resolve(handler(call.request, admitted.context));
        }),
        admitted,
      ).then(
        (response) => {
          admitted.release();
          this.count(method, GrpcCode.OK);
          callback(null, response);
        },
        (error: unknown) => {
          admitted.release();
          callback(this.failed(method, error));
        },
      );
    };
  }

  serverStream<Req, Res>(
    method: string,
    handler: (
      request: Req,
      context: CallContext,
      call: ServerWritableStream<Req, Res>,
    ) => Promise<void>,
  ): handleServerStreamingCall<Req, Res> {
    return (call) => {
      let admitted: ReturnType<CallGuard["admit"]>;
      try {
        admitted = this.admit(call);
      } catch (error) {
        call.emit("error", this.failed(method, error));
        return;
      }
      const bad = rejected(method, call.request, call.metadata);
      if (bad !== undefined) {
        admitted.release();
        call.emit("error", this.failed(method, bad));
        return;
      }
      // A handler that throws before its first await fails the call like one that rejects.
      this.bounded(
        new Promise<void>((resolve) => {
          resolve(handler(call.request, admitted.context, call));
        }),
        admitted,
      ).then(
        () => {
          admitted.release();
          this.count(method, GrpcCode.OK);
          call.end();
        },
        (error: unknown) => {
          admitted.release();
          call.emit("error", this.failed(method, error));
        },
      );
    };
  }
}
