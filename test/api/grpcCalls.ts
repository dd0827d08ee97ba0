/**
 * Helpers of the API tests that speak gRPC below the typed client: status assertions (code,
 * BadRequest field, RetryInfo), raw calls on a method path with identity serializers, and the
 * list of every RPC of the three services.
 */
import {
  Client,
  credentials,
  Metadata,
  status as GrpcCode,
  type ChannelCredentials,
  type ServiceDefinition,
  type ServiceError,
  type StatusObject,
} from "@grpc/grpc-js";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { expect } from "vitest";
import { CronServiceService } from "../../proto/gen/ddq/v1/cron_service.js";
import { TaskServiceService } from "../../proto/gen/ddq/v1/task_service.js";
import { WorkerServiceService } from "../../proto/gen/ddq/v1/worker_service.js";
import { readStatusDetails } from "../../scheduler/api/grpcStatus.js";

export { GrpcCode };

/** A gRPC error with what its details carry. */
export interface CallError {
  code: number;
  message: string;
  /** BadRequest field violations (every error that concerns a field, whatever its code). */
  fields: string[];
  /** Their reasons (the status code's name). */
  reasons: string[];
  /** The `ddq-field` trailer of other errors (e.g. lease_token of a stale lease). */
  ddqField: string | undefined;
  /** RetryInfo's delay. */
  retryAfterMs: number | undefined;
}

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number";
}

export function callError(error: unknown): CallError {
  if (!isServiceError(error)) throw error;
  const metadata = error.metadata instanceof Metadata ? error.metadata : new Metadata();
  const details = readStatusDetails({ metadata });
  const [field] = metadata.get("ddq-field");
  return {
    code: error.code,
    message: error.details,
    fields: details.fieldViolations.map((v) => v.field),
    reasons: details.fieldViolations.map((v) => v.reason),
    ddqField: typeof field === "string" ? field : undefined,
    retryAfterMs: details.retryAfterMs,
  };
}

/** The error a call fails with (the test fails if the call succeeds). */
export async function failure(call: Promise<unknown>): Promise<CallError> {
  let response: unknown;
  try {
    response = await call;
  } catch (error) {
    return callError(error);
  }
  throw new Error(`expected the call to fail, it answered ${JSON.stringify(response)}`);
}

/**
 * Asserts the call fails with `code` and, with `field`, exactly one BadRequest violation of it
 * (plus, for codes other than INVALID_ARGUMENT, the `ddq-field` trailer).
 */
export async function expectStatus(
  call: Promise<unknown>,
  code: GrpcCode,
  field?: string,
): Promise<CallError> {
  const error = await failure(call);
  expect({ code: GrpcCode[error.code], message: error.message }).toMatchObject({
    code: GrpcCode[code],
  });
  if (code === GrpcCode.INVALID_ARGUMENT) {
    expect(error.fields).toEqual(field === undefined ? expect.any(Array) : [field]);
  } else if (field !== undefined) {
    // The same BadRequest as INVALID_ARGUMENT, and the older `ddq-field` trailer.
    expect({ fields: error.fields, reasons: error.reasons, ddqField: error.ddqField }).toEqual({
      fields: [field],
      reasons: [GrpcCode[code]],
      ddqField: field,
    });
  }
  return error;
}

/** One RPC of the API: its path and whether the server streams the answer. */
export interface RpcMethod {
  service: string;
  name: string;
  path: string;
  serverStream: boolean;
  /** The generated message codec of the request. */
  encode(value: unknown): Buffer;
}

function methodsOf(service: string, definition: ServiceDefinition): RpcMethod[] {
  return Object.entries(definition).map(([name, method]) => ({
    service,
    name,
    path: method.path,
    serverStream: method.responseStream,
    encode: (value: unknown) => method.requestSerialize(value),
  }));
}

export const ALL_METHODS: readonly RpcMethod[] = [
  ...methodsOf("TaskService", TaskServiceService),
  ...methodsOf("CronService", CronServiceService),
  ...methodsOf("WorkerService", WorkerServiceService),
];

const identity = (value: Buffer): Buffer => value;

export interface RawAnswer {
  code: GrpcCode;
  details: string;
  /** Trailers (status details). */
  metadata: Metadata;
  /** Response messages (one for unary OK, any number for a stream). */
  messages: number;
}

/** A grpc-js client that sends bytes as they are to any method path. */
export class RawClient {
  readonly client: Client;

  constructor(address: string, channel: ChannelCredentials = credentials.createInsecure()) {
    this.client = new Client(address, channel, {
      "grpc.max_send_message_length": 64 * 1024 * 1024,
      "grpc.max_receive_message_length": 64 * 1024 * 1024,
    });
  }

  /**
   * Calls `path` with `body`; a stream is read for at most `streamMs` then cancelled (its answer
   * then is the status the server sent before, or CANCELLED by us with messages counted).
   */
  call(
    method: Pick<RpcMethod, "path" | "serverStream">,
    body: Buffer,
    options: { metadata?: Metadata; deadlineMs?: number; streamMs?: number } = {},
  ): Promise<RawAnswer> {
    const metadata = options.metadata ?? new Metadata();
    const deadline = Date.now() + (options.deadlineMs ?? 10_000);
    return new Promise<RawAnswer>((resolve) => {
      if (!method.serverStream) {
        this.client.makeUnaryRequest(
          method.path,
          identity,
          identity,
          body,
          metadata,
          { deadline },
          (error, response) => {
            if (error === null)
              resolve({ code: GrpcCode.OK, details: "", metadata: new Metadata(), messages: 1 });
            else
              resolve({
                code: error.code,
                details: error.details,
                metadata: error.metadata,
                messages: response === undefined ? 0 : 1,
              });
          },
        );
        return;
      }
      const stream = this.client.makeServerStreamRequest(
        method.path,
        identity,
        identity,
        body,
        metadata,
        { deadline },
      );
      let messages = 0;
      let cancelledByUs = false;
      stream.on("data", () => {
        messages += 1;
      });
      stream.on("error", () => undefined);
      stream.on("status", (status: StatusObject) => {
        clearTimeout(timer);
        resolve({
          code: cancelledByUs && status.code === GrpcCode.CANCELLED ? GrpcCode.OK : status.code,
          details: status.details,
          metadata: status.metadata,
          messages,
        });
      });
      const timer = setTimeout(() => {
        cancelledByUs = true;
        stream.cancel();
      }, options.streamMs ?? 200);
    });
  }

  close(): void {
    this.client.close();
  }
}

/** The answer of a raw call as an error (the test fails if it succeeded). */
export function rawError(answer: RawAnswer): CallError {
  if (answer.code === GrpcCode.OK) throw new Error("expected the raw call to fail, it answered OK");
  return callError(
    Object.assign(new Error(answer.details), {
      code: answer.code,
      details: answer.details,
      metadata: answer.metadata,
    }),
  );
}

/** A length-delimited field (a nested message or bytes) in protobuf wire format. */
export function lengthDelimited(field: number, bytes: Uint8Array): Buffer {
  return Buffer.from(
    new BinaryWriter()
      .uint32((field << 3) | 2)
      .bytes(bytes)
      .finish(),
  );
}

/** A google.protobuf.Timestamp/Duration-shaped message with any seconds and nanos. */
export function secondsNanos(seconds: bigint, nanos = 0): Buffer {
  return Buffer.from(new BinaryWriter().uint32(8).int64(seconds).uint32(16).int32(nanos).finish());
}

/** Codes a server may answer to a request it refuses because of the request. */
export const CLIENT_ERROR_CODES: ReadonlySet<number> = new Set([
  GrpcCode.INVALID_ARGUMENT,
  GrpcCode.NOT_FOUND,
  GrpcCode.ALREADY_EXISTS,
  GrpcCode.FAILED_PRECONDITION,
  GrpcCode.OUT_OF_RANGE,
  GrpcCode.RESOURCE_EXHAUSTED,
]);
