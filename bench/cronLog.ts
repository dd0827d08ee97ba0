import { summarize, type Summary } from "./stats.js";

/** Lateness in one second of the window (by intended time), ms. */
export interface SecondStats {
  count: number[];
  p50: number[];
  p99: number[];
  max: number[];
}

/** An expected occurrence that did not reach the consumer. */
export interface MissingSlot {
  schedule: number;
  second: number;
  /** Its intended time, if known (the schedule's phase within the second has been seen). */
  intendedMs: number | undefined;
}

const round1 = (v: number): number => Math.round(v * 10) / 10;

/**
 * Records the occurrences of `schedules` schedules firing every second, counted by intended
 * time (slot), not by receipt: an occurrence counts if its slot lies in the window
 * [startMs, startMs + seconds s). Each (schedule, second of the window) holds at most one slot;
 * lateness = local wall-clock time at receipt - slot. `done` resolves once every expected
 * occurrence has arrived. Before `setWindow`, occurrences are only counted (`beforeWindow`).
 *
 * An occurrence the engine created but the consumer had not received when it stopped is added
 * with `addUndelivered`: its lateness is only known to be at least the stop time - slot, so the
 * lateness figures are then lower bounds (`undelivered` > 0).
 */
export class OccurrenceLog {
  readonly expected: number;
  /** The slot received for (schedule, second): index schedule * seconds + second; NaN if none. */
  private readonly slots: Float64Array;
  private readonly lateness: Float64Array;
  /** 1 where the lateness is a lower bound (created, not received). */
  private readonly censored: Uint8Array;
  /** Per schedule: intended time mod 1000 as seen in any occurrence; NaN until one arrives. */
  private readonly phase: Float64Array;
  private startMs = Number.POSITIVE_INFINITY;
  private resolve: () => void = () => undefined;
  readonly done: Promise<void>;
  /** Every occurrence received, in the window or not, repeats included. */
  received = 0;
  /** Distinct occurrences received with a slot in the window. */
  inWindow = 0;
  /** Created by the engine with a slot in the window, not received (see addUndelivered). */
  undelivered = 0;
  /** A slot in the window delivered again. */
  duplicates = 0;
  /** A second slot of one schedule within one second of the window (not expected every 1 s). */
  extraSlots = 0;
  beforeWindow = 0;
  afterWindow = 0;
  /** Local time of the latest receipt of an occurrence in the window. */
  lastInWindowAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly schedules: number,
    readonly seconds: number,
    private readonly now: () => number,
  ) {
    this.expected = schedules * seconds;
    this.slots = new Float64Array(this.expected).fill(Number.NaN);
    this.lateness = new Float64Array(this.expected).fill(Number.NaN);
    this.censored = new Uint8Array(this.expected);
    this.phase = new Float64Array(schedules).fill(Number.NaN);
    this.done = new Promise<void>((resolve) => {
      this.resolve = resolve;
    });
  }

  get windowStartMs(): number {
    return this.startMs;
  }

  get windowEndMs(): number {
    return this.startMs + this.seconds * 1000;
  }

  setWindow(startMs: number): void {
    this.startMs = startMs;
  }

  readonly onOccurrence = (schedule: number, slotMs: number): void => {
    const at = this.now();
    if (!Number.isInteger(schedule) || schedule < 0 || schedule >= this.schedules)
      throw new Error(`an occurrence of schedule ${schedule}, outside 0..${this.schedules - 1}`);
    this.received += 1;
    this.phase[schedule] = ((slotMs % 1000) + 1000) % 1000;
    if (slotMs < this.startMs) {
      this.beforeWindow += 1;
      return;
    }
    const second = Math.floor((slotMs - this.startMs) / 1000);
    if (second >= this.seconds) {
      this.afterWindow += 1;
      return;
    }
    const i = schedule * this.seconds + second;
    const seen = this.slots[i] ?? Number.NaN;
    if (!Number.isNaN(seen)) {
      if (seen === slotMs) this.duplicates += 1;
      else this.extraSlots += 1;
      return;
    }
    this.slots[i] = slotMs;
    this.lateness[i] = at - slotMs;
    this.inWindow += 1;
    this.lastInWindowAt = Math.max(this.lastInWindowAt, at);
    if (this.inWindow === this.expected) this.resolve();
  };

  /**
   * Expected occurrences not received: for a schedule firing every second, one per second. The
   * intended time comes from the schedule's phase as seen in its occurrences, else `knownPhaseMs`.
   */
  missing(knownPhaseMs?: number): MissingSlot[] {
    const out: MissingSlot[] = [];
    for (let schedule = 0; schedule < this.schedules; schedule += 1) {
      const seen = this.phase[schedule] ?? Number.NaN;
      const phase = Number.isNaN(seen) ? (knownPhaseMs ?? Number.NaN) : seen;
      const offset = Number.isNaN(phase)
        ? Number.NaN
        : (phase - (this.startMs % 1000) + 1000) % 1000;
      for (let second = 0; second < this.seconds; second += 1) {
        if (!Number.isNaN(this.slots[schedule * this.seconds + second] ?? Number.NaN)) continue;
        out.push({
          schedule,
          second,
          intendedMs: Number.isNaN(offset) ? undefined : this.startMs + second * 1000 + offset,
        });
      }
    }
    return out;
  }

  /** An occurrence the engine holds but the consumer never received (stopped at `stoppedAt`). */
  addUndelivered(slot: MissingSlot & { intendedMs: number }, stoppedAt: number): void {
    const i = slot.schedule * this.seconds + slot.second;
    if (!Number.isNaN(this.slots[i] ?? Number.NaN)) return;
    this.slots[i] = slot.intendedMs;
    this.lateness[i] = stoppedAt - slot.intendedMs;
    this.censored[i] = 1;
    this.undelivered += 1;
  }

  private values(filter: (schedule: number, second: number) => boolean): number[] {
    const values: number[] = [];
    for (let schedule = 0; schedule < this.schedules; schedule += 1) {
      for (let second = 0; second < this.seconds; second += 1) {
        const v = this.lateness[schedule * this.seconds + second] ?? Number.NaN;
        if (!Number.isNaN(v) && filter(schedule, second)) values.push(v);
      }
    }
    return values;
  }

  /**
   * Lateness of every occurrence created with a slot in the window: received ones exactly,
   * undelivered ones as their lower bound. Undefined if there are none.
   */
  latenessSummary(): Summary | undefined {
    const values = this.values(() => true);
    return values.length === 0 ? undefined : summarize(values);
  }

  /** Lateness per second of the window (by slot): shows whether it grows during the run. */
  perSecond(): SecondStats {
    const stats: SecondStats = { count: [], p50: [], p99: [], max: [] };
    for (let second = 0; second < this.seconds; second += 1) {
      const values = this.values((_, s) => s === second);
      const s = values.length === 0 ? undefined : summarize(values);
      stats.count.push(values.length);
      stats.p50.push(round1(s?.p50 ?? Number.NaN));
      stats.p99.push(round1(s?.p99 ?? Number.NaN));
      stats.max.push(round1(s?.max ?? Number.NaN));
    }
    return stats;
  }

  /** Lateness per group of schedules (ddq: per shard), with the number still undelivered. */
  perGroup(
    groupOf: (schedule: number) => number,
    groups: number,
  ): { count: number[]; undelivered: number[]; p50: number[]; p99: number[]; max: number[] } {
    const lists = Array.from({ length: groups }, () => [] as number[]);
    const undelivered = new Array<number>(groups).fill(0);
    for (let schedule = 0; schedule < this.schedules; schedule += 1) {
      const g = groupOf(schedule);
      for (let second = 0; second < this.seconds; second += 1) {
        const i = schedule * this.seconds + second;
        const v = this.lateness[i] ?? Number.NaN;
        if (Number.isNaN(v)) continue;
        lists[g]?.push(v);
        if (this.censored[i] === 1) undelivered[g] = (undelivered[g] ?? 0) + 1;
      }
    }
    const summaries = lists.map((l) => (l.length === 0 ? undefined : summarize(l)));
    return {
      count: lists.map((l) => l.length),
      undelivered,
      p50: summaries.map((s) => round1(s?.p50 ?? Number.NaN)),
      p99: summaries.map((s) => round1(s?.p99 ?? Number.NaN)),
      max: summaries.map((s) => round1(s?.max ?? Number.NaN)),
    };
  }
}
