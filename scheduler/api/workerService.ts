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
  WorkerServiceService,
  type AckResult,
  type WorkerServiceServer,
} from "../../proto/gen/ddq/v1/worker_service.js";
import type { LeasedTask as PbLeasedTask } from "../../proto/gen/ddq/v1/task.js";
import { invalidArgument } from "../engine/errors.js";
import type { LeaseRequest as EngineLeaseRequest, Scheduler } from "../scheduler.js";
import type { CallContext, CallGuard } from "./callGuard.js";
import { PeerRouter } from "./peerRouter.js";
import { statusProto, toServiceError } from "./grpcStatus.js";
import { durationMs } from "./protoTime.js";
import {
  checkLeaseToken,
  checkMaxLength,
  checkTaskTopic,
  MAX_REQUEST_ID_LENGTH,
} from "./requestFields.js";
import { leasedTaskToPb } from "./taskMessages.js";

/** A long-poll answers this long before the call's deadline, so the answer still arrives. */
const DEADLINE_MARGIN_MS = 250;
/** The longest long-poll wait accepted. */
const MAX_WAIT_MS = 60_000;

/** How long a peer may take to answer a non-waiting lease before it is skipped this round. */
const PEER_LEASE_TIMEOUT_MS = 2_000;
/** With peers, a long-poll waits locally at most this long before asking them again. */
const PEER_POLL_MS = 1_000;

export function workerServiceHandlers(
  scheduler: Scheduler,
  guard: CallGuard,
  router: PeerRouter,
): WorkerServiceServer {
  /**
   * Leases from this replica's shards and, when it has fewer than asked, from the other
   * leaders' (never waiting there); with nothing anywhere it long-polls locally, asking the
   * peers again every PEER_POLL_MS, until the wait is over. Once the call is aborted (deadline,
   * cancellation, shutdown) no peer is asked and no local round starts.
   */
  const leaseEverywhere = async (
    request: LeaseRequest,
    context: CallContext,
    engineRequest: EngineLeaseRequest,
  ): Promise<PbLeasedTask[]> => {
    const local = (waitMs: number): Promise<PbLeasedTask[]> =>
      scheduler.lease({ ...engineRequest, waitMs }).then((tasks) => tasks.map(leasedTaskToPb));
    if (PeerRouter.isForwarded(context)) return local(0);
    // A function: TypeScript would keep a narrowing of `aborted` across the awaits.
    const aborted = (): boolean => context.signal.aborted;
    const until = Date.now() + (engineRequest.waitMs ?? 0);
    for (;;) {
      const tasks = await local(0);
      const peers = tasks.length < request.max && !aborted() ? await scheduler.peerAddresses() : [];
      for (const address of peers) {
        if (tasks.length >= request.max || aborted()) break;
        // The peer gets what remains of the caller's deadline, at most PEER_LEASE_TIMEOUT_MS.
        const peerContext: CallContext = {
          ...context,
          deadlineMs: Math.min(context.deadlineMs, Date.now() + PEER_LEASE_TIMEOUT_MS),
        };
        const peerRequest: LeaseRequest = {
          ...request,
          max: request.max - tasks.length,
          wait: { seconds: 0, nanos: 0 },
          requestId: request.requestId === "" ? "" : `${request.requestId}.${address}`,
        };
        try {
          const answer = await router.forwardTo(
            address,
            WorkerServiceService.lease,
            peerRequest,
            peerContext,
          );
          tasks.push(...answer.tasks);
        } catch {
          // A peer that is gone or slow is skipped; its shards get a new leader in time.
        }
      }
      const remaining = until - Date.now();
      if (tasks.length > 0 || remaining <= 0 || aborted()) return tasks;
      const waited = await local(peers.length > 0 ? Math.min(remaining, PEER_POLL_MS) : remaining);
      if (waited.length > 0 || peers.length === 0 || aborted()) return waited;
    }
  };

  /**
   * Acks grouped by where each task's shard is led: here, or forwarded to its leader in one call
   * per leader replica (not per shard), whatever number of shards it leads.
   */
  const ackEverywhere = async (request: AckRequest, context: CallContext): Promise<AckResult[]> => {
    const results = new Array<AckResult>(request.items.length);
    const local: number[] = [];
    const remote = new Map<number, number[]>();
    request.items.forEach((item, i) => {
      // Checked here, before the split, so errors name the caller's index.
      if (item.result.length > scheduler.limits.maxResultBytes) {
        throw invalidArgument(
          `items[${i}].result`,
          `is ${item.result.length} bytes, more than the limit of ${scheduler.limits.maxResultBytes}`,
        );
      }
      checkTaskTopic(`items[${i}].topic`, item.topic, scheduler.limits);
      checkLeaseToken(`items[${i}].lease_token`, item.leaseToken);
      const shard = scheduler.shardOfTask(item.id, `items[${i}].id`);
      if (scheduler.leads(shard) || PeerRouter.isForwarded(context)) local.push(i);
      else remote.set(shard, [...(remote.get(shard) ?? []), i]);
    });
    const fail = (indexes: readonly number[], error: unknown): void => {
      const result = ackResultOf(error);
      for (const i of indexes) results[i] = result;
    };
    const localAck = async (): Promise<void> => {
      if (local.length === 0) return;
      const answers = await scheduler.ackMany(
        local.map((i) => {
          const item = request.items[i];
          if (item === undefined) throw new Error("ack item vanished");
          return {
            id: item.id,
            topic: item.topic,
            leaseToken: item.leaseToken,
            ...(item.result.length > 0 ? { result: item.result } : {}),
          };
        }),
      );
      // ackMany's answer array has holes for successes: Array.from visits every index.
      Array.from(answers, (answer, j) => {
        const index = local[j] ?? 0;
        results[index] =
          answer === undefined ? { code: GrpcCode.OK, message: "" } : ackResultOf(answer);
        return undefined;
      });
    };
    // The remote items by their shard's leader address; a shard without one fails its items.
    const byLeader = new Map<string, number[]>();
    await Promise.all(
      [...remote.entries()].map(async ([shard, indexes]) => {
        try {
          const address = await router.addressOf(shard);
          byLeader.set(address, [...(byLeader.get(address) ?? []), ...indexes]);
        } catch (error) {
          fail(indexes, error);
        }
      }),
    );
    await Promise.all([
      localAck(),
      ...[...byLeader.entries()].map(async ([address, indexes]) => {
        const items = indexes.map((i) => request.items[i]).filter((x) => x !== undefined);
        try {
          const answer = await router.forwardTo(
            address,
            WorkerServiceService.ack,
            { items },
            context,
          );
          answer.results.forEach((r, j) => (results[indexes[j] ?? 0] = r));
        } catch (error) {
          fail(indexes, error);
        }
      }),
    ]);
    return results;
  };

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
      if (request.requestId !== "") {
        // A forwarded lease's id has the forwarding replica's suffix: its caller's was checked.
        if (!PeerRouter.isForwarded(context))
          checkMaxLength("request_id", request.requestId, MAX_REQUEST_ID_LENGTH);
        engineRequest.requestId = request.requestId;
      }
      return { tasks: await leaseEverywhere(request, context, engineRequest) };
    }),
    extend: guard.unary<ExtendRequest, ExtendResponse>("Extend", async (request, context) => {
      checkTaskTopic("topic", request.topic, scheduler.limits);
      checkLeaseToken("lease_token", request.leaseToken);
      const extendMs = durationMs(request.extendBy, "extend_by");
      if (extendMs === undefined) throw invalidArgument("extend_by", "is required");
      return router.singleShard(WorkerServiceService.extend, request, context, async () => {
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
      });
    }),
    ack: guard.unary<AckRequest, AckResponse>("Ack", async (request, context) => {
      if (request.items.length === 0) throw invalidArgument("items", "must not be empty");
      if (request.items.length > scheduler.limits.maxBatchSize) {
        throw invalidArgument("items", `at most ${scheduler.limits.maxBatchSize} per call`);
      }
      return { results: await ackEverywhere(request, context) };
    }),
    fail: guard.unary<FailRequest, FailResponse>("Fail", async (request, context) => {
      checkTaskTopic("topic", request.topic, scheduler.limits);
      checkLeaseToken("lease_token", request.leaseToken);
      return router.singleShard(WorkerServiceService.fail, request, context, async () => {
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
      });
    }),
  };
}

/** An Ack item's answer for its error: the code and message, and the status with its details. */
function ackResultOf(error: unknown): AckResult {
  const status = toServiceError(error);
  return { code: status.code, message: status.details, status: statusProto(status) };
}
