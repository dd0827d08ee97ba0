import { Queue, Worker, type ConnectionOptions, type Job } from "bullmq";
import { withTimeout } from "../timeouts.js";
import { makePayload, type BenchPayload } from "../workload.js";
import {
  scheduleIndex,
  scheduleName,
  type CronAdapter,
  type CronAdapterFactory,
  type OccurrenceHandler,
} from "./cronAdapter.js";

export interface BullmqCronSettings {
  /** `every` of each job scheduler, ms. */
  everyMs: number;
  /** Worker `concurrency`. */
  concurrency: number;
}

const QUEUE = "cron";
/** Ids of jobs made by a job scheduler: "repeat:<scheduler id>:<nextMillis>" (updateJobScheduler.lua). */
const SCHEDULED_JOB_ID = /^repeat:(.+):(\d+)$/;
const MAX_LOGGED_ERRORS = 5;

/**
 * BullMQ job schedulers (`upsertJobScheduler` with `{ every }`) with library defaults, and one
 * Worker with a no-op processor. In BullMQ the Worker is also the scheduler: when it takes a
 * scheduler's job it adds that scheduler's next job (delayed until nextMillis) before running
 * the processor.
 *
 * Intended time of a job = the nextMillis its id carries. BullMQ adds the job with
 * `timestamp` = the time it was added and `opts.delay` = nextMillis - timestamp clamped at 0, so
 * timestamp + opts.delay equals nextMillis unless the job was added after its time; those jobs
 * are counted (`intendedTimeMismatches`).
 */
class BullmqCronAdapter implements CronAdapter {
  readonly name = "bullmq";
  private worker: Worker<BenchPayload, void> | undefined;
  private workerErrors = 0;
  private intendedTimeMismatches = 0;

  constructor(
    private readonly queue: Queue<BenchPayload, void>,
    private readonly connection: ConnectionOptions,
    private readonly settings: BullmqCronSettings,
  ) {}

  async upsert(index: number): Promise<void> {
    await this.queue.upsertJobScheduler(
      scheduleName(index),
      { every: this.settings.everyMs },
      { name: "tick", data: makePayload(index, 0) },
    );
  }

  private intendedTime(job: Job<BenchPayload, void>): { schedule: number; intendedMs: number } {
    const match = SCHEDULED_JOB_ID.exec(job.id ?? "");
    const schedule = match?.[1] === undefined ? undefined : scheduleIndex(match[1]);
    if (match?.[2] === undefined || schedule === undefined) {
      throw new Error(`job ${job.id ?? "?"} is not a job of a benchmark job scheduler`);
    }
    const intendedMs = Number(match[2]);
    // job.delay reads 0 once the job has been promoted from delayed; opts.delay keeps the value.
    if (job.timestamp + (job.opts.delay ?? 0) !== intendedMs) this.intendedTimeMismatches += 1;
    return { schedule, intendedMs };
  }

  async startConsumer(
    onOccurrence: OccurrenceHandler,
    onError: (error: unknown) => void,
  ): Promise<void> {
    const worker = new Worker<BenchPayload, void>(
      QUEUE,
      (job) => {
        const { schedule, intendedMs } = this.intendedTime(job);
        onOccurrence(schedule, intendedMs);
        return Promise.resolve();
      },
      { connection: this.connection, concurrency: this.settings.concurrency },
    );
    // 'error' (e.g. "Failed to add repeatable job for next iteration"): the Worker goes on, so it
    // is counted and shown rather than ending the run; a failed job is a benchmark bug.
    worker.on("error", (error) => {
      this.workerErrors += 1;
      if (this.workerErrors <= MAX_LOGGED_ERRORS) console.error(`bullmq worker: ${error.message}`);
    });
    worker.on("failed", (_job, error) => {
      onError(error);
    });
    this.worker = worker;
    await withTimeout(worker.waitUntilReady(), 30_000, "the BullMQ worker to connect");
  }

  async stopConsumer(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.worker = undefined;
    await withTimeout(worker.close(), 30_000, "closing the BullMQ worker").catch(
      async (error: unknown) => {
        await withTimeout(worker.close(true), 10_000, "force-closing the BullMQ worker");
        throw error;
      },
    );
  }

  async occurrenceExists(index: number, intendedMs: number): Promise<boolean> {
    const job = await this.queue.getJob(`repeat:${scheduleName(index)}:${intendedMs}`);
    return job !== undefined;
  }

  /** The queue's job counts by state, and what the Worker reported. */
  async engineCounters(): Promise<Record<string, number>> {
    const counts = await withTimeout(
      this.queue.getJobCounts("waiting", "delayed", "active", "completed", "failed", "prioritized"),
      30_000,
      "BullMQ job counts",
    );
    return {
      ...counts,
      workerErrors: this.workerErrors,
      intendedTimeMismatches: this.intendedTimeMismatches,
    };
  }

  async close(): Promise<void> {
    try {
      await this.stopConsumer();
    } finally {
      await withTimeout(this.queue.close(), 30_000, "closing the BullMQ queue");
    }
  }
}

export function bullmqCronAdapter(settings: BullmqCronSettings): CronAdapterFactory {
  return async (redisPort) => {
    // maxRetriesPerRequest: null is what BullMQ requires of a Worker's connection.
    const connection: ConnectionOptions = {
      host: "127.0.0.1",
      port: redisPort,
      maxRetriesPerRequest: null,
    };
    const queue = new Queue<BenchPayload, void>(QUEUE, { connection });
    queue.on("error", (error) => {
      console.error(`bullmq queue: ${error.message}`);
    });
    try {
      await withTimeout(queue.waitUntilReady(), 30_000, "the BullMQ queue to connect");
    } catch (error) {
      await withTimeout(queue.close(), 10_000, "closing the BullMQ queue");
      throw error;
    }
    return new BullmqCronAdapter(queue, connection, settings);
  };
}
