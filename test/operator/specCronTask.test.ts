/** CronTask -> CronScheduleSpec: pure conversion, the schedule id, and what CEL cannot check. */
import { describe, expect, it } from "vitest";
import { checkCronSpec } from "../../scheduler/cron/cronSpec.js";
import { nextFireAfter } from "../../scheduler/cron/nextFire.js";
import { DEFAULT_DEFAULTS, DEFAULT_LIMITS } from "../../scheduler/engine/model.js";
import { SCHEDULE_ID } from "../../scheduler/engine/taskId.js";
import { cronScheduleId, cronTaskToScheduleSpec } from "../../operator/spec/cronTask.js";
import { formatSpecErrors, type SpecError, type SpecResult } from "../../operator/spec/errors.js";
import type { SecretData } from "../../operator/spec/template.js";
import type { CronTask, CronTaskSpec } from "../../operator/spec/types.js";

const NOW = Date.parse("2026-11-21T10:00:00Z");
const UID = "0b7e4d2c-9a1f-4c3e-8d5b-6a7f8e9d0c1b";

function resource(spec: Partial<CronTaskSpec>, name = "nightly-report"): CronTask {
  return {
    apiVersion: "ddq.io/v1alpha1",
    kind: "CronTask",
    metadata: {
      name,
      namespace: "reports",
      uid: UID,
      generation: 2,
      creationTimestamp: "2026-11-01T00:00:00Z",
    },
    spec: { schedule: "*/5 * * * * *", target: { topic: "heartbeats" }, ...spec },
  };
}

function ok<T>(result: SpecResult<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${formatSpecErrors(result.errors)}`);
  return result.value;
}

function errorsOf<T>(result: SpecResult<T>): SpecError[] {
  if (result.ok) throw new Error("expected spec errors, got success");
  return result.errors;
}

const convert = async (spec: Partial<CronTaskSpec>) =>
  cronTaskToScheduleSpec(resource(spec), { nowMs: NOW });

describe("conversion", () => {
  it("turns a minimal CronTask into a schedule with the CRD's defaults", async () => {
    const schedule = ok(await convert({ target: { topic: "heartbeats", payload: "ping" } }));
    expect(schedule).toEqual({
      id: "reports.nightly-report.0b7e4d2c",
      timing: { schedules: ["*/5 * * * * *"], timeZone: "UTC", dstGap: "shift", dstFold: "first" },
      suspend: false,
      concurrencyPolicy: "Allow",
      catchUp: "Latest",
      maxBurst: 10,
      jitterMs: 0,
      successfulHistoryLimit: 3,
      failedHistoryLimit: 1,
      missedHistoryLimit: 10,
      task: {
        topic: "heartbeats",
        payload: Buffer.from("ping"),
        priority: 0,
        maxAttempts: 5,
        backoff: { kind: "exponential", initialMs: 1000, maxMs: 600_000, jitter: 0.2 },
        leaseTimeoutMs: 30_000,
        owner: { kind: "CronTask", namespace: "reports", name: "nightly-report", uid: UID },
      },
    });
    // The scheduler takes it as it is, including the "does it ever fire" search.
    expect(() =>
      checkCronSpec(schedule, DEFAULT_LIMITS, DEFAULT_DEFAULTS, { full: true, nowMs: NOW }),
    ).not.toThrow();
  });

  it("maps every policy field, the zone and DST policy, and the window", async () => {
    const schedule = ok(
      await convert({
        schedule: "30 2 * * *",
        additionalSchedules: ["@every 6h", "0 0 12 * * 1-5"],
        timeZone: "Europe/Berlin",
        dstGapPolicy: "Skip",
        dstFoldPolicy: "Last",
        suspend: true,
        startAt: "2027-01-01T00:00:00+01:00",
        endAt: "2028-01-01T00:00:00Z",
        maxRuns: 500,
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: 600,
        catchUp: "All",
        maxBurst: 4,
        jitterSeconds: 30,
        successfulHistoryLimit: 7,
        failedHistoryLimit: 2,
        missedHistoryLimit: 20,
        priority: 10,
        leaseTimeoutSeconds: 900,
        retry: { maxAttempts: 3, backoff: { type: "Fixed", initialDelay: "1m" } },
      }),
    );
    expect(schedule).toMatchObject({
      timing: {
        schedules: ["30 2 * * *", "@every 6h", "0 0 12 * * 1-5"],
        timeZone: "Europe/Berlin",
        dstGap: "skip",
        dstFold: "last",
        startAt: Date.parse("2026-12-31T23:00:00Z"),
        endAt: Date.parse("2028-01-01T00:00:00Z"),
      },
      suspend: true,
      maxRuns: 500,
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 600,
      catchUp: "All",
      maxBurst: 4,
      jitterMs: 30_000,
      successfulHistoryLimit: 7,
      failedHistoryLimit: 2,
      missedHistoryLimit: 20,
      task: {
        priority: 10,
        leaseTimeoutMs: 900_000,
        maxAttempts: 3,
        backoff: { kind: "fixed", delayMs: 60_000 },
      },
    });
    // The Berlin 02:30 with Skip: no fire on the spring-forward night of 2027-03-28.
    const fire = nextFireAfter(
      { ...schedule.timing, schedules: ["30 2 * * *"] },
      Date.parse("2027-03-27T02:00:00Z"),
    );
    expect(new Date(fire ?? 0).toISOString()).toBe("2027-03-29T00:30:00.000Z");
  });

  it("sends an http target to the http topic with Secret headers resolved", async () => {
    const readSecret = (): Promise<SecretData | undefined> =>
      Promise.resolve({ data: { token: Buffer.from("s3cret").toString("base64") } });
    const schedule = ok(
      await cronTaskToScheduleSpec(
        resource({
          target: {
            http: {
              url: "https://ci.example/hooks/nightly",
              headers: [
                { name: "X-Token", valueFrom: { secretKeyRef: { name: "ci", key: "token" } } },
              ],
            },
          },
        }),
        { nowMs: NOW, readSecret, httpTopic: "ddq.http" },
      ),
    );
    expect(schedule.task.topic).toBe("ddq.http");
    expect(JSON.parse(Buffer.from(schedule.task.payload ?? new Uint8Array()).toString())).toEqual({
      url: "https://ci.example/hooks/nightly",
      method: "POST",
      headers: { "X-Token": "s3cret" },
      timeoutSeconds: 30,
    });
  });
});

describe("the schedule id", () => {
  const meta = (name: string, uid = UID) => ({ name, namespace: "reports", uid });

  it("is <namespace>.<name>.<first 8 of uid>, a valid scheduler id", () => {
    const id = cronScheduleId(meta("nightly-report"));
    expect(id).toBe("reports.nightly-report.0b7e4d2c");
    expect(id).toMatch(SCHEDULE_ID);
  });

  it("differs for a resource created again under the same name", () => {
    expect(cronScheduleId(meta("a", "11111111-0000-0000-0000-000000000000"))).not.toBe(
      cronScheduleId(meta("a", "22222222-0000-0000-0000-000000000000")),
    );
  });

  it("shortens long names to 200 characters, keeping them apart by a hash", () => {
    const long = `${"a".repeat(240)}.x`;
    const other = `${"a".repeat(240)}.y`;
    const id = cronScheduleId(meta(long));
    expect(id.length).toBeLessThanOrEqual(200);
    expect(id).toMatch(SCHEDULE_ID);
    expect(id.startsWith("reports.aaaa")).toBe(true);
    expect(id.endsWith(".0b7e4d2c")).toBe(true);
    expect(cronScheduleId(meta(other))).not.toBe(id);
    expect(cronScheduleId(meta(long))).toBe(id);
  });
});

describe("what CEL cannot check", () => {
  it.each<[string, Partial<CronTaskSpec>, string, RegExp]>([
    [
      "a value out of range",
      { schedule: "61 * * * *" },
      "spec.schedule",
      /^invalid cron expression "61 \* \* \* \*": Constraint error, got value 61 expected range 0-59$/,
    ],
    [
      "a bad second expression",
      { additionalSchedules: ["@hourly", "0 0 * * MON-XYZ"] },
      "spec.additionalSchedules[1]",
      /^invalid cron expression "0 0 \* \* MON-XYZ"/,
    ],
    ["an unknown macro", { schedule: "@reboot" }, "spec.schedule", /^unknown macro "@reboot"/],
    [
      "a full month name (the API's message, on the resource's field)",
      { schedule: "0 0 * JANUARY *" },
      "spec.schedule",
      /^invalid cron expression "0 0 \* JANUARY \*": unknown month name "JANUARY": months are 1-12 or JAN\.\.DEC/,
    ],
    [
      "a full weekday name in an additional schedule",
      { additionalSchedules: ["0 0 * * Monday"] },
      "spec.additionalSchedules[0]",
      /unknown weekday name "Monday"/,
    ],
    [
      "an @every below one second",
      { schedule: "@every 500ms" },
      "spec.schedule",
      /shorter than the minimum of 1s/,
    ],
    [
      "hashed values",
      { schedule: "H * * * *" },
      "spec.schedule",
      /hashed values \(H\) are not supported/,
    ],
    [
      "February 30",
      { schedule: "0 0 30 2 *" },
      "spec.schedule",
      /never fires: its day of month does not occur in any of its months/,
    ],
    [
      "a DST-only slot skipped every year",
      { schedule: "30 2 * 3 0#2", timeZone: "America/New_York", dstGapPolicy: "Skip" },
      "spec.schedule",
      /^"30 2 \* 3 0#2" never fires in America\/New_York \(dstGap "skip", dstFold "first"\)/,
    ],
    [
      "an unknown time zone",
      { timeZone: "Mars/Olympus_Mons" },
      "spec.timeZone",
      /^unknown IANA time zone "Mars\/Olympus_Mons"$/,
    ],
    [
      "a window without a fire",
      { schedule: "0 * * * *", startAt: "2027-01-01T10:01:00Z", endAt: "2027-01-01T10:59:00Z" },
      "spec.endAt",
      /^the schedule has no fire from spec\.startAt \(2027-01-01T10:01:00\.000Z\) until spec\.endAt \(2027-01-01T10:59:00\.000Z\) in UTC$/,
    ],
    [
      "a window in the zone's wall clock without a fire",
      {
        schedule: "0 9 * * *",
        timeZone: "Asia/Tokyo",
        startAt: "2027-01-01T01:00:00Z",
        endAt: "2027-01-01T23:00:00Z",
      },
      "spec.endAt",
      /no fire .* in Asia\/Tokyo$/,
    ],
  ])("reports %s", async (_name, spec, field, message) => {
    const errors = errorsOf(await convert(spec));
    expect(errors.map((e) => e.field)).toEqual([field]);
    expect(errors[0]?.message).toMatch(message);
  });

  it("reads the crontab dialect as the API does: weekday steps end at 6, a leading * ands the day fields", async () => {
    // Refused as a duplicate before (1/2 read as 1-7/2 with 0 listed): now Fri and Sun.
    const steps = ok(await convert({ schedule: "0 0 * * 5/2,0" }));
    expect(steps.timing.schedules).toEqual(["0 0 * * 5/2,0"]);
    const mondays = checkCronSpec(
      ok(await convert({ schedule: "0 0 */1 * 1" })),
      DEFAULT_LIMITS,
      DEFAULT_DEFAULTS,
      { full: true, nowMs: NOW },
    );
    const first = nextFireAfter(mondays.timing, NOW) ?? 0;
    expect(new Date(first).toISOString()).toBe("2026-11-23T00:00:00.000Z"); // a Monday
    expect(new Date(nextFireAfter(mondays.timing, first) ?? 0).toISOString()).toBe(
      "2026-11-30T00:00:00.000Z",
    );
  });

  it("accepts the same DST slot with Shift (it fires at the transition)", async () => {
    ok(await convert({ schedule: "30 2 * 3 0#2", timeZone: "America/New_York" }));
  });

  it("accepts a zone alias and a window with a fire", async () => {
    ok(
      await convert({
        schedule: "0 * * * *",
        timeZone: "US/Eastern",
        startAt: "2027-01-01T10:00:00Z",
        endAt: "2027-01-01T10:00:01Z",
      }),
    );
  });

  it("reports every bad expression, each on its own field, and a bad zone once", async () => {
    const errors = errorsOf(
      await convert({
        schedule: "0 0 30 2 *",
        additionalSchedules: ["@hourly", "99 * * * *", "@every 2h"],
        timeZone: "Nowhere/City",
      }),
    );
    expect(errors.map((e) => e.field)).toEqual([
      "spec.schedule",
      "spec.timeZone",
      "spec.additionalSchedules[1]",
    ]);
  });

  it("reports timing and target errors together", async () => {
    const errors = errorsOf(
      await cronTaskToScheduleSpec(
        resource({
          schedule: "* * * * * * *",
          jitterSeconds: 7200,
          target: {
            http: {
              url: "https://x.example",
              headers: [{ name: "A", valueFrom: { secretKeyRef: { name: "gone", key: "k" } } }],
            },
          },
        }),
        { nowMs: NOW, readSecret: () => Promise.resolve(undefined) },
      ),
    );
    expect(errors).toEqual([
      { field: "spec.jitterSeconds", message: "must be an integer from 0 to 3600, got 7200" },
      {
        field: "spec.schedule",
        message:
          'invalid cron expression "* * * * * * *": expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second first), got 7',
      },
      {
        field: "spec.target.http.headers[0].valueFrom.secretKeyRef.name",
        message: 'Secret "reports/gone" not found',
      },
    ]);
  });

  it.each<[string, Partial<CronTaskSpec>, string]>([
    [
      "endAt before startAt",
      { startAt: "2027-01-02T00:00:00Z", endAt: "2027-01-01T00:00:00Z" },
      "spec.endAt",
    ],
    ["a startAt that is not RFC 3339", { startAt: "2027-01-01" }, "spec.startAt"],
    ["maxRuns 0", { maxRuns: 0 }, "spec.maxRuns"],
    ["maxBurst 0", { maxBurst: 0 }, "spec.maxBurst"],
    ["startingDeadlineSeconds 0", { startingDeadlineSeconds: 0 }, "spec.startingDeadlineSeconds"],
    ["successfulHistoryLimit 101", { successfulHistoryLimit: 101 }, "spec.successfulHistoryLimit"],
    [
      "an unknown concurrency policy",
      { concurrencyPolicy: "Never" as "Allow" },
      "spec.concurrencyPolicy",
    ],
    ["an unknown DST gap policy", { dstGapPolicy: "shift" as "Shift" }, "spec.dstGapPolicy"],
  ])(
    "re-checks %s (objects that did not come through the API server)",
    async (_name, spec, field) => {
      expect(errorsOf(await convert(spec)).map((e) => e.field)).toEqual([field]);
    },
  );
});
