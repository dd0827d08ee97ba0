import type { EngineName } from "./adapter.js";

/** Called once per delivered occurrence: which schedule, and the instant it was meant to fire. */
export type OccurrenceHandler = (schedule: number, intendedMs: number) => void;

/** What the cron benchmark needs from an engine: schedules firing every second, and a consumer. */
export interface CronAdapter {
  readonly name: EngineName;
  /** Creates schedule number `index`, firing every second from now on. */
  upsert(index: number): Promise<void>;
  /**
   * Starts consuming: `onOccurrence` is called as soon as the consumer has an occurrence, which
   * is then completed (acked) without further work. `onError` reports a consumer failure.
   */
  startConsumer(onOccurrence: OccurrenceHandler, onError: (error: unknown) => void): Promise<void>;
  /** Stops consuming (schedules keep firing until close). Bounded in time. */
  stopConsumer(): Promise<void>;
  /**
   * Whether the engine holds the occurrence of schedule `index` meant for `intendedMs` (created,
   * in whatever state): asked, after the consumer stopped, of occurrences it never received.
   */
  occurrenceExists(index: number, intendedMs: number): Promise<boolean>;
  /**
   * The intended time of every occurrence mod 1000, if the engine fixes it (ddq's `@every 1s`:
   * 0, aligned to the epoch); undefined if it depends on the schedule (BullMQ: its creation time).
   */
  readonly slotPhaseMs?: number | undefined;
  /** How schedules are spread for firing (ddq: shards), for a per-group breakdown; or undefined. */
  readonly groups?: { count: number; of: (index: number) => number };
  /** The engine's own view after the run (schedule counters, job counts, errors seen). */
  engineCounters(schedules: number): Promise<Record<string, number>>;
  /** Stops the consumer (if any) and the engine, and disconnects. Bounded in time. */
  close(): Promise<void>;
}

export type CronAdapterFactory = (redisPort: number) => Promise<CronAdapter>;

/** The id of schedule number `index`, the same for both engines. */
export function scheduleName(index: number): string {
  return `s${index}`;
}

/** The number of a schedule id made by scheduleName, or undefined for any other id. */
export function scheduleIndex(id: string): number | undefined {
  const match = /^s(\d{1,9})$/.exec(id);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
