/**
 * Test vectors of other cron implementations, run through ddq's fire computation. Each vector
 * names where its expected answer comes from:
 *
 * - robfig: robfig/cron v3.0.1, spec_test.go (TestActivation, TestNext, TestErrors,
 *   TestSlash0NoHang) and parser.go (`N/step` means `N-max/step`; weekdays 0-6; names are the
 *   first three letters). Its times are read in UTC here unless a zone is given.
 * - croniter: croniter's test_croniter.py (5-field vectors only: its 6th field is seconds at the
 *   end, ddq's at the start), including testDomDowVixieCronBug with implement_cron_bug=True.
 * - cronie: cronie/Vixie cron entry.c and cron.c: a day field whose text starts with `*` is
 *   unrestricted (DOM_STAR/DOW_STAR); if either day field is, a day must match both, otherwise
 *   either; 0 and 7 are both Sunday; names are three letters.
 *
 * Where the implementations disagree, ddq follows cronie (docs/CRON.md) and the vector says who
 * differs. Vectors that need ddq's DST policy to match name it (ddq never fires a wall time twice,
 * and shifts gap times by default; robfig skips gap times).
 */
import { describe, expect, it } from "vitest";
import { isDdqError } from "../../scheduler/engine/errors.js";
import { nextFireAfter } from "../../scheduler/cron/nextFire.js";
import { validateCronTiming } from "../../scheduler/cron/validateTiming.js";
import { OTHER_NEXT, REFUSED } from "./vectors/others.js";
import { ACTIVATION, ROBFIG_NEXT } from "./vectors/robfig.js";

const ms = (iso: string): number => {
  const value = Date.parse(iso);
  if (Number.isNaN(value)) throw new Error(`bad time in a vector: ${iso}`);
  return value;
};

const NOW = ms("2026-01-01T00:00:00Z");

describe("cron vectors of robfig/cron, croniter and cronie", () => {
  it.each([...ROBFIG_NEXT, ...OTHER_NEXT])(
    "$source: $spec after $after",
    ({ spec, after, next, timing }) => {
      const compiled = validateCronTiming({ schedules: [spec], ...timing }, NOW);
      const fires: number[] = [];
      let cursor = ms(after);
      for (let i = 0; i < next.length; i += 1) {
        const fire = nextFireAfter(compiled, cursor);
        if (fire === undefined) break;
        fires.push(fire);
        cursor = fire;
      }
      expect(fires.map((f) => new Date(f).toISOString())).toEqual(
        next.map((iso) => new Date(ms(iso)).toISOString()),
      );
    },
  );

  it.each(ACTIVATION)("$source: $spec fires at $at: $fires", ({ spec, at, fires }) => {
    const instant = ms(at);
    const compiled = validateCronTiming({ schedules: [spec] }, NOW);
    expect(nextFireAfter(compiled, instant - 1000) === instant).toBe(fires);
  });

  it.each(REFUSED)("$source: refuses $spec", ({ spec }) => {
    let caught: unknown;
    try {
      validateCronTiming({ schedules: [spec] }, NOW);
    } catch (error) {
      caught = error;
    }
    expect(isDdqError(caught, "INVALID_ARGUMENT")).toBe(true);
  });
});
