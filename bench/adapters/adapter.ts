import type { BenchPayload, BenchTask } from "../workload.js";

export type EngineName = "ddq" | "bullmq";

/** What a scenario needs from an engine: enqueue delayed tasks, consume them with a no-op. */
export interface EngineAdapter {
  readonly name: EngineName;
  /** Enqueues one batch, each task due at its `dueAtMs`. */
  enqueue(batch: readonly BenchTask[]): Promise<void>;
  /**
   * Starts consuming; `onTask` is called once per delivered task, as soon as the consumer has
   * it, and the task is then completed (acked) without further work. `onError` reports a
   * failure of the consumer (it may stop delivering).
   */
  startConsumer(
    onTask: (payload: BenchPayload) => void,
    onError: (error: unknown) => void,
  ): Promise<void>;
  /** Stops the consumer (if any) and disconnects. Bounded in time. */
  close(): Promise<void>;
}

export type AdapterFactory = (redisPort: number) => Promise<EngineAdapter>;
