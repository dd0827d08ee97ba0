/**
 * The worker runtime: leases tasks of some topics in batches, runs a handler on each up to a
 * concurrency limit, heartbeats before leases expire, acks (batched) or fails, retries lost
 * connections with backoff, and drains on stop: running tasks finish within the grace period;
 * those that cannot are handed back (their lease is shortened so they are redelivered at once).
 */
import { randomBytes } from "node:crypto";
import { status as GrpcCode } from "@grpc/grpc-js";
import type { LeasedTask } from "../proto/gen/ddq/v1/task.js";
import { DdqClient, type ClientOptions } from "../client/ddqClient.js";
import { isServiceError } from "../scheduler/api/grpcStatus.js";
import { toDuration } from "../scheduler/api/protoTime.js";
import { DEFAULT_LIMITS } from "../scheduler/engine/model.js";
import { AckBatcher } from "./ackBatcher.js";

/** Thrown by a handler: the task fails without retry (dead-lettered). */
export class PermanentError extends Error {
  override readonly name = "PermanentError";
}

export interface TaskContext {
  /** Aborted when the task was cancelled, its lease was lost, or the worker is shutting down. */
  signal: AbortSignal;
  /** 1 on the first delivery. */
  attempt: number;
}

/** Returns the result to keep with the task (optional); throws to fail the attempt. */
export type TaskHandler = (
  task: LeasedTask,
  context: TaskContext,
) => Promise<Uint8Array | undefined>;

export interface WorkerOptions extends ClientOptions {
  /** 1..256 topics (the server's limit per lease). */
  topics: string[];
  handler: TaskHandler;
  /** Handlers running at once. Default 16. */
  concurrency?: number;
  /** Lease timeout asked for (default: each task's own). */
  leaseTimeoutMs?: number;
  /** Long-poll wait per lease call. Default 20 s. */
  pollWaitMs?: number;
  log?: (message: string) => void;
}

export interface WorkerStats {
  leased: number;
  succeeded: number;
  failed: number;
  returned: number;
  lost: number;
}

interface Running {
  task: LeasedTask;
  controller: AbortController;
  heartbeat: NodeJS.Timeout | undefined;
  leaseExpiresAtMs: number;
  done: Promise<void>;
}

export class Worker {
  readonly client: DdqClient;
  readonly stats: WorkerStats = { leased: 0, succeeded: 0, failed: 0, returned: 0, lost: 0 };
  private readonly concurrency: number;
  private readonly log: (message: string) => void;
  private readonly running = new Map<string, Running>();
  private readonly acks: AckBatcher;
  private readonly stopController = new AbortController();
  private loop: Promise<void> | undefined;
  private slotFreed: (() => void) | undefined;

  constructor(private readonly options: WorkerOptions) {
    if (options.topics.length === 0) throw new Error("a worker needs at least one topic");
    // Each lease names every topic: the server refuses more than its limit (INVALID_ARGUMENT).
    if (options.topics.length > DEFAULT_LIMITS.maxLeaseTopics) {
      throw new Error(
        `a worker may lease at most ${DEFAULT_LIMITS.maxLeaseTopics} topics, got ${options.topics.length}`,
      );
    }
    this.client = new DdqClient(options);
    this.concurrency = options.concurrency ?? 16;
    if (!Number.isSafeInteger(this.concurrency) || this.concurrency < 1)
      throw new Error(`concurrency must be a positive integer, got ${this.concurrency}`);
    this.log = options.log ?? (() => undefined);
    this.acks = new AckBatcher(this.client);
  }

  /** Starts leasing. */
  start(): this {
    this.loop ??= this.leaseLoop();
    return this;
  }

  private get stopping(): boolean {
    return this.stopController.signal.aborted;
  }

  get active(): number {
    return this.running.size;
  }

  private async leaseLoop(): Promise<void> {
    let backoffMs = 100;
    const signal = this.stopController.signal;
    // Kept until a lease call answers: a retry after a lost answer is a resend, and the scheduler
    // hands back the tasks it already leased for it instead of leaving them leased to nobody.
    let requestId = randomBytes(12).toString("hex");
    while (!signal.aborted) {
      const free = this.concurrency - this.running.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      try {
        const waitMs = this.options.pollWaitMs ?? 20_000;
        const response = await this.client.lease(
          {
            topics: this.options.topics,
            max: free,
            wait: toDuration(waitMs),
            requestId,
            ...(this.options.leaseTimeoutMs === undefined
              ? {}
              : { leaseTimeout: toDuration(this.options.leaseTimeoutMs) }),
          },
          signal,
        );
        backoffMs = 100;
        requestId = randomBytes(12).toString("hex");
        for (const task of response.tasks) this.run(task);
      } catch (error) {
        if (this.stopping) break;
        const code = isServiceError(error) ? error.code : undefined;
        if (code === GrpcCode.UNAUTHENTICATED || code === GrpcCode.INVALID_ARGUMENT) {
          this.log(`lease refused, worker stops: ${(error as Error).message}`);
          throw error;
        }
        this.log(`lease failed (${(error as Error).message}); retrying in ${backoffMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, backoffMs * (0.5 + Math.random() / 2)));
        backoffMs = Math.min(backoffMs * 2, 5_000);
      }
    }
  }

  private run(task: LeasedTask): void {
    this.stats.leased += 1;
    const controller = new AbortController();
    const entry: Running = {
      task,
      controller,
      heartbeat: undefined,
      leaseExpiresAtMs: task.leaseExpireTime?.getTime() ?? Date.now(),
      done: Promise.resolve(),
    };
    this.running.set(task.leaseToken, entry);
    this.scheduleHeartbeat(entry);
    entry.done = this.execute(entry).finally(() => {
      clearTimeout(entry.heartbeat);
      this.running.delete(task.leaseToken);
      const wake = this.slotFreed;
      this.slotFreed = undefined;
      wake?.();
    });
  }

  private async execute(entry: Running): Promise<void> {
    const { task, controller } = entry;
    let result: Uint8Array | undefined;
    try {
      result = await this.options.handler(task, {
        signal: controller.signal,
        attempt: task.attempt,
      });
    } catch (error) {
      if (controller.signal.aborted && this.stopController.signal.aborted) return; // handed back
      if (controller.signal.reason === "lease lost") return;
      const message = error instanceof Error ? error.message : String(error);
      try {
        await this.client.fail(
          task.id,
          task.topic,
          task.leaseToken,
          message,
          !(error instanceof PermanentError),
        );
        this.stats.failed += 1;
      } catch (failError) {
        this.stats.lost += 1;
        this.log(
          `fail of ${task.id} not recorded (${(failError as Error).message}); its lease will expire`,
        );
      }
      return;
    }
    if (controller.signal.reason === "lease lost") return;
    try {
      await this.acks.ack({
        id: task.id,
        topic: task.topic,
        leaseToken: task.leaseToken,
        result: Buffer.from(result ?? new Uint8Array()),
      });
      this.stats.succeeded += 1;
    } catch (error) {
      this.stats.lost += 1;
      this.log(
        `ack of ${task.id} not recorded (${(error as Error).message}); it will be redelivered`,
      );
    }
  }

  /** Extends at half the remaining lease, so one missed heartbeat still leaves time. */
  private scheduleHeartbeat(entry: Running): void {
    const leaseMs = Math.max(200, entry.leaseExpiresAtMs - Date.now());
    entry.heartbeat = setTimeout(() => {
      void this.heartbeat(entry, leaseMs);
    }, leaseMs / 2);
    entry.heartbeat.unref();
  }

  private async heartbeat(entry: Running, leaseMs: number): Promise<void> {
    const { task } = entry;
    try {
      const answer = await this.client.extend(
        task.id,
        task.topic,
        task.leaseToken,
        Math.max(leaseMs, 1000),
      );
      entry.leaseExpiresAtMs = answer.leaseExpireTime?.getTime() ?? Date.now() + leaseMs;
      if (answer.cancelRequested) entry.controller.abort("cancel requested");
    } catch (error) {
      if (
        isServiceError(error) &&
        (error.code === GrpcCode.FAILED_PRECONDITION || error.code === GrpcCode.NOT_FOUND)
      ) {
        this.log(`lease of ${task.id} lost: ${error.message}`);
        entry.controller.abort("lease lost");
        return;
      }
      this.log(`heartbeat of ${task.id} failed (${(error as Error).message}); retrying`);
    }
    if (this.running.has(task.leaseToken)) this.scheduleHeartbeat(entry);
  }

  /**
   * Drains: no new leases; running handlers get `graceMs` to finish (acked as usual); the rest
   * are aborted and handed back (lease shortened to expire at once, so another worker gets them).
   */
  async stop(graceMs = 20_000): Promise<void> {
    this.stopController.abort();
    this.slotFreed?.();
    await this.loop?.catch(() => undefined);
    const all = (): Promise<unknown> => Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all().then(() => false),
      new Promise<boolean>(
        (resolve) =>
          (timer = setTimeout(() => {
            resolve(true);
          }, graceMs)),
      ),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      await Promise.all(
        [...this.running.values()].map(async ({ task, controller }) => {
          controller.abort("shutting down");
          try {
            await this.client.extend(task.id, task.topic, task.leaseToken, 100);
            this.stats.returned += 1;
          } catch (error) {
            this.log(
              `could not hand back ${task.id} (${(error as Error).message}); its lease will expire`,
            );
          }
        }),
      );
      await all();
    }
    await this.acks.flush();
    this.client.close();
  }
}
