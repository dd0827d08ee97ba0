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
import type { CronTiming } from "../../scheduler/cron/cronSchedule.js";
import { nextFireAfter } from "../../scheduler/cron/nextFire.js";
import { validateCronTiming } from "../../scheduler/cron/validateTiming.js";

type Extra = Omit<CronTiming, "schedules">;

interface NextVector {
  source: string;
  spec: string;
  /** The instant asked after (ISO 8601 with an offset). */
  after: string;
  /** The next fires in order (ISO 8601 with an offset). */
  next: string[];
  timing?: Extra;
}

interface ActivationVector {
  source: string;
  spec: string;
  at: string;
  fires: boolean;
}

const ms = (iso: string): number => {
  const value = Date.parse(iso);
  if (Number.isNaN(value)) throw new Error(`bad time in a vector: ${iso}`);
  return value;
};

const NY: Extra = { timeZone: "America/New_York" };

const NEXT: NextVector[] = [
  // robfig TestNext (6 fields, seconds first).
  {
    source: "robfig",
    spec: "0 0/15 * * * *",
    after: "2012-07-09T14:45:00Z",
    next: ["2012-07-09T15:00:00Z"],
  },
  {
    source: "robfig",
    spec: "0 0/15 * * * *",
    after: "2012-07-09T14:59:59Z",
    next: ["2012-07-09T15:00:00Z"],
  },
  {
    source: "robfig",
    spec: "0 20-35/15 * * * *",
    after: "2012-07-09T15:45:00Z",
    next: ["2012-07-09T16:20:00Z"],
  },
  {
    source: "robfig",
    spec: "0 */15 * * * *",
    after: "2012-07-09T23:46:00Z",
    next: ["2012-07-10T00:00:00Z"],
  },
  {
    source: "robfig",
    spec: "0 20-35/15 * * * *",
    after: "2012-07-09T23:45:00Z",
    next: ["2012-07-10T00:20:00Z"],
  },
  {
    source: "robfig",
    spec: "15/35 20-35/15 * * * *",
    after: "2012-07-09T23:35:51Z",
    next: ["2012-07-10T00:20:15Z"],
  },
  {
    source: "robfig",
    spec: "15/35 20-35/15 1/2 * * *",
    after: "2012-07-09T23:35:51Z",
    next: ["2012-07-10T01:20:15Z"],
  },
  {
    source: "robfig",
    spec: "15/35 20-35/15 10-12 * * *",
    after: "2012-07-09T23:35:51Z",
    next: ["2012-07-10T10:20:15Z"],
  },
  {
    source: "robfig",
    spec: "15/35 20-35/15 1/2 */2 * *",
    after: "2012-07-09T23:35:51Z",
    next: ["2012-07-11T01:20:15Z"],
  },
  {
    source: "robfig",
    spec: "15/35 20-35/15 * 9-20 * *",
    after: "2012-07-09T23:35:51Z",
    next: ["2012-07-10T00:20:15Z"],
  },
  {
    source: "robfig",
    spec: "15/35 20-35/15 * 9-20 Jul *",
    after: "2012-07-09T23:35:51Z",
    next: ["2012-07-10T00:20:15Z"],
  },
  {
    source: "robfig",
    spec: "0 0 0 9 Apr-Oct ?",
    after: "2012-07-09T23:35:00Z",
    next: ["2012-08-09T00:00:00Z"],
  },
  // robfig v3 answers Aug 1 here (a step > 1 clears its star bit: "either"); cronie starts
  // with `*`, so both must match: the first Monday on a day in */5 (older robfig: Aug 6 too).
  {
    source: "cronie (robfig v3: 2012-08-01)",
    spec: "0 0 0 */5 Apr,Aug,Oct Mon",
    after: "2012-07-09T23:35:00Z",
    next: ["2012-08-06T00:00:00Z"],
  },
  {
    source: "robfig",
    spec: "0 0 0 */5 Oct Mon",
    after: "2012-07-09T23:35:00Z",
    next: ["2012-10-01T00:00:00Z"],
  },
  {
    source: "robfig",
    spec: "0 0 0 * Feb Mon",
    after: "2012-07-09T23:35:00Z",
    next: ["2013-02-04T00:00:00Z"],
  },
  {
    source: "robfig",
    spec: "0 0 0 * Feb Mon/2",
    after: "2012-07-09T23:35:00Z",
    next: ["2013-02-01T00:00:00Z"],
  },
  {
    source: "robfig",
    spec: "0 * * * * *",
    after: "2012-12-31T23:59:45Z",
    next: ["2013-01-01T00:00:00Z"],
  },
  {
    source: "robfig",
    spec: "0 0 0 29 Feb ?",
    after: "2012-07-09T23:35:00Z",
    next: ["2016-02-29T00:00:00Z"],
  },
  // robfig in America/New_York: it skips wall times in a gap (ddq: dstGap "skip").
  {
    source: "robfig",
    spec: "0 30 2 11 Mar ?",
    after: "2012-03-11T00:00:00-05:00",
    next: ["2013-03-11T02:30:00-04:00"],
    timing: { ...NY, dstGap: "skip" },
  },
  {
    source: "robfig",
    spec: "0 0 * * * ?",
    after: "2012-03-11T00:00:00-05:00",
    next: [
      "2012-03-11T01:00:00-05:00",
      "2012-03-11T03:00:00-04:00",
      "2012-03-11T04:00:00-04:00",
      "2012-03-11T05:00:00-04:00",
    ],
    timing: NY,
  },
  {
    source: "robfig",
    spec: "0 0 1 * * ?",
    after: "2012-03-11T00:00:00-05:00",
    next: ["2012-03-11T01:00:00-05:00", "2012-03-12T01:00:00-04:00"],
    timing: NY,
  },
  {
    source: "robfig",
    spec: "0 0 2 * * ?",
    after: "2012-03-11T00:00:00-05:00",
    next: ["2012-03-12T02:00:00-04:00"],
    timing: { ...NY, dstGap: "skip" },
  },
  {
    source: "robfig",
    spec: "0 30 2 04 Nov ?",
    after: "2012-11-04T00:00:00-04:00",
    next: ["2012-11-04T02:30:00-05:00"],
    timing: NY,
  },
  // robfig fires both passes of a fold; from inside the first pass the next is the second one,
  // which ddq fires with dstFold "last".
  {
    source: "robfig",
    spec: "0 30 1 04 Nov ?",
    after: "2012-11-04T01:45:00-04:00",
    next: ["2012-11-04T01:30:00-05:00"],
    timing: { ...NY, dstFold: "last" },
  },
  {
    source: "robfig",
    spec: "0 0 2 * * ?",
    after: "2012-11-04T00:00:00-04:00",
    next: ["2012-11-04T02:00:00-05:00", "2012-11-05T02:00:00-05:00"],
    timing: NY,
  },
  {
    source: "robfig",
    spec: "0 0 3 * * ?",
    after: "2012-11-04T00:00:00-04:00",
    next: ["2012-11-04T03:00:00-05:00", "2012-11-05T03:00:00-05:00"],
    timing: NY,
  },
  {
    source: "robfig",
    spec: "0 0 3 3 * ?",
    after: "2012-11-04T00:00:00-04:00",
    next: ["2012-12-03T03:00:00-05:00"],
    timing: NY,
  },
  {
    source: "robfig",
    spec: "0 0 9 10 * ?",
    after: "2018-10-17T05:00:00-04:00",
    next: ["2018-11-10T06:00:00-05:00"],
    timing: { timeZone: "America/Sao_Paulo" },
  },
  {
    source: "robfig",
    spec: "0 0 9 22 * ?",
    after: "2018-02-14T05:00:00-05:00",
    next: ["2018-02-22T07:00:00-05:00"],
    timing: { timeZone: "America/Sao_Paulo" },
  },
  // croniter (5 fields).
  {
    source: "croniter",
    spec: "0 0 */3 * *",
    after: "2010-02-24T12:09:00Z",
    next: ["2010-02-25T00:00:00Z", "2010-02-28T00:00:00Z", "2010-03-01T00:00:00Z"],
  },
  {
    source: "croniter",
    spec: "0 0 * * sat",
    after: "2010-02-25T00:00:00Z",
    next: ["2010-02-27T00:00:00Z", "2010-03-06T00:00:00Z"],
  },
  {
    source: "croniter",
    spec: "0 0 1 * wed",
    after: "2010-01-25T00:00:00Z",
    next: ["2010-01-27T00:00:00Z", "2010-02-01T00:00:00Z", "2010-02-03T00:00:00Z"],
  },
  {
    source: "croniter",
    spec: "0 0 * * sat#1",
    after: "2010-02-25T00:00:00Z",
    next: ["2010-03-06T00:00:00Z", "2010-04-03T00:00:00Z"],
  },
  {
    source: "croniter",
    spec: "0 0 * * wed#5",
    after: "2010-01-25T00:00:00Z",
    next: ["2010-03-31T00:00:00Z", "2010-06-30T00:00:00Z", "2010-09-29T00:00:00Z"],
  },
  // croniter writes `l`; ddq (cron-parser) accepts the upper-case `L` only.
  {
    source: "croniter",
    spec: "0 0 L * *",
    after: "2015-09-04T00:00:00Z",
    next: [
      "2015-09-30T00:00:00Z",
      "2015-10-31T00:00:00Z",
      "2015-11-30T00:00:00Z",
      "2015-12-31T00:00:00Z",
    ],
  },
  {
    source: "croniter",
    spec: "0 0 * * 7",
    after: "2010-02-25T00:00:00Z",
    next: ["2010-02-28T00:00:00Z", "2010-03-07T00:00:00Z"],
  },
  {
    source: "croniter",
    spec: "0 4/6 * * *",
    after: "2012-02-24T00:00:00Z",
    next: ["2012-02-24T04:00:00Z"],
  },
  {
    source: "croniter",
    spec: "0 0/6 * * *",
    after: "2012-02-24T00:00:00Z",
    next: ["2012-02-24T06:00:00Z"],
  },
  {
    source: "croniter",
    spec: "0 0 1 3,6,9,12 *",
    after: "2016-03-01T00:00:00Z",
    next: ["2016-06-01T00:00:00Z"],
  },
  {
    source: "croniter",
    spec: "0 0 1 3,6,9,12 *",
    after: "2016-02-15T00:00:00Z",
    next: ["2016-03-01T00:00:00Z"],
  },
  {
    source: "croniter",
    spec: "0 0 1 3,6,9,12 *",
    after: "2016-12-03T10:00:00Z",
    next: ["2017-03-01T00:00:00Z"],
  },
  {
    source: "croniter",
    spec: "30 22 * * sun-thu",
    after: "2010-08-25T15:56:00Z",
    next: ["2010-08-25T22:30:00Z"],
  },
  {
    source: "croniter",
    spec: "1-9/2 0 1 * *",
    after: "2013-03-04T00:00:00Z",
    next: [
      "2013-04-01T00:01:00Z",
      "2013-04-01T00:03:00Z",
      "2013-04-01T00:05:00Z",
      "2013-04-01T00:07:00Z",
      "2013-04-01T00:09:00Z",
    ],
  },
  // Day of month vs day of week: `*/2` starts with `*` (unrestricted): odd days AND Saturdays
  // (croniter with implement_cron_bug=True, cronie). croniter's default reads it as "either".
  {
    source: "croniter implement_cron_bug / cronie",
    spec: "0 16 */2 * sat",
    after: "2023-05-02T00:00:00Z",
    next: [
      "2023-05-13T16:00:00Z",
      "2023-05-27T16:00:00Z",
      "2023-06-03T16:00:00Z",
      "2023-06-17T16:00:00Z",
    ],
  },
  // The same days written without a leading `*` restrict: odd days OR Saturdays (cronie, croniter).
  {
    source: "cronie, croniter",
    spec: "0 16 1-31/2 * sat",
    after: "2023-05-02T00:00:00Z",
    next: [
      "2023-05-03T16:00:00Z",
      "2023-05-05T16:00:00Z",
      "2023-05-06T16:00:00Z",
      "2023-05-07T16:00:00Z",
    ],
  },
  // `*/1` starts with `*`: Mondays only (cronie; robfig keeps the star bit for a step of 1).
  {
    source: "cronie, robfig",
    spec: "0 0 */1 * 1",
    after: "2026-01-01T00:00:00Z",
    next: ["2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z", "2026-01-19T00:00:00Z"],
  },
  // A weekday field starting with `*` against a day of month: both must match (cronie).
  {
    source: "cronie",
    spec: "0 0 1 * */2",
    after: "2026-01-01T00:00:00Z",
    next: ["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-08-01T00:00:00Z"],
  },
  {
    source: "cronie",
    spec: "0 0 L * */2",
    after: "2026-01-01T00:00:00Z",
    next: ["2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z", "2026-03-31T00:00:00Z"],
  },
  // Weekday steps end at 6 (robfig parser.go: `N/step` is `N-max/step`, max 6): Mon, Wed, Fri.
  {
    source: "robfig",
    spec: "0 0 * * 1/2",
    after: "2026-01-03T00:00:00Z",
    next: [
      "2026-01-05T00:00:00Z",
      "2026-01-07T00:00:00Z",
      "2026-01-09T00:00:00Z",
      "2026-01-12T00:00:00Z",
    ],
  },
  {
    source: "robfig",
    spec: "0 0 * * */2",
    after: "2026-01-03T00:00:00Z",
    next: [
      "2026-01-04T00:00:00Z",
      "2026-01-06T00:00:00Z",
      "2026-01-08T00:00:00Z",
      "2026-01-10T00:00:00Z",
    ],
  },
  // Fri and Sun: {5} from the step, {0} listed (it was refused as a duplicate of 7).
  {
    source: "robfig",
    spec: "0 0 * * 5/2,0",
    after: "2026-01-03T00:00:00Z",
    next: ["2026-01-04T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-11T00:00:00Z"],
  },
  // Macros (robfig TestActivation, cronie entry.c shortcuts).
  {
    source: "robfig, cronie",
    spec: "@weekly",
    after: "2012-07-01T00:00:00Z",
    next: ["2012-07-08T00:00:00Z", "2012-07-15T00:00:00Z"],
  },
  {
    source: "robfig, cronie",
    spec: "@monthly",
    after: "2012-06-15T00:00:00Z",
    next: ["2012-07-01T00:00:00Z"],
  },
  {
    source: "robfig, cronie",
    spec: "@yearly",
    after: "2012-06-15T00:00:00Z",
    next: ["2013-01-01T00:00:00Z"],
  },
  {
    source: "robfig, cronie",
    spec: "@hourly",
    after: "2012-07-09T15:04:00Z",
    next: ["2012-07-09T16:00:00Z"],
  },
];

const ACTIVATION: ActivationVector[] = [
  // robfig TestActivation (5 fields).
  { source: "robfig", spec: "0/15 * * * *", at: "2012-07-09T15:00:00Z", fires: true },
  { source: "robfig", spec: "0/15 * * * *", at: "2012-07-09T15:45:00Z", fires: true },
  { source: "robfig", spec: "0/15 * * * *", at: "2012-07-09T15:40:00Z", fires: false },
  { source: "robfig", spec: "5/15 * * * *", at: "2012-07-09T15:05:00Z", fires: true },
  { source: "robfig", spec: "5/15 * * * *", at: "2012-07-09T15:20:00Z", fires: true },
  { source: "robfig", spec: "5/15 * * * *", at: "2012-07-09T15:50:00Z", fires: true },
  { source: "robfig", spec: "0/15 * * Jul *", at: "2012-07-15T15:00:00Z", fires: true },
  { source: "robfig", spec: "0/15 * * Jun *", at: "2012-07-15T15:00:00Z", fires: false },
  { source: "robfig", spec: "30 08 ? Jul Sun", at: "2012-07-15T08:30:00Z", fires: true },
  { source: "robfig", spec: "30 08 15 Jul ?", at: "2012-07-15T08:30:00Z", fires: true },
  { source: "robfig", spec: "30 08 ? Jul Sun", at: "2012-07-16T08:30:00Z", fires: false },
  { source: "robfig", spec: "30 08 15 Jul ?", at: "2012-07-16T08:30:00Z", fires: false },
  { source: "robfig", spec: "@hourly", at: "2012-07-09T15:00:00Z", fires: true },
  { source: "robfig", spec: "@hourly", at: "2012-07-09T15:04:00Z", fires: false },
  { source: "robfig", spec: "@daily", at: "2012-07-09T15:00:00Z", fires: false },
  { source: "robfig", spec: "@daily", at: "2012-07-09T00:00:00Z", fires: true },
  { source: "robfig", spec: "@weekly", at: "2012-07-09T00:00:00Z", fires: false },
  { source: "robfig", spec: "@weekly", at: "2012-07-08T00:00:00Z", fires: true },
  { source: "robfig", spec: "@weekly", at: "2012-07-08T01:00:00Z", fires: false },
  { source: "robfig", spec: "@monthly", at: "2012-07-08T00:00:00Z", fires: false },
  { source: "robfig", spec: "@monthly", at: "2012-07-01T00:00:00Z", fires: true },
  // Both day fields restricted: either matches (robfig, cronie).
  { source: "robfig, cronie", spec: "* * 1,15 * Sun", at: "2012-07-15T00:00:00Z", fires: true },
  { source: "robfig, cronie", spec: "* * 1,15 * Sun", at: "2012-06-15T00:00:00Z", fires: true },
  { source: "robfig, cronie", spec: "* * 1,15 * Sun", at: "2012-08-01T00:00:00Z", fires: true },
  // robfig v3 says true (its #70: a step > 1 is a restriction); cronie: `*/10` starts with `*`,
  // so both must match, and the 15th is not in */10.
  {
    source: "cronie (robfig v3: true)",
    spec: "* * */10 * Sun",
    at: "2012-07-15T00:00:00Z",
    fires: false,
  },
  // One field unrestricted: both must match (robfig, cronie).
  { source: "robfig, cronie", spec: "* * * * Mon", at: "2012-07-15T00:00:00Z", fires: false },
  { source: "robfig, cronie", spec: "* * 1,15 * *", at: "2012-07-09T00:00:00Z", fires: false },
  { source: "robfig, cronie", spec: "* * 1,15 * *", at: "2012-07-15T00:00:00Z", fires: true },
  { source: "robfig, cronie", spec: "* * */2 * Sun", at: "2012-07-15T00:00:00Z", fires: true },
  // 0 and 7 are both Sunday (cronie entry.c, croniter testISOWeekday); names in any case.
  { source: "cronie", spec: "0 0 * * 0", at: "2026-01-04T00:00:00Z", fires: true },
  { source: "cronie", spec: "0 0 * * 7", at: "2026-01-04T00:00:00Z", fires: true },
  { source: "cronie", spec: "0 0 * jan SUN", at: "2026-01-04T00:00:00Z", fires: true },
  // Weekday steps end at 6: no Sunday in 1/2 (robfig parser.go; cron-parser alone says 1-7/2).
  { source: "robfig", spec: "0 0 * * 1/2", at: "2026-01-04T00:00:00Z", fires: false },
  { source: "robfig", spec: "0 0 * * MON/2", at: "2026-01-04T00:00:00Z", fires: false },
];

/** Refused by the implementation named (and by ddq). */
const REFUSED: { source: string; spec: string }[] = [
  { source: "robfig TestErrors", spec: "xyz" },
  { source: "robfig TestErrors", spec: "60 0 * * *" },
  { source: "robfig TestErrors", spec: "0 60 * * *" },
  { source: "robfig TestErrors", spec: "0 0 * * XYZ" },
  { source: "robfig TestSlash0NoHang", spec: "15/0 * * * *" },
  // robfig answers "no next time" for these; ddq refuses a schedule that never fires.
  { source: "robfig TestNext (unsatisfiable)", spec: "0 0 0 30 Feb ?" },
  { source: "robfig TestNext (unsatisfiable)", spec: "0 0 0 31 Apr ?" },
  { source: "croniter testError", spec: "* * 5-1 * *" },
  { source: "croniter testError", spec: "-90 * * * *" },
  { source: "croniter testError", spec: "a * * * *" },
  { source: "croniter testError", spec: "* * * janu-jun *" },
  { source: "croniter testError", spec: "0-10/ * * * *" },
  { source: "croniter test_invalid_zerorepeat", spec: "*/0 * * * *" },
  // Names are three letters (robfig parseIntOrName, cronie get_number, croniter ALPHACONV).
  { source: "robfig, cronie, croniter", spec: "0 0 * JANUARY *" },
  { source: "robfig, cronie, croniter", spec: "0 0 * * MONDAY" },
];

const NOW = ms("2026-01-01T00:00:00Z");

describe("cron vectors of robfig/cron, croniter and cronie", () => {
  it.each(NEXT)("$source: $spec after $after", ({ spec, after, next, timing }) => {
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
  });

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
