/**
 * robfig/cron v3.0.1 vectors (spec_test.go TestNext, TestActivation, TestErrors,
 * TestSlash0NoHang; parser.go). Sources and divergences: test/cron/vectors.test.ts.
 */
import type { ActivationVector, Extra, NextVector } from "./types.js";

const NY: Extra = { timeZone: "America/New_York" };

export const ROBFIG_NEXT: NextVector[] = [
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
];

export const ACTIVATION: ActivationVector[] = [
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
