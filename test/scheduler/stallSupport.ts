/**
 * Helpers of the Redis stall test (redisStall.test.ts): a consumer that leases and acks through
 * the gRPC API and keeps count of what it got, and the outcome of a call (gRPC code, time taken,
 * RetryInfo).
 */
import { Metadata, status as GrpcCode, type ServiceError } from "@grpc/grpc-js";
import type { DdqClient } from "../../client/ddqClient.js";
import { readStatusDetails } from "../../scheduler/api/grpcStatus.js";

export interface CallOutcome {
  code: number;
  elapsedMs: number;
  retryAfterMs?: number;
  message: string;
}

const OK: number = GrpcCode.OK;
const FAILED_PRECONDITION: number = GrpcCode.FAILED_PRECONDITION;
const UNKNOWN: number = GrpcCode.UNKNOWN;

function isServiceError(
  error: unknown,
): error is Omit<ServiceError, "metadata"> & { metadata?: unknown } {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number";
}

/** How a call ended: OK or its status, and how long it took. */
export async function outcomeOf(call: () => Promise<unknown>): Promise<CallOutcome> {
  const started = Date.now();
  try {
    await call();
    return { code: GrpcCode.OK, elapsedMs: Date.now() - started, message: "" };
  } catch (error) {
    const elapsedMs = Date.now() - started;
    if (!isServiceError(error))
      return { code: GrpcCode.UNKNOWN, elapsedMs, message: String(error) };
    // (an ack item's code is thrown without metadata)
    const { retryAfterMs } =
      error.metadata instanceof Metadata
        ? readStatusDetails({ metadata: error.metadata })
        : { retryAfterMs: undefined };
    return {
      code: error.code,
      elapsedMs,
      message: error.details,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  }
}

/** Slot (ms) of a cron occurrence id "<schedule id>:<slot>-<shard>", with its schedule id. */
export function occurrenceSlot(id: string): { scheduleId: string; slotMs: number } | undefined {
  const match = /^(.+):(\d+)-\d+$/.exec(id);
  if (match === null) return undefined;
  return { scheduleId: match[1] ?? "", slotMs: Number(match[2]) };
}

export interface Consumer {
  /** Task id -> deliveries received. */
  readonly deliveries: Map<string, number>;
  /** Tasks whose ack was answered OK. */
  readonly acked: Set<string>;
  /** Tasks delivered again after their ack was answered OK (true duplicates). */
  readonly duplicates: string[];
  /** gRPC code -> calls that ended with it (lease and ack). */
  readonly errors: Map<number, number>;
  stop(): Promise<void>;
}

/**
 * Leases (1 s long-polls, 3 s leases) and acks every task of `topics` until stopped, resending an
 * ack whose answer was not OK until it is (a resent ack is safe). Errors are counted, not thrown.
 */
export function startConsumer(client: DdqClient, topics: string[]): Consumer {
  const deliveries = new Map<string, number>();
  const acked = new Set<string>();
  const duplicates: string[] = [];
  const errors = new Map<number, number>();
  const count = (code: number): void => {
    errors.set(code, (errors.get(code) ?? 0) + 1);
  };
  const state = { running: true };
  const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const ack = async (task: { id: string; topic: string; leaseToken: string }): Promise<void> => {
    while (state.running) {
      const answer = await outcomeOf(async () => {
        const { results } = await client.ack([{ ...task, result: Buffer.alloc(0) }]);
        const code: number = results[0]?.code ?? UNKNOWN;
        // A stale lease (it expired meanwhile): the task comes back, not a failure of the ack.
        if (code === FAILED_PRECONDITION) return;
        if (code !== OK) throw Object.assign(new Error("ack item"), { code });
        acked.add(task.id);
      });
      if (answer.code === OK) return;
      count(answer.code);
      await pause(200);
    }
  };
  const loop = (async () => {
    while (state.running) {
      let tasks: { id: string; topic: string; leaseToken: string }[] = [];
      const answer = await outcomeOf(async () => {
        ({ tasks } = await client.lease({
          topics,
          max: 100,
          wait: { seconds: 1, nanos: 0 },
          leaseTimeout: { seconds: 3, nanos: 0 },
        }));
      });
      if (answer.code !== OK) {
        count(answer.code);
        await pause(200);
        continue;
      }
      for (const task of tasks) {
        if (acked.has(task.id)) duplicates.push(task.id);
        deliveries.set(task.id, (deliveries.get(task.id) ?? 0) + 1);
      }
      await Promise.all(tasks.map((task) => ack(task)));
    }
  })();
  return {
    deliveries,
    acked,
    duplicates,
    errors,
    stop: async () => {
      state.running = false;
      await loop;
    },
  };
}
