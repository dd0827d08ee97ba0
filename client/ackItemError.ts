/**
 * An Ack item's refusal as a ServiceError, so that a client reads it like a failed call's error.
 */
import { Metadata, status as GrpcCode, type ServiceError } from "@grpc/grpc-js";
import type { AckResult } from "../proto/gen/ddq/v1/worker_service.js";
import { Status } from "../proto/gen/google/rpc/status.js";
import { STATUS_DETAILS_KEY } from "../scheduler/api/grpcStatus.js";

/**
 * An Ack item's refusal as the ServiceError the item would have failed with alone (undefined when
 * it succeeded), so that `readStatusDetails` reads it like a call's: a BadRequest naming the
 * item's field at fault (relative to the AckItem, e.g. `lease_token`), RetryInfo.
 */
export function ackItemError(result: AckResult): ServiceError | undefined {
  if (result.code === (GrpcCode.OK as number)) return undefined;
  const status = result.status ?? { code: result.code, message: result.message, details: [] };
  const metadata = new Metadata();
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(Status.encode(status).finish()));
  return Object.assign(new Error(`${GrpcCode[result.code] ?? result.code}: ${result.message}`), {
    code: result.code,
    details: result.message,
    metadata,
  });
}
