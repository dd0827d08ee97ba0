/**
 * croniter (test_croniter.py) and cronie (entry.c, cron.c) vectors, the day-field rule, weekday
 * steps and macros. Sources and divergences: test/cron/vectors.test.ts.
 */
import type { NextVector, RefusedVector } from "./types.js";

export const OTHER_NEXT: NextVector[] = [
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

/** Refused by the implementation named (and by ddq). */
export const REFUSED: RefusedVector[] = [
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
