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
  /** The next slot after the ones considered, or undefined when the schedule is over. */
  nextSlotMs: number | undefined;
}

/** Overdue slots examined at most per plan; beyond, they are counted as missed by jumping ahead. */
export const MAX_OVERDUE_SLOTS = 100_000;

/**
 * Plans a fire at `nowMs`. Slots up to `horizonMs` (>= nowMs) are considered: those at or before
 * now are *overdue* (the missed-run rules pick which of them run), those after now and up to the
 * horizon are *upcoming*: they are created ahead of time as tasks due at their slot, so the
 * engine's timer fires them on time. Slot instants here are without jitter.
 */
export function planFire(
  spec: CheckedCronSpec,
  storedNextMs: number,
  runs: number,
  nowMs: number,
  recordLimit: number,
  horizonMs: number = nowMs,
): FirePlan {
  const overdue: number[] = [];
  const upcoming: number[] = [];
  let slot: number | undefined = storedNextMs;
  let skippedAhead = 0;
  while (slot !== undefined && slot <= nowMs) {
    if (overdue.length >= MAX_OVERDUE_SLOTS) {
      // A very long outage of a frequent schedule: count the rest without keeping them.
      skippedAhead += 1;
      if (skippedAhead > MAX_OVERDUE_SLOTS) {
        slot = nextFireAfter(spec.timing, nowMs);
        break;
      }
    } else {
      overdue.push(slot);
    }
    slot = nextFireAfter(spec.timing, slot);
  }
  while (slot !== undefined && slot > nowMs && slot <= horizonMs) {
    upcoming.push(slot);
    slot = nextFireAfter(spec.timing, slot);
  }
  const missed: MissedSlot[] = [];
  let missedCount = skippedAhead;
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
    if (runs + fire.length >= spec.maxRuns) slot = undefined;
  }
  missedCount += missed.length;
  missed.sort((a, b) => a.slotMs - b.slotMs);
  return {
    fire,
    missed: recordLimit > 0 ? missed.slice(-recordLimit) : [],
    missedCount,
    nextSlotMs: slot,
  };
}
