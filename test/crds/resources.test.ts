/**
 * The CRDs as a user and the operator meet them, against the real kube-apiserver: the status
 * subresource (written only through /status, validated, not bumping the generation), the
 * printer columns, short names and the ddq category, through kubectl.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import {
  testAdminKubeConfig,
  testKubeconfigPath,
  testKubeTools,
  testScratchDir,
} from "../env/testContext.js";
import {
  API_VERSION,
  createTestNamespace,
  DdqObjects,
  installDdqCrds,
  rejection,
  type CustomObject,
} from "./support.js";

const run = promisify(execFile);

let objects: DdqObjects;
let namespace: string;
let cacheDir: string;

beforeAll(async () => {
  const admin = testAdminKubeConfig();
  await installDdqCrds(admin);
  namespace = await createTestNamespace(admin, "crd-resources");
  objects = new DdqObjects(admin, namespace);
  cacheDir = testScratchDir("kubectl-cache");
});

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run(testKubeTools().kubectl, [
    "--kubeconfig",
    testKubeconfigPath(),
    "--cache-dir",
    cacheDir,
    "--namespace",
    namespace,
    ...args,
  ]);
  return stdout;
}

/** kubectl's table output as rows of columns (split on runs of 2+ spaces). */
function table(output: string): string[][] {
  return output
    .trimEnd()
    .split("\n")
    .map((line) => line.trim().split(/\s{2,}/));
}

const CONDITION_TIME = "2026-11-21T10:00:00Z";

function condition(type: string, status: string, reason: string, message: string) {
  return {
    type,
    status,
    reason,
    message,
    lastTransitionTime: CONDITION_TIME,
    observedGeneration: 1,
  };
}

async function createDelayed(name: string): Promise<CustomObject> {
  return objects.create("delayedtasks", {
    apiVersion: API_VERSION,
    kind: "DelayedTask",
    metadata: { name },
    spec: { delay: "10m", target: { topic: "orders" } },
  });
}

async function createCron(name: string): Promise<CustomObject> {
  return objects.create("crontasks", {
    apiVersion: API_VERSION,
    kind: "CronTask",
    metadata: { name },
    spec: { schedule: "0 30 2 * * *", timeZone: "Europe/Berlin", target: { topic: "reports" } },
  });
}

const delayedStatus = {
  observedGeneration: 1,
  phase: "Scheduled",
  conditions: [
    condition("Valid", "True", "SpecAccepted", ""),
    condition("Scheduled", "True", "TaskCreated", "task 01KAKJ6Y0P4X8Z6W6E9B7M2N3Q-7"),
    condition("Succeeded", "Unknown", "Pending", ""),
  ],
  taskId: "01KAKJ6Y0P4X8Z6W6E9B7M2N3Q-7",
  scheduledTime: "2026-11-21T10:10:00Z",
  attempts: 2,
  lastError: "HTTP 503",
  startTime: "2026-11-21T10:10:01Z",
};

const cronStatus = {
  observedGeneration: 1,
  phase: "Active",
  conditions: [
    condition("Valid", "True", "SpecAccepted", ""),
    condition("Scheduled", "True", "ScheduleUpserted", ""),
  ],
  scheduleId: "ns.report.1234abcd",
  lastScheduleTime: "2026-11-21T01:30:00Z",
  nextScheduleTime: "2026-11-22T01:30:00Z",
  lastSuccessfulTime: "2026-11-21T01:31:10Z",
  active: [
    { occurrenceId: "ns.report.1234abcd:1763688600000-3", scheduledTime: "2026-11-21T01:30:00Z" },
  ],
  history: [
    {
      occurrenceId: "ns.report.1234abcd:1763602200000-3",
      scheduledTime: "2026-11-20T01:30:00Z",
      outcome: "Succeeded",
      finishedTime: "2026-11-20T01:31:02Z",
    },
    {
      scheduledTime: "2026-11-19T01:30:00Z",
      outcome: "Missed",
      message: "starting deadline exceeded",
    },
  ],
  runs: 12,
  missed: 1,
  skipped: 0,
};

describe("status subresource", () => {
  it("stores a DelayedTask status written through /status without changing the generation", async () => {
    const created = await createDelayed("status-dt");
    const updated = await objects.replaceStatus("delayedtasks", {
      ...created,
      status: delayedStatus,
    });
    expect(updated.status).toEqual(delayedStatus);
    expect(updated.metadata.generation).toBe(1);
    expect((await objects.get("delayedtasks", "status-dt")).status).toEqual(delayedStatus);
  });

  it("stores a CronTask status with active occurrences and history", async () => {
    const created = await createCron("status-ct");
    const updated = await objects.replaceStatus("crontasks", { ...created, status: cronStatus });
    expect(updated.status).toEqual(cronStatus);
    expect(updated.metadata.generation).toBe(1);
  });

  it("ignores a status sent to the main resource, and a spec sent to /status", async () => {
    const created = await createDelayed("status-split");
    const withStatus = await objects.replaceStatus("delayedtasks", {
      ...created,
      status: delayedStatus,
    });
    // A spec change through the main resource bumps the generation and keeps the status.
    const edited = await objects.replace("delayedtasks", {
      ...withStatus,
      spec: { ...withStatus.spec, delay: "20m" },
      status: { ...delayedStatus, phase: "Succeeded" },
    });
    expect(edited.metadata.generation).toBe(2);
    expect(edited.spec?.["delay"]).toBe("20m");
    expect(edited.status).toEqual(delayedStatus);
    // A spec change through /status is dropped.
    const statusOnly = await objects.replaceStatus("delayedtasks", {
      ...edited,
      spec: { ...edited.spec, delay: "99m" },
      status: { ...delayedStatus, phase: "Running" },
    });
    expect(statusOnly.spec?.["delay"]).toBe("20m");
    expect(statusOnly.status?.["phase"]).toBe("Running");
    expect(statusOnly.metadata.generation).toBe(2);
  });

  it.each([
    [
      "an unknown DelayedTask phase",
      "delayedtasks",
      { phase: "Done" },
      "status.phase",
      /Unsupported value: "Done"/,
    ],
    [
      "a condition without reason",
      "delayedtasks",
      {
        conditions: [
          { type: "Valid", status: "True", message: "", lastTransitionTime: CONDITION_TIME },
        ],
      },
      "status.conditions[0].reason",
      /Required value/,
    ],
    [
      "a condition status that is not True, False or Unknown",
      "delayedtasks",
      { conditions: [condition("Valid", "Yes", "SpecAccepted", "")] },
      "status.conditions[0].status",
      /Unsupported value: "Yes"/,
    ],
    [
      "an unknown CronTask phase",
      "crontasks",
      { phase: "Running" },
      "status.phase",
      /Unsupported value: "Running"/,
    ],
    [
      "an unknown history outcome",
      "crontasks",
      { history: [{ scheduledTime: CONDITION_TIME, outcome: "Lost" }] },
      "status.history[0].outcome",
      /Unsupported value: "Lost"/,
    ],
    [
      "a negative run count",
      "crontasks",
      { runs: -1 },
      "status.runs",
      /greater than or equal to 0/,
    ],
  ] as const)("refuses %s", async (_name, plural, status, field, message) => {
    const created =
      plural === "delayedtasks"
        ? await createDelayed(`bad-status-${field.replace(/\W+/g, "-")}-dt`)
        : await createCron(`bad-status-${field.replace(/\W+/g, "-")}-ct`);
    const refused = await rejection(objects.replaceStatus(plural, { ...created, status }));
    expect(refused.code).toBe(422);
    const cause = refused.causes.find((c) => c.field === field);
    expect(cause, JSON.stringify(refused.causes)).toBeDefined();
    expect(cause?.message).toMatch(message);
  });
});

describe("kubectl: printer columns, short names, category", () => {
  it("shows a DelayedTask's phase, due time and attempts, and topic and task id with -o wide", async () => {
    const created = await createDelayed("columns-dt");
    await objects.replaceStatus("delayedtasks", { ...created, status: delayedStatus });
    const [header, row] = table(await kubectl("get", "dt", "columns-dt"));
    expect(header).toEqual(["NAME", "PHASE", "SCHEDULED", "ATTEMPTS", "AGE"]);
    expect(row?.slice(0, 4)).toEqual(["columns-dt", "Scheduled", "2026-11-21T10:10:00Z", "2"]);

    const [wideHeader, wideRow] = table(
      await kubectl("get", "delayedtask", "columns-dt", "-o", "wide"),
    );
    expect(wideHeader).toEqual([
      "NAME",
      "PHASE",
      "SCHEDULED",
      "ATTEMPTS",
      "TOPIC",
      "TASK ID",
      "AGE",
    ]);
    expect(wideRow?.slice(4, 6)).toEqual(["orders", "01KAKJ6Y0P4X8Z6W6E9B7M2N3Q-7"]);
  });

  it("shows a CronTask's schedule, zone, suspension, phase and schedule times, runs with -o wide", async () => {
    const created = await createCron("columns-ct");
    await objects.replaceStatus("crontasks", { ...created, status: cronStatus });
    const [header, row] = table(await kubectl("get", "ct", "columns-ct"));
    expect(header).toEqual([
      "NAME",
      "SCHEDULE",
      "TIME ZONE",
      "SUSPEND",
      "PHASE",
      "LAST SCHEDULE",
      "NEXT SCHEDULE",
      "AGE",
    ]);
    expect(row?.slice(0, 5)).toEqual([
      "columns-ct",
      "0 30 2 * * *",
      "Europe/Berlin",
      "false",
      "Active",
    ]);
    // Last Schedule is an age ("5d"), Next Schedule the instant itself (a date column would
    // print "<invalid>" for a time in the future).
    expect(row?.[5]).toMatch(/^\d+[smhdy]/);
    expect(row?.[6]).toBe("2026-11-22T01:30:00Z");

    const [wideHeader, wideRow] = table(
      await kubectl("get", "crontasks.ddq.io", "columns-ct", "-o", "wide"),
    );
    expect(wideHeader).toContain("RUNS");
    expect(wideHeader).toContain("MISSED");
    expect(wideRow?.[wideHeader?.indexOf("RUNS") ?? -1]).toBe("12");
    expect(wideRow?.[wideHeader?.indexOf("MISSED") ?? -1]).toBe("1");
  });

  it("lists both kinds under the ddq category", async () => {
    await createDelayed("category-dt");
    await createCron("category-ct");
    const names = (await kubectl("get", "ddq", "-o", "name")).trim().split("\n");
    expect(names).toContain("delayedtask.ddq.io/category-dt");
    expect(names).toContain("crontask.ddq.io/category-ct");
  });

  it("explains the fields from the published schema", async () => {
    const explained = await kubectl("explain", "crontask.spec.dstGapPolicy");
    expect(explained).toMatch(/Shift\s+fires once at the transition instant/);
  });
});
