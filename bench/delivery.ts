import type { BenchPayload } from "./workload.js";

/**
 * Records deliveries of a scenario's tasks: when each task first reached the consumer (local
 * wall clock, ms) and how many deliveries were repeats. `done` resolves once every task has
 * arrived and rejects when the consumer reports a failure.
 */
export class DeliveryLog {
  readonly receivedAt: Float64Array;
  readonly done: Promise<void>;
  unique = 0;
  duplicates = 0;
  firstAt = Number.POSITIVE_INFINITY;
  lastAt = Number.NEGATIVE_INFINITY;
  private resolve: () => void = () => undefined;
  private reject: (error: unknown) => void = () => undefined;

  constructor(
    readonly count: number,
    private readonly now: () => number,
  ) {
    this.receivedAt = new Float64Array(count).fill(Number.NaN);
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // A rejection nobody awaits yet (failure before the scenario waits) must not crash the run.
    this.done.catch(() => undefined);
  }

  readonly onTask = (payload: BenchPayload): void => {
    const at = this.now();
    const i = payload.i;
    if (!Number.isInteger(i) || i < 0 || i >= this.count) {
      this.reject(new Error(`delivered a task with index ${i}, outside 0..${this.count - 1}`));
      return;
    }
    if (!Number.isNaN(this.receivedAt[i] ?? 0)) {
      this.duplicates += 1;
      return;
    }
    this.receivedAt[i] = at;
    this.unique += 1;
    this.firstAt = Math.min(this.firstAt, at);
    this.lastAt = Math.max(this.lastAt, at);
    if (this.unique === this.count) this.resolve();
  };

  readonly onError = (error: unknown): void => {
    this.reject(error instanceof Error ? error : new Error(String(error)));
  };
}
