/**
 * The CRDs' validation and defaulting, against the real kube-apiserver: each invalid object is
 * refused with a cause on the field at fault and a message saying what is wrong; valid objects
 * are stored with the schema defaults applied.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { SPEC_DEFAULTS } from "../../operator/spec/defaults.js";
import { testAdminKubeConfig } from "../env/testContext.js";
import {
  API_VERSION,
  createTestNamespace,
  DdqObjects,
  installDdqCrds,
  rejection,
  type Plural,
} from "./support.js";

let objects: DdqObjects;
let counter = 0;

beforeAll(async () => {
  const admin = testAdminKubeConfig();
  await installDdqCrds(admin);
  objects = new DdqObjects(admin, await createTestNamespace(admin, "crd-validation"));
});

function delayedTask(spec: Record<string, unknown>, name = `dt-${++counter}`): object {
  return { apiVersion: API_VERSION, kind: "DelayedTask", metadata: { name }, spec };
}

function cronTask(spec: Record<string, unknown>, name = `ct-${++counter}`): object {
  return { apiVersion: API_VERSION, kind: "CronTask", metadata: { name }, spec };
}

const topic = { topic: "orders" };
const http = (fields: Record<string, unknown>): Record<string, unknown> => ({
  http: { url: "https://example.com/hook", ...fields },
});
const header = (fields: Record<string, unknown>): Record<string, unknown> =>
  http({ headers: [{ name: "Authorization", ...fields }] });
const secretRef = { secretKeyRef: { name: "creds", key: "token" } };

interface InvalidCase {
  name: string;
  spec: Record<string, unknown>;
  /** The field the API server names in its cause. */
  field: string;
  message: RegExp;
}

const validDelayed = { delay: "5m", target: topic };

const invalidDelayedTasks: InvalidCase[] = [
  {
    name: "both runAt and delay",
    spec: { ...validDelayed, runAt: "2026-12-24T18:00:00Z" },
    field: "spec",
    message: /exactly one of spec\.runAt or spec\.delay must be set/,
  },
  {
    name: "neither runAt nor delay",
    spec: { target: topic },
    field: "spec",
    message: /exactly one of spec\.runAt or spec\.delay must be set/,
  },
  {
    name: "a delay in days",
    spec: { ...validDelayed, delay: "5d" },
    field: "spec.delay",
    message: /spec\.delay must be a duration of whole-number parts with units h, m, s, ms/,
  },
  {
    name: "a delay with units out of order",
    spec: { ...validDelayed, delay: "30m1h" },
    field: "spec.delay",
    message: /spec\.delay must be a duration/,
  },
  {
    name: "a delay past the horizon",
    spec: { ...validDelayed, delay: "17569h" },
    field: "spec.delay",
    message: /spec\.delay must be at most 17568h \(732 days\)/,
  },
  {
    name: "a runAt that is not a date-time",
    spec: { runAt: "tomorrow", target: topic },
    field: "spec.runAt",
    message: /must be of type date-time/,
  },
  {
    name: "no target",
    spec: { delay: "5m" },
    field: "spec.target",
    message: /Required value/,
  },
  {
    name: "both topic and http",
    spec: { delay: "5m", target: { ...topic, ...http({}) } },
    field: "spec.target",
    message: /exactly one of spec\.target\.topic or spec\.target\.http must be set/,
  },
  {
    name: "an empty target",
    spec: { delay: "5m", target: {} },
    field: "spec.target",
    message: /exactly one of spec\.target\.topic or spec\.target\.http must be set/,
  },
  {
    name: "a topic with a space",
    spec: { delay: "5m", target: { topic: "my orders" } },
    field: "spec.target.topic",
    message: /should match/,
  },
  {
    name: "a topic longer than 128",
    spec: { delay: "5m", target: { topic: "t".repeat(129) } },
    field: "spec.target.topic",
    message: /may not be more than 128 bytes|Too long/,
  },
  {
    name: "an ftp URL",
    spec: { delay: "5m", target: http({ url: "ftp://example.com/file" }) },
    field: "spec.target.http.url",
    message: /spec\.target\.http\.url must be an absolute URL with scheme http or https/,
  },
  {
    name: "a relative URL",
    spec: { delay: "5m", target: http({ url: "/hook" }) },
    field: "spec.target.http.url",
    message: /must be an absolute URL/,
  },
  {
    name: "a URL without a host",
    spec: { delay: "5m", target: http({ url: "http:///hook" }) },
    field: "spec.target.http.url",
    message: /must be an absolute URL with scheme http or https and a host/,
  },
  {
    name: "no URL",
    spec: { delay: "5m", target: { http: { method: "POST" } } },
    field: "spec.target.http.url",
    message: /Required value/,
  },
  {
    name: "method TRACE",
    spec: { delay: "5m", target: http({ method: "TRACE" }) },
    field: "spec.target.http.method",
    message: /Unsupported value: "TRACE"/,
  },
  {
    name: "a body with GET",
    spec: { delay: "5m", target: http({ method: "GET", body: "{}" }) },
    field: "spec.target.http",
    message: /spec\.target\.http\.body is not allowed with method GET or HEAD/,
  },
  {
    name: "a timeout of 0",
    spec: { delay: "5m", target: http({ timeoutSeconds: 0 }) },
    field: "spec.target.http.timeoutSeconds",
    message: /greater than or equal to 1/,
  },
  {
    name: "a timeout over an hour",
    spec: { delay: "5m", target: http({ timeoutSeconds: 3601 }) },
    field: "spec.target.http.timeoutSeconds",
    message: /less than or equal to 3600/,
  },
  {
    name: "a header with value and valueFrom",
    spec: { delay: "5m", target: header({ value: "x", valueFrom: secretRef }) },
    field: "spec.target.http.headers[0]",
    message: /exactly one of value or valueFrom must be set/,
  },
  {
    name: "a header with neither value nor valueFrom",
    spec: { delay: "5m", target: header({}) },
    field: "spec.target.http.headers[0]",
    message: /exactly one of value or valueFrom must be set/,
  },
  {
    name: "a header value with CR LF",
    spec: { delay: "5m", target: header({ value: "Bearer x\r\nX-Injected: 1" }) },
    field: "spec.target.http.headers[0].value",
    message: /must not contain control characters/,
  },
  {
    name: "a header name with a space",
    spec: {
      delay: "5m",
      target: http({ headers: [{ name: "X Bad", value: "1" }] }),
    },
    field: "spec.target.http.headers[0].name",
    message: /should match/,
  },
  {
    name: "header names repeated in another case",
    spec: {
      delay: "5m",
      target: http({
        headers: [
          { name: "X-Id", value: "1" },
          { name: "x-id", value: "2" },
        ],
      }),
    },
    field: "spec.target.http.headers",
    message: /spec\.target\.http\.headers names must be unique regardless of case/,
  },
  {
    name: "a secretKeyRef without key",
    spec: {
      delay: "5m",
      target: header({ valueFrom: { secretKeyRef: { name: "creds" } } }),
    },
    field: "spec.target.http.headers[0].valueFrom.secretKeyRef.key",
    message: /Required value/,
  },
  {
    name: "a secretKeyRef with an invalid Secret name",
    spec: {
      delay: "5m",
      target: header({ valueFrom: { secretKeyRef: { name: "Creds_1", key: "token" } } }),
    },
    field: "spec.target.http.headers[0].valueFrom.secretKeyRef.name",
    message: /should match/,
  },
  {
    name: "maxAttempts 0",
    spec: { ...validDelayed, retry: { maxAttempts: 0 } },
    field: "spec.retry.maxAttempts",
    message: /greater than or equal to 1/,
  },
  {
    name: "maxAttempts 1001",
    spec: { ...validDelayed, retry: { maxAttempts: 1001 } },
    field: "spec.retry.maxAttempts",
    message: /less than or equal to 1000/,
  },
  {
    name: "backoff type Linear",
    spec: { ...validDelayed, retry: { backoff: { type: "Linear" } } },
    field: "spec.retry.backoff.type",
    message: /Unsupported value: "Linear"/,
  },
  {
    name: "initialDelay above maxDelay",
    spec: { ...validDelayed, retry: { backoff: { initialDelay: "1h", maxDelay: "10m" } } },
    field: "spec.retry.backoff.initialDelay",
    message: /spec\.retry\.backoff\.initialDelay must not exceed spec\.retry\.backoff\.maxDelay/,
  },
  {
    name: "an exponential initialDelay of 0s",
    spec: { ...validDelayed, retry: { backoff: { initialDelay: "0s" } } },
    field: "spec.retry.backoff.initialDelay",
    message: /must be more than 0 with type Exponential/,
  },
  {
    name: "a maxDelay that is not a duration",
    spec: { ...validDelayed, retry: { backoff: { maxDelay: "ten minutes" } } },
    field: "spec.retry.backoff.maxDelay",
    message: /spec\.retry\.backoff\.maxDelay must be a duration/,
  },
  {
    name: "jitterPercent 101",
    spec: { ...validDelayed, retry: { backoff: { jitterPercent: 101 } } },
    field: "spec.retry.backoff.jitterPercent",
    message: /less than or equal to 100/,
  },
  {
    name: "priority 1001",
    spec: { ...validDelayed, priority: 1001 },
    field: "spec.priority",
    message: /less than or equal to 1000/,
  },
  {
    name: "a negative priority",
    spec: { ...validDelayed, priority: -1 },
    field: "spec.priority",
    message: /greater than or equal to 0/,
  },
  {
    name: "leaseTimeoutSeconds 0",
    spec: { ...validDelayed, leaseTimeoutSeconds: 0 },
    field: "spec.leaseTimeoutSeconds",
    message: /greater than or equal to 1/,
  },
  {
    name: "leaseTimeoutSeconds over 12 hours",
    spec: { ...validDelayed, leaseTimeoutSeconds: 43_201 },
    field: "spec.leaseTimeoutSeconds",
    message: /less than or equal to 43200/,
  },
  {
    name: "a negative ttlSecondsAfterFinished",
    spec: { ...validDelayed, ttlSecondsAfterFinished: -1 },
    field: "spec.ttlSecondsAfterFinished",
    message: /greater than or equal to 0/,
  },
  {
    name: "a string where an integer belongs",
    spec: { ...validDelayed, priority: "high" },
    field: "spec.priority",
    message: /must be of type integer/,
  },
];

const validCron = { schedule: "*/5 * * * * *", target: topic };

const invalidCronTasks: InvalidCase[] = [
  {
    name: "no schedule",
    spec: { target: topic },
    field: "spec.schedule",
    message: /Required value/,
  },
  {
    name: "a schedule of 3 fields",
    spec: { ...validCron, schedule: "* * *" },
    field: "spec.schedule",
    message: /spec\.schedule must be 5 fields .* 6 fields \(second first\), a macro/,
  },
  {
    name: "a schedule of 7 fields",
    spec: { ...validCron, schedule: "0 0 0 1 1 * 2027" },
    field: "spec.schedule",
    message: /spec\.schedule must be 5 fields/,
  },
  {
    name: "an empty schedule",
    spec: { ...validCron, schedule: "" },
    field: "spec.schedule",
    message: /at least 1 chars long|should be at least 1/,
  },
  {
    name: "an additional schedule of 2 fields",
    spec: { ...validCron, additionalSchedules: ["@hourly", "1 2"] },
    field: "spec.additionalSchedules[1]",
    message: /each of spec\.additionalSchedules must be 5 fields/,
  },
  {
    name: "an additional schedule repeating the schedule",
    spec: { ...validCron, additionalSchedules: ["*/5 * * * * *"] },
    field: "spec.additionalSchedules",
    message: /spec\.additionalSchedules must not repeat spec\.schedule/,
  },
  {
    name: "a repeated additional schedule",
    spec: { ...validCron, additionalSchedules: ["@hourly", "@hourly"] },
    field: "spec.additionalSchedules[1]",
    message: /Duplicate value/,
  },
  {
    name: "32 additional schedules",
    spec: {
      ...validCron,
      additionalSchedules: Array.from({ length: 32 }, (_, i) => `${i} * * * * *`),
    },
    field: "spec.additionalSchedules",
    message: /must have at most 31 items|Too many/,
  },
  {
    name: "an offset as time zone",
    spec: { ...validCron, timeZone: "+05:00" },
    field: "spec.timeZone",
    message: /spec\.timeZone must be an IANA time zone name/,
  },
  {
    name: "dstGapPolicy in lower case",
    spec: { ...validCron, dstGapPolicy: "shift" },
    field: "spec.dstGapPolicy",
    message: /Unsupported value: "shift"/,
  },
  {
    name: "dstFoldPolicy Both",
    spec: { ...validCron, dstFoldPolicy: "Both" },
    field: "spec.dstFoldPolicy",
    message: /Unsupported value: "Both"/,
  },
  {
    name: "endAt before startAt",
    spec: { ...validCron, startAt: "2027-01-02T00:00:00Z", endAt: "2027-01-01T00:00:00Z" },
    field: "spec.endAt",
    message: /spec\.endAt must be after spec\.startAt/,
  },
  {
    name: "endAt equal to startAt in another offset",
    spec: {
      ...validCron,
      startAt: "2027-01-02T01:00:00+01:00",
      endAt: "2027-01-02T00:00:00Z",
    },
    field: "spec.endAt",
    message: /spec\.endAt must be after spec\.startAt/,
  },
  {
    name: "a startAt that is not a date-time",
    spec: { ...validCron, startAt: "next monday" },
    field: "spec.startAt",
    message: /must be of type date-time/,
  },
  {
    name: "maxRuns 0",
    spec: { ...validCron, maxRuns: 0 },
    field: "spec.maxRuns",
    message: /greater than or equal to 1/,
  },
  {
    name: "concurrencyPolicy Never",
    spec: { ...validCron, concurrencyPolicy: "Never" },
    field: "spec.concurrencyPolicy",
    message: /Unsupported value: "Never"/,
  },
  {
    name: "startingDeadlineSeconds 0",
    spec: { ...validCron, startingDeadlineSeconds: 0 },
    field: "spec.startingDeadlineSeconds",
    message: /greater than or equal to 1/,
  },
  {
    name: "catchUp None",
    spec: { ...validCron, catchUp: "None" },
    field: "spec.catchUp",
    message: /Unsupported value: "None"/,
  },
  {
    name: "maxBurst 1001",
    spec: { ...validCron, maxBurst: 1001 },
    field: "spec.maxBurst",
    message: /less than or equal to 1000/,
  },
  {
    name: "jitterSeconds over an hour",
    spec: { ...validCron, jitterSeconds: 3601 },
    field: "spec.jitterSeconds",
    message: /less than or equal to 3600/,
  },
  {
    name: "successfulHistoryLimit 101",
    spec: { ...validCron, successfulHistoryLimit: 101 },
    field: "spec.successfulHistoryLimit",
    message: /less than or equal to 100/,
  },
  {
    name: "a negative failedHistoryLimit",
    spec: { ...validCron, failedHistoryLimit: -1 },
    field: "spec.failedHistoryLimit",
    message: /greater than or equal to 0/,
  },
  {
    name: "missedHistoryLimit 101",
    spec: { ...validCron, missedHistoryLimit: 101 },
    field: "spec.missedHistoryLimit",
    message: /less than or equal to 100/,
  },
  {
    name: "suspend as a string",
    spec: { ...validCron, suspend: "yes" },
    field: "spec.suspend",
    message: /must be of type boolean/,
  },
  {
    name: "the shared target rules: both topic and http",
    spec: { ...validCron, target: { ...topic, ...http({}) } },
    field: "spec.target",
    message: /exactly one of spec\.target\.topic or spec\.target\.http must be set/,
  },
  {
    name: "the shared retry rules: initialDelay above maxDelay",
    spec: { ...validCron, retry: { backoff: { initialDelay: "2h", maxDelay: "1h" } } },
    field: "spec.retry.backoff.initialDelay",
    message: /must not exceed spec\.retry\.backoff\.maxDelay/,
  },
];

async function expectRefused(plural: Plural, body: object, field: string, message: RegExp) {
  const refused = await rejection(objects.create(plural, body));
  expect(refused.code).toBe(422);
  const causes = refused.causes.filter((cause) => cause.field === field);
  expect(
    causes,
    `no cause on ${field}; causes: ${JSON.stringify(refused.causes)}`,
  ).not.toHaveLength(0);
  expect(causes.map((cause) => cause.message).join("\n")).toMatch(message);
  // The summary message a user sees (kubectl) names the field too.
  expect(refused.message).toContain(field);
}

describe("DelayedTask validation", () => {
  it.each(invalidDelayedTasks)("refuses $name on $field", async ({ spec, field, message }) => {
    await expectRefused("delayedtasks", delayedTask(spec), field, message);
  });

  it("refuses a misspelled field with strict field validation, naming it", async () => {
    const refused = await rejection(
      objects.create("delayedtasks", delayedTask({ ...validDelayed, runat: "x" }), {
        strict: true,
      }),
    );
    expect(refused.message).toMatch(/unknown field "spec\.runat"/);
  });

  it("stores a minimal topic task with every default applied", async () => {
    const created = await objects.create("delayedtasks", delayedTask(validDelayed));
    expect(created.spec).toEqual({
      delay: "5m",
      target: { topic: "orders" },
      retry: {
        maxAttempts: SPEC_DEFAULTS.maxAttempts,
        backoff: {
          type: SPEC_DEFAULTS.backoffType,
          initialDelay: SPEC_DEFAULTS.initialDelay,
          maxDelay: SPEC_DEFAULTS.maxDelay,
          jitterPercent: SPEC_DEFAULTS.jitterPercent,
        },
      },
      priority: SPEC_DEFAULTS.priority,
      leaseTimeoutSeconds: SPEC_DEFAULTS.leaseTimeoutSeconds,
    });
    expect(created.metadata.generation).toBe(1);
  });

  it("applies nested defaults inside a partly given retry", async () => {
    const created = await objects.create(
      "delayedtasks",
      delayedTask({ ...validDelayed, retry: { backoff: { type: "Fixed", initialDelay: "0s" } } }),
    );
    expect(created.spec?.["retry"]).toEqual({
      maxAttempts: 5,
      backoff: { type: "Fixed", initialDelay: "0s", maxDelay: "10m", jitterPercent: 20 },
    });
  });

  it("stores an http task with the http defaults", async () => {
    const created = await objects.create(
      "delayedtasks",
      delayedTask({
        runAt: "2026-12-24T18:00:00+01:00",
        target: http({
          headers: [
            { name: "Authorization", valueFrom: secretRef },
            { name: "X-Note", value: "tab\tallowed" },
          ],
        }),
      }),
    );
    expect(created.spec?.["target"]).toEqual({
      http: {
        url: "https://example.com/hook",
        method: SPEC_DEFAULTS.httpMethod,
        timeoutSeconds: SPEC_DEFAULTS.httpTimeoutSeconds,
        headers: [
          { name: "Authorization", valueFrom: secretRef },
          { name: "X-Note", value: "tab\tallowed" },
        ],
      },
    });
  });

  it.each([
    ["a string", "hello"],
    ["a number", 42],
    ["an object", { orderId: 1234, items: [{ sku: "a", qty: 2 }], gift: false }],
    ["a list", [1, "two", null]],
  ])("keeps a payload that is %s as written", async (_kind, payload) => {
    const created = await objects.create(
      "delayedtasks",
      delayedTask({ delay: "1s", target: { topic: "t", payload } }),
    );
    expect((created.spec?.["target"] as { payload: unknown }).payload).toEqual(payload);
  });

  it.each([
    ["the longest delay", { delay: "17568h" }],
    ["a delay in milliseconds", { delay: "1500ms" }],
    ["a delay with every unit", { delay: "1h2m3s4ms" }],
    ["a zero delay", { delay: "0s" }],
    ["a runAt with fractional seconds and an offset", { runAt: "2027-03-01T10:00:00.250-05:00" }],
  ])("accepts %s", async (_name, due) => {
    await objects.create("delayedtasks", delayedTask({ ...due, target: topic }), {
      dryRun: true,
    });
  });

  it("drops unknown fields (the schema is structural)", async () => {
    const created = await objects.create(
      "delayedtasks",
      delayedTask({ ...validDelayed, surprise: true, target: { topic: "t", extra: 1 } }),
    );
    expect(created.spec).not.toHaveProperty("surprise");
    expect(created.spec?.["target"]).toEqual({ topic: "t" });
  });
});

describe("CronTask validation", () => {
  it.each(invalidCronTasks)("refuses $name on $field", async ({ spec, field, message }) => {
    await expectRefused("crontasks", cronTask(spec), field, message);
  });

  it("stores a minimal CronTask with every default applied", async () => {
    const created = await objects.create("crontasks", cronTask(validCron));
    expect(created.spec).toEqual({
      schedule: "*/5 * * * * *",
      target: { topic: "orders" },
      timeZone: SPEC_DEFAULTS.timeZone,
      dstGapPolicy: SPEC_DEFAULTS.dstGapPolicy,
      dstFoldPolicy: SPEC_DEFAULTS.dstFoldPolicy,
      suspend: SPEC_DEFAULTS.suspend,
      concurrencyPolicy: SPEC_DEFAULTS.concurrencyPolicy,
      catchUp: SPEC_DEFAULTS.catchUp,
      maxBurst: SPEC_DEFAULTS.maxBurst,
      jitterSeconds: SPEC_DEFAULTS.jitterSeconds,
      successfulHistoryLimit: SPEC_DEFAULTS.successfulHistoryLimit,
      failedHistoryLimit: SPEC_DEFAULTS.failedHistoryLimit,
      missedHistoryLimit: SPEC_DEFAULTS.missedHistoryLimit,
      retry: {
        maxAttempts: SPEC_DEFAULTS.maxAttempts,
        backoff: {
          type: SPEC_DEFAULTS.backoffType,
          initialDelay: SPEC_DEFAULTS.initialDelay,
          maxDelay: SPEC_DEFAULTS.maxDelay,
          jitterPercent: SPEC_DEFAULTS.jitterPercent,
        },
      },
      priority: SPEC_DEFAULTS.priority,
      leaseTimeoutSeconds: SPEC_DEFAULTS.leaseTimeoutSeconds,
    });
  });

  it.each([
    ["a 5-field expression", { schedule: "30 2 * * 1-5" }],
    ["a macro", { schedule: "@daily" }],
    ["@every", { schedule: "@every 90s" }],
    ["surrounding spaces and several spaces between fields", { schedule: " 0  0 * * * " }],
    [
      "31 additional schedules",
      { additionalSchedules: Array.from({ length: 31 }, (_, i) => `${i} * * * * *`) },
    ],
    ["a time zone with + and digits", { timeZone: "Etc/GMT+5" }],
    [
      "a full window and every policy",
      {
        startAt: "2027-01-01T00:00:00Z",
        endAt: "2027-01-01T00:00:01Z",
        maxRuns: 10,
        concurrencyPolicy: "Replace",
        startingDeadlineSeconds: 31_622_400,
        catchUp: "All",
        maxBurst: 1000,
        jitterSeconds: 3600,
        suspend: true,
      },
    ],
  ])("accepts %s", async (_name, fields) => {
    await objects.create("crontasks", cronTask({ ...validCron, ...fields }), { dryRun: true });
  });
});
