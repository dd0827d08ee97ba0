/**
 * What a due schedule does now: which of its overdue slots fire, which are missed (and why), and
 * its next slot. Pure: the scheduler applies the plan atomically in Redis (cronFire.lua), which
 * also applies the Forbid concurrency policy. Semantics: docs/CRON.md ("Missed runs").
 */
import type { CheckedCronSpec } from "./cronSpec.js";
import { nextFireAfter } from "./nextFire.js";

export interface MissedSlot {
  slotMs: number;
  reason: string;
}

export interface FirePlan {
  /** Slots to fire now, ascending. */
  fire: number[];
  /** Missed slots to record individually (the latest, at most `recordLimit`). */
  missed: MissedSlot[];
  /** Every missed slot, counted. */
  missedCount: number;
  /** More than MAX_OVERDUE_ITERATIONS overdue slots of a calendar schedule: count them as "at least". */
  missedCountIsLowerBound: boolean;
  /** The next slot after the ones considered, or undefined when the schedule is over. */
  nextSlotMs: number | undefined;
}

/**
 * Overdue slots iterated at most for a calendar schedule (an `@every` schedule is counted by
 * arithmetic); past this the count is a lower bound (FirePlan.missedCountIsLowerBound).
 */
export const MAX_OVERDUE_ITERATIONS = 2_000_000;

interface Overdue {
  /** The latest overdue slots, ascending (at most the number asked for). */
  latest: number[];
  /** Every overdue slot, counted. */
  total: number;
  /** The first slot after now. */
  next: number | undefined;
  exact: boolean;
}

/** The overdue slots from `storedNextMs` up to `nowMs`: the latest `keep`, and how many. */
function overdueSlots(
  spec: CheckedCronSpec,
  storedNextMs: number,
  nowMs: number,
  keep: number,
): Overdue {
  const expressions = spec.timing.expressions;
  const only = expressions.length === 1 ? expressions[0] : undefined;
  if (only?.kind === "every" && storedNextMs % only.periodMs === 0) {
    const period = only.periodMs;
    const last = Math.min(nowMs, (spec.timing.endAt ?? Number.POSITIVE_INFINITY) - 1);
    const total = storedNextMs > last ? 0 : Math.floor((last - storedNextMs) / period) + 1;
    const latest: number[] = [];
    for (let k = Math.max(0, total - keep); k < total; k += 1)
      latest.push(storedNextMs + k * period);
    const next =
      total === 0 ? storedNextMs : nextFireAfter(spec.timing, storedNextMs + (total - 1) * period);
    return {
      latest,
      total,
      next: next !== undefined && next <= nowMs ? nextFireAfter(spec.timing, nowMs) : next,
      exact: true,
    };
  }
  const latest: number[] = [];
  let total = 0;
  let slot: number | undefined = storedNextMs;
  while (slot !== undefined && slot <= nowMs) {
    if (total >= MAX_OVERDUE_ITERATIONS) {
      return { latest, total, next: nextFireAfter(spec.timing, nowMs), exact: false };
    }
    total += 1;
    latest.push(slot);
    if (latest.length > keep) latest.shift();
    slot = nextFireAfter(spec.timing, slot);
  }
  return { latest, total, next: slot, exact: true };
}

export function planFire(
  spec: CheckedCronSpec,
  storedNextMs: number,
  runs: number,
  nowMs: number,
  recordLimit: number,
  horizonMs: number = nowMs,
): FirePlan {
  // Enough of the latest overdue slots for every rule below: the burst, the records, and one.
  const keep = spec.maxBurst + Math.max(recordLimit, 0) + 1;
  const found = overdueSlots(spec, storedNextMs, nowMs, keep);
  const overdue = found.latest;
  const upcoming: number[] = [];
  let slot = found.next;
  while (slot !== undefined && slot > nowMs && slot <= horizonMs) {
    upcoming.push(slot);
    slot = nextFireAfter(spec.timing, slot);
  }
  const missed: MissedSlot[] = [];
  // Overdue slots older than the kept window are missed too (counted, not recorded one by one).
  let missedCount = found.total - overdue.length;
  const deadline = spec.startingDeadlineMs;
  const inTime = deadline === undefined ? overdue : overdue.filter((s) => nowMs - s <= deadline);
  if (deadline !== undefined) {
    for (const s of overdue) {
      if (nowMs - s > deadline) {
        missed.push({
          slotMs: s,
          reason: `starting deadline exceeded: ${nowMs - s} ms late, deadline ${deadline} ms`,
        });
      }
    }
  }
  let fire: number[];
  if (inTime.length <= 1) {
    fire = inTime;
  } else if (spec.catchUp === "All") {
    fire = inTime.slice(-spec.maxBurst);
    for (const s of inTime.slice(0, -spec.maxBurst)) {
      missed.push({ slotMs: s, reason: `catch-up All: over the burst limit of ${spec.maxBurst}` });
    }
  } else if (spec.catchUp === "Latest") {
    fire = inTime.slice(-1);
    for (const s of inTime.slice(0, -1))
      missed.push({ slotMs: s, reason: "catch-up Latest: a later slot ran instead" });
  } else {
    fire = [];
    for (const s of inTime)
      missed.push({ slotMs: s, reason: "catch-up Skip: overdue slots do not run" });
  }
  fire = [...fire, ...upcoming];
  if (spec.maxRuns !== undefined) {
    const left = Math.max(0, spec.maxRuns - runs);
    for (const s of fire.slice(left))
      missed.push({ slotMs: s, reason: `maxRuns ${spec.maxRuns} reached` });
    fire = fire.slice(0, left);
    // Whether the schedule ends is decided in cronFire.lua, by the occurrences really created
    // (a slot may be skipped by Forbid or exist already).
  }
  missedCount += missed.length;
  missed.sort((a, b) => a.slotMs - b.slotMs);
  return {
    fire,
    missed: recordLimit > 0 ? missed.slice(-recordLimit) : [],
    missedCount,
    missedCountIsLowerBound: !found.exact,
    nextSlotMs: slot,
  };
}
