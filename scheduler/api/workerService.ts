/** WorkerService handlers (proto/ddq/v1/worker_service.proto): lease, heartbeat, ack, fail. */
import { status as GrpcCode } from "@grpc/grpc-js";
import {
  FailResponse_Outcome,
  type AckRequest,
  type AckResponse,
  type ExtendRequest,
  type ExtendResponse,
  type FailRequest,
  type FailResponse,
  type LeaseRequest,
  type LeaseResponse,
  type WorkerServiceServer,
} from "../../proto/gen/ddq/v1/worker_service.js";
import { invalidArgument, isDdqError } from "../engine/errors.js";
import type { LeaseRequest as EngineLeaseRequest, Scheduler } from "../scheduler.js";
import type { CallGuard } from "./callGuard.js";
import { toServiceError } from "./grpcStatus.js";
import { durationMs } from "./protoTime.js";
import { leasedTaskToPb } from "./taskMessages.js";

/** A long-poll answers this long before the call's deadline, so the answer still arrives. */
const DEADLINE_MARGIN_MS = 250;
/** The longest long-poll wait accepted. */
const MAX_WAIT_MS = 60_000;

export function workerServiceHandlers(scheduler: Scheduler, guard: CallGuard): WorkerServiceServer {
  return {
    lease: guard.unary<LeaseRequest, LeaseResponse>("Lease", async (request, context) => {
      const waitMs = durationMs(request.wait, "wait") ?? 0;
      if (waitMs > MAX_WAIT_MS) {
        throw invalidArgument("wait", `must be at most ${MAX_WAIT_MS / 1000}s, got ${waitMs} ms`);
      }
      const engineRequest: EngineLeaseRequest = {
        topics: request.topics,
        max: request.max,
        waitMs: Math.max(0, Math.min(waitMs, context.deadlineMs - Date.now() - DEADLINE_MARGIN_MS)),
        signal: context.signal,
      };
      const leaseTimeoutMs = durationMs(request.leaseTimeout, "lease_timeout");
      if (leaseTimeoutMs !== undefined) engineRequest.leaseTimeoutMs = leaseTimeoutMs;
      if (request.requestId !== "") engineRequest.requestId = request.requestId;
      const tasks = await scheduler.lease(engineRequest);
      return { tasks: tasks.map(leasedTaskToPb) };
    }),
    extend: guard.unary<ExtendRequest, ExtendResponse>("Extend", async (request) => {
      const extendMs = durationMs(request.extendBy, "extend_by");
      if (extendMs === undefined) throw invalidArgument("extend_by", "is required");
      const result = await scheduler.extend(
        request.id,
        request.topic,
        request.leaseToken,
        extendMs,
      );
      return {
        leaseExpireTime: new Date(result.leaseExpiresAtMs),
        cancelRequested: result.cancelRequested,
      };
    }),
    ack: guard.unary<AckRequest, AckResponse>("Ack", async (request) => {
      if (request.items.length === 0) throw invalidArgument("items", "must not be empty");
      if (request.items.length > scheduler.limits.maxBatchSize) {
        throw invalidArgument("items", `at most ${scheduler.limits.maxBatchSize} per call`);
      }
      const answers = await scheduler
        .ackMany(
          request.items.map((item) => ({
            id: item.id,
            topic: item.topic,
            leaseToken: item.leaseToken,
            ...(item.result.length > 0 ? { result: item.result } : {}),
          })),
        )
        .catch((error: unknown) => {
          // ackMany names a lone item's fields `id` / `result`: on the wire it is items[0].
          if (isDdqError(error, "INVALID_ARGUMENT") && error.field?.startsWith("items[") === false)
            throw invalidArgument(`items[0].${error.field}`, error.message.replace(/^\S+: /, ""));
          throw error;
        });
      return {
        // ackMany's answer array has holes for successes: Array.from visits every index.
        results: Array.from(answers, (answer) => {
          if (answer === undefined) return { code: GrpcCode.OK, message: "" };
          const status = toServiceError(answer);
          return { code: status.code, message: status.details };
        }),
      };
    }),
    fail: guard.unary<FailRequest, FailResponse>("Fail", async (request) => {
      const outcome = await scheduler.fail(
        request.id,
        request.topic,
        request.leaseToken,
        request.error,
        request.retryable ?? true,
      );

      if (outcome.outcome === "retrying") {
        return {
          outcome: FailResponse_Outcome.OUTCOME_RETRYING,
          retryTime: new Date(outcome.retryAtMs),
        };
      }
      return {
        outcome:
          outcome.outcome === "dead"
            ? FailResponse_Outcome.OUTCOME_DEAD
            : FailResponse_Outcome.OUTCOME_CANCELLED,
      };
    }),
  };
}
