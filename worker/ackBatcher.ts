/**
 * Acks collected for a moment and sent in one Ack call: under load, many handlers finish within
 * the same millisecond, and one call per batch keeps the scheduler's work per task low.
 */
import { status as GrpcCode } from "@grpc/grpc-js";
import type { AckItem } from "../proto/gen/ddq/v1/worker_service.js";
import type { DdqClient } from "../client/ddqClient.js";

const MAX_BATCH = 500;
const LINGER_MS = 2;
const ACK_ATTEMPTS = 4;

interface Pending {
  item: AckItem;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class AckBatcher {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();

  constructor(private readonly client: DdqClient) {}

  ack(item: AckItem): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= MAX_BATCH) this.send();
      else
        this.timer ??= setTimeout(() => {
          this.send();
        }, LINGER_MS);
    });
  }

  private send(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const sent = this.ackWithRetry(batch.map((p) => p.item))
      .then(
        (response) => {
          batch.forEach((pending, i) => {
            const result = response.results[i];
            if (result === undefined) pending.reject(new Error("the Ack answer has no result"));
            else if (result.code === (GrpcCode.OK as number)) pending.resolve();
            else pending.reject(new Error(`ack refused (code ${result.code}): ${result.message}`));
          });
        },
        (error: unknown) => {
          const reason = error instanceof Error ? error : new Error(String(error));
          for (const pending of batch) pending.reject(reason);
        },
      )
      .finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
  }

  /**
   * One Ack call, retried (with backoff, a few times) when the scheduler was unreachable or slow:
   * acks are idempotent by lease token, and a task whose ack is given up is redelivered.
   */
  private async ackWithRetry(items: AckItem[]): Promise<Awaited<ReturnType<DdqClient["ack"]>>> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.client.ack(items);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        const retryable = code === GrpcCode.UNAVAILABLE || code === GrpcCode.DEADLINE_EXCEEDED;
        if (!retryable || attempt >= ACK_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
  }

  /** Sends what is queued and waits for every ack in flight. */
  async flush(): Promise<void> {
    this.send();
    await Promise.all([...this.inFlight]);
  }
}
