import { Queue, Worker, type ConnectionOptions } from "bullmq";
import { withTimeout } from "../timeouts.js";
import { isBenchPayload, type BenchPayload, type BenchTask } from "../workload.js";
import type { AdapterFactory, EngineAdapter } from "./adapter.js";

export interface BullmqSettings {
  /** Worker `concurrency` (jobs processed in parallel by the one Worker). */
  concurrency: number;
}

const QUEUE = "bench";

/**
 * BullMQ with library defaults (prefix "bull", completed jobs kept, events stream capped at its
 * default), except the Worker's `concurrency`. Delayed jobs are added with `addBulk`, `timestamp`
 * set to now and `delay` = due - now, so a job is due at exactly the same instant as in ddq.
 */
class BullmqAdapter implements EngineAdapter {
  readonly name = "bullmq";
  private worker: Worker<BenchPayload, void> | undefined;

  constructor(
    private readonly queue: Queue<BenchPayload, void>,
    private readonly connection: ConnectionOptions,
    private readonly settings: BullmqSettings,
  ) {}

  async enqueue(batch: readonly BenchTask[]): Promise<void> {
    const now = Date.now();
    await this.queue.addBulk(
      batch.map((t) => ({
        name: "t",
        data: t.payload,
        opts: { timestamp: now, delay: Math.max(0, t.dueAtMs - now) },
      })),
    );
  }

  async startConsumer(
    onTask: (payload: BenchPayload) => void,
    onError: (error: unknown) => void,
  ): Promise<void> {
    const worker = new Worker<BenchPayload, void>(
      QUEUE,
      (job) => {
        if (!isBenchPayload(job.data)) throw new Error(`job ${job.id ?? "?"} has unexpected data`);
        onTask(job.data);
        return Promise.resolve();
      },
      { connection: this.connection, concurrency: this.settings.concurrency },
    );
    worker.on("error", onError);
    worker.on("failed", (_job, error) => {
      onError(error);
    });
    this.worker = worker;
    await withTimeout(worker.waitUntilReady(), 30_000, "the BullMQ worker to connect");
  }

  async close(): Promise<void> {
    try {
      if (this.worker !== undefined) {
        const worker = this.worker;
        await withTimeout(worker.close(), 30_000, "closing the BullMQ worker").catch(
          async (error: unknown) => {
            await withTimeout(worker.close(true), 10_000, "force-closing the BullMQ worker");
            throw error;
          },
        );
      }
    } finally {
      await withTimeout(this.queue.close(), 30_000, "closing the BullMQ queue");
    }
  }
}

export function bullmqAdapter(settings: BullmqSettings): AdapterFactory {
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
    return new BullmqAdapter(queue, connection, settings);
  };
}
