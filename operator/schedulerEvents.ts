/**
 * The scheduler's WatchEvents stream, turned into work: each event queues the key of the resource
 * its task belongs to (level-triggered: the reconcile reads the truth). The last event id per
 * shard is kept in memory and saved (PositionStore) at most once per interval; a restarted stream
 * (reconnect or operator restart) resumes after those ids. A gap (OUT_OF_RANGE: the stream was
 * trimmed past a saved id) falls back to a full resync of every resource.
 */
import { status as GrpcCode } from "@grpc/grpc-js";
import type { DdqClient } from "../client/ddqClient.js";
import type { Event } from "../proto/gen/ddq/v1/task_service.js";
import { grpcCode, type Log } from "./context.js";
import type { PositionStore } from "./positionStore.js";

export interface SchedulerEventsOptions {
  client: DdqClient;
  store: PositionStore;
  onEvent: (event: Event) => void;
  /** Every resource must be reconciled: events may have been lost. */
  onResync: (reason: string) => void;
  log: Log;
  saveIntervalMs?: number;
  backoffMs?: { initial: number; max: number };
}

function shardOf(eventId: string): number {
  return Number(eventId.split(":")[0]);
}

export class SchedulerEvents {
  private readonly positions = new Map<number, string>();
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;
  private saver: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  connected = false;
  readonly stats = { events: 0, streams: 0, gaps: 0, saves: 0, saveFailures: 0 };

  constructor(private readonly options: SchedulerEventsOptions) {}

  /** Loads the saved positions, then streams until stop(). */
  async start(): Promise<void> {
    let saved: string[] = [];
    try {
      saved = await this.options.store.load();
    } catch (error) {
      this.options.log(
        "cannot read the saved watch positions; starting from now with a resync",
        {
          error: (error as Error).message,
        },
        "warn",
      );
      this.options.onResync("saved watch positions unreadable");
    }
    for (const id of saved) this.positions.set(shardOf(id), id);
    if (saved.length > 0) this.options.log("resuming scheduler events", { positions: saved });
    this.loop = this.run();
    this.saver = setInterval(() => {
      this.saving = this.saving.then(() => this.save());
    }, this.options.saveIntervalMs ?? 1_000);
  }

  currentPositions(): string[] {
    return [...this.positions.values()];
  }

  private async save(): Promise<void> {
    if (this.positions.size === 0) return;
    try {
      await this.options.store.save(this.currentPositions());
      this.stats.saves += 1;
    } catch (error) {
      this.stats.saveFailures += 1;
      this.options.log(
        "cannot save the watch positions",
        { error: (error as Error).message },
        "warn",
      );
    }
  }

  private async run(): Promise<void> {
    const backoff = this.options.backoffMs ?? { initial: 200, max: 10_000 };
    let delay = backoff.initial;
    const signal = this.controller.signal;
    while (!signal.aborted) {
      try {
        this.stats.streams += 1;
        const stream = this.options.client.watchOnce({
          resumeAfter: this.currentPositions(),
          start: "now",
          signal,
        });
        for await (const response of stream) {
          if (!this.connected) {
            this.connected = true;
            this.options.log("scheduler events connected", {});
          }
          delay = backoff.initial;
          for (const position of response.positions) {
            const shard = shardOf(position);
            if (!this.positions.has(shard)) this.positions.set(shard, position);
          }
          for (const event of response.events) {
            this.positions.set(event.shard, event.eventId);
            this.stats.events += 1;
            this.options.onEvent(event);
          }
        }
      } catch (error) {
        if (this.aborted()) break;
        if (grpcCode(error) === GrpcCode.OUT_OF_RANGE) {
          this.stats.gaps += 1;
          this.options.log(
            "scheduler events have a gap (trimmed): full resync",
            {
              error: (error as Error).message,
            },
            "warn",
          );
          this.positions.clear();
          this.options.onResync("scheduler event stream gap");
          continue;
        }
        if (this.connected) {
          this.options.log(
            "scheduler events disconnected; reconnecting",
            {
              error: (error as Error).message,
            },
            "warn",
          );
        }
      }
      this.connected = false;
      if (this.aborted()) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay * (0.8 + Math.random() * 0.4));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      delay = Math.min(delay * 2, backoff.max);
    }
  }

  private aborted(): boolean {
    return this.controller.signal.aborted;
  }

  /** Stops streaming and saves the positions reached. */
  async stop(): Promise<void> {
    this.controller.abort();
    this.wake?.();
    if (this.saver !== undefined) clearInterval(this.saver);
    await this.loop;
    await this.saving;
    await this.save();
  }
}
