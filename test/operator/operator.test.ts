/**
 * The operator in-process against a real kube-apiserver, a real scheduler (gRPC) on Redis and a
 * real worker running the built-in http handler against a local HTTP server.
 */
import { CustomObjectsApi } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../../proto/gen/ddq/v1/task.js";
import type { Operator } from "../../operator/operator.js";
import { startHttpTarget, type RecordedRequest } from "../api/support.js";
import { isApiStatus } from "../env/kubeClients.js";
import { waitFor } from "../env/waitFor.js";
import {
  conditionOf,
  cronTask,
  delayedTask,
  eventsOf,
  items,
  num,
  str,
  isoIn,
  phaseIs,
  reasonsOf,
  startRig,
  waitForReasons,
  waitForStatus,
  type Rig,
} from "./support.js";

let rig: Rig;
let operator: Operator;
let target: Awaited<ReturnType<typeof startHttpTarget>>;
/** Per path: how the target answers. */
const behaviour = new Map<
  string,
  (request: RecordedRequest) => Promise<{ status: number }> | { status: number }
>();

beforeAll(async () => {
  rig = await startRig("op");
  target = await startHttpTarget((request) => {
    const path = new URL(request.url, "http://x").pathname;
    return behaviour.get(path)?.(request) ?? { status: 200 };
  });
  operator = rig.startOperator();
  await waitFor(() => operator.isLeader, { description: "the operator to lead" });
});

afterAll(async () => {
  await rig.close();
  await target.close();
});

const base = (): string => target.url.replace(/\/hook$/, "");
const requestsTo = (path: string): RecordedRequest[] =>
  target.requests.filter((r) => new URL(r.url, "http://x").pathname === path);

async function deleteObject(plural: "delayedtasks" | "crontasks", name: string): Promise<void> {
  await rig.admin.makeApiClient(CustomObjectsApi).deleteNamespacedCustomObject({
    group: "ddq.io",
    version: "v1alpha1",
    namespace: rig.namespace,
    plural,
    name,
  });
}

async function gone(plural: "delayedtasks" | "crontasks", name: string): Promise<boolean> {
  try {
    await rig.objects.get(plural, name);
    return false;
  } catch (error) {
    if (isApiStatus(error, 404)) return true;
    throw error;
  }
}

describe("DelayedTask", () => {
  it("fires at runAt, calls the http target and ends Succeeded with conditions and Events", async () => {
    const runAt = isoIn(3_000);
    await rig.objects.create(
      "delayedtasks",
      delayedTask("hello", {
        runAt,
        target: {
          http: {
            url: `${base()}/hello`,
            method: "POST",
            body: '{"x":1}',
            headers: [{ name: "X-Test", value: "yes" }],
          },
        },
      }),
    );
    const scheduled = await waitForStatus(
      rig.objects,
      "delayedtasks",
      "hello",
      phaseIs("Scheduled"),
      "Scheduled",
    );
    expect(scheduled.metadata).toHaveProperty("finalizers", ["ddq.io/finalizer"]);
    expect(str(scheduled, "taskId")).toMatch(/-\d+$/);
    expect(Date.parse(str(scheduled, "scheduledTime") ?? "")).toBe(Date.parse(runAt));
    expect(conditionOf(scheduled, "Valid")?.status).toBe("True");
    expect(conditionOf(scheduled, "Scheduled")?.status).toBe("True");
    expect(conditionOf(scheduled, "Succeeded")?.status).toBe("Unknown");
    expect(requestsTo("/hello")).toHaveLength(0);

    const done = await waitForStatus(
      rig.objects,
      "delayedtasks",
      "hello",
      phaseIs("Succeeded"),
      "Succeeded",
    );
    const requests = requestsTo("/hello");
    expect(requests).toHaveLength(1);
    expect(requests[0]?.body).toBe('{"x":1}');
    expect(requests[0]?.headers["x-test"]).toBe("yes");
    expect(num(done, "attempts")).toBe(1);
    expect(num(done, "observedGeneration")).toBe(1);
    expect(conditionOf(done, "Succeeded")).toMatchObject({ status: "True", reason: "Succeeded" });
    const completion = Date.parse(str(done, "completionTime") ?? "");
    // Fired at runAt: not before, and not much after (generous for a loaded 2-core machine).
    expect(completion).toBeGreaterThanOrEqual(Date.parse(runAt));
    expect(completion).toBeLessThan(Date.parse(runAt) + 8_000);
    const task = await rig.api.client().get(str(done, "taskId") ?? "");
    expect(task.state).toBe(TaskState.TASK_STATE_SUCCEEDED);
    expect(task.owner?.name).toBe("hello");
    const reasons = await waitForReasons(rig.admin, rig.namespace, "hello", [
      "Scheduled",
      "Fired",
      "Succeeded",
    ]);
    expect(reasons.filter((r) => r === "Succeeded")).toHaveLength(1);
    expect(reasons.filter((r) => r === "Scheduled")).toHaveLength(1);
  });

  it("deleted before it fires: never fires, the task is cancelled and the finalizer released", async () => {
    await rig.objects.create(
      "delayedtasks",
      delayedTask("doomed", { runAt: isoIn(4_000), target: { http: { url: `${base()}/doomed` } } }),
    );
    const scheduled = await waitForStatus(
      rig.objects,
      "delayedtasks",
      "doomed",
      phaseIs("Scheduled"),
      "Scheduled",
    );
    const taskId = str(scheduled, "taskId") ?? "";
    await deleteObject("delayedtasks", "doomed");
    await waitFor(() => gone("delayedtasks", "doomed"), { description: "doomed to be deleted" });
    const task = await rig.api.client().get(taskId);
    expect(task.state).toBe(TaskState.TASK_STATE_CANCELLED);
    // Past its due time, nothing arrived.
    await waitFor(
      () => Date.now() > Date.parse(scheduled.status?.scheduledTime as string) + 1_500,
      {
        description: "past the due time",
        timeoutMs: 10_000,
      },
    );
    expect(requestsTo("/doomed")).toHaveLength(0);
  });

  it("created and deleted at once (racing the first reconcile): never fires", async () => {
    const names = ["race-0", "race-1", "race-2", "race-3", "race-4"];
    await Promise.all(
      names.map(async (name) => {
        await rig.objects.create(
          "delayedtasks",
          delayedTask(name, { delay: "2s", target: { http: { url: `${base()}/race` } } }),
        );
        await deleteObject("delayedtasks", name);
      }),
    );
    for (const name of names)
      await waitFor(() => gone("delayedtasks", name), { description: `${name} to be deleted` });
    // Two seconds after the last creation plus margin: nothing fired.
    const until = Date.now() + 3_500;
    await waitFor(() => Date.now() > until, {
      description: "past the due times",
      timeoutMs: 10_000,
    });
    expect(requestsTo("/race")).toHaveLength(0);
  });

  it("an edited runAt reschedules: the old task is cancelled and only the new time fires", async () => {
    await rig.objects.create(
      "delayedtasks",
      delayedTask("moved", { runAt: isoIn(60_000), target: { http: { url: `${base()}/moved` } } }),
    );
    const first = await waitForStatus(
      rig.objects,
      "delayedtasks",
      "moved",
      phaseIs("Scheduled"),
      "Scheduled",
    );
    const oldTaskId = str(first, "taskId") ?? "";
    const newRunAt = isoIn(2_500);
    const edited = await rig.objects.get("delayedtasks", "moved");
    await rig.objects.replace("delayedtasks", {
      ...edited,
      spec: { ...edited.spec, runAt: newRunAt },
    });
    const rescheduled = await waitForStatus(
      rig.objects,
      "delayedtasks",
      "moved",
      (o) => num(o, "observedGeneration") === 2 && str(o, "taskId") !== oldTaskId,
      "rescheduled",
    );
    expect(Date.parse(str(rescheduled, "scheduledTime") ?? "")).toBe(Date.parse(newRunAt));
    expect((await rig.api.client().get(oldTaskId)).state).toBe(TaskState.TASK_STATE_CANCELLED);
    await waitForStatus(rig.objects, "delayedtasks", "moved", phaseIs("Succeeded"), "Succeeded");
    expect(requestsTo("/moved")).toHaveLength(1);
  });

  it("an edit after it finished does not run it again", async () => {
    await rig.objects.create(
      "delayedtasks",
      delayedTask("once", { delay: "300ms", target: { http: { url: `${base()}/once` } } }),
    );
    const done = await waitForStatus(
      rig.objects,
      "delayedtasks",
      "once",
      phaseIs("Succeeded"),
      "Succeeded",
    );
    const current = await rig.objects.get("delayedtasks", "once");
    await rig.objects.replace("delayedtasks", {
      ...current,
      spec: { ...current.spec, delay: "400ms" },
    });
    const edited = await waitForStatus(
      rig.objects,
      "delayedtasks",
      "once",
      (o) => num(o, "observedGeneration") === 2,
      "generation 2 observed",
    );
    expect(edited.status?.phase).toBe("Succeeded");
    expect(str(edited, "taskId")).toBe(str(done, "taskId"));
    expect(str(edited, "completionTime")).toBe(str(done, "completionTime"));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(requestsTo("/once")).toHaveLength(1);
  });

  it("retries a failing target with backoff (Retrying) and records the error, then succeeds", async () => {
    let calls = 0;
    behaviour.set("/flaky", () => {
      calls += 1;
      return { status: calls === 1 ? 503 : 200 };
    });
    await rig.objects.create(
      "delayedtasks",
      delayedTask("flaky", {
        delay: "1s",
        target: { http: { url: `${base()}/flaky` } },
        retry: { maxAttempts: 3, backoff: { type: "Fixed", initialDelay: "1s" } },
      }),
    );
    const done = await waitForStatus(
      rig.objects,
      "delayedtasks",
      "flaky",
      phaseIs("Succeeded"),
      "Succeeded",
    );
    expect(num(done, "attempts")).toBe(2);
    expect(str(done, "lastError")).toContain("503");
    await waitForReasons(rig.admin, rig.namespace, "flaky", [
      "Scheduled",
      "Fired",
      "Retrying",
      "Succeeded",
    ]);
  });

  it("a permanently failing target ends Failed with Succeeded=False", async () => {
    behaviour.set("/broken", () => ({ status: 400 }));
    await rig.objects.create(
      "delayedtasks",
      delayedTask("broken", { delay: "500ms", target: { http: { url: `${base()}/broken` } } }),
    );
    const failed = await waitForStatus(
      rig.objects,
      "delayedtasks",
      "broken",
      phaseIs("Failed"),
      "Failed",
    );
    expect(conditionOf(failed, "Succeeded")).toMatchObject({ status: "False", reason: "Failed" });
    expect(str(failed, "lastError")).toContain("400");
    await waitForReasons(rig.admin, rig.namespace, "broken", ["Failed"]);
  });

  it("ttlSecondsAfterFinished deletes the finished resource", async () => {
    await rig.objects.create(
      "delayedtasks",
      delayedTask("shortlived", {
        delay: "500ms",
        ttlSecondsAfterFinished: 1,
        target: { http: { url: `${base()}/shortlived` } },
      }),
    );
    await waitFor(() => gone("delayedtasks", "shortlived"), {
      description: "shortlived to be deleted after its TTL",
      timeoutMs: 20_000,
    });
    expect(requestsTo("/shortlived")).toHaveLength(1);
  });

  it("an invalid spec the API server let through gets Valid=False with the field, an Event, and nothing is scheduled", async () => {
    await rig.objects.create(
      "delayedtasks",
      delayedTask("nosecret", {
        delay: "1s",
        target: {
          http: {
            url: `${base()}/nosecret`,
            headers: [
              {
                name: "Authorization",
                valueFrom: { secretKeyRef: { name: "missing", key: "token" } },
              },
            ],
          },
        },
      }),
    );
    const invalid = await waitForStatus(
      rig.objects,
      "delayedtasks",
      "nosecret",
      phaseIs("Invalid"),
      "Invalid",
    );
    const valid = conditionOf(invalid, "Valid");
    expect(valid).toMatchObject({ status: "False", reason: "InvalidSpec" });
    expect(valid?.message).toContain("spec.target.http.headers[0].valueFrom.secretKeyRef");
    expect(str(invalid, "taskId")).toBeUndefined();
    const events = await waitFor(
      async () =>
        (await eventsOf(rig.admin, rig.namespace, "nosecret")).find(
          (e) => e.reason === "InvalidSpec",
        ),
      { description: "InvalidSpec Event" },
    );
    expect(events.type).toBe("Warning");
    expect(events.message).toContain("missing");
  });
});

describe("CronTask", () => {
  it("fires on schedule, fills history and counts; suspend stops it; delete removes the schedule", async () => {
    await rig.objects.create(
      "crontasks",
      cronTask("tick", {
        schedule: "*/2 * * * * *",
        target: { http: { url: `${base()}/tick` } },
        successfulHistoryLimit: 5,
      }),
    );
    const active = await waitForStatus(
      rig.objects,
      "crontasks",
      "tick",
      phaseIs("Active"),
      "Active",
    );
    const scheduleId = str(active, "scheduleId") ?? "";
    expect(scheduleId).toContain(`${rig.namespace}.tick.`);
    expect(str(active, "nextScheduleTime")).toBeDefined();
    const ran = await waitForStatus(
      rig.objects,
      "crontasks",
      "tick",
      (o) =>
        (num(o, "runs") ?? 0) >= 2 &&
        items(o, "history").filter((h) => h.outcome === "Succeeded").length >= 2,
      "two successful runs",
      20_000,
    );
    expect(str(ran, "lastSuccessfulTime")).toBeDefined();
    const history = items(ran, "history");
    for (const entry of history) {
      expect((entry.occurrenceId ?? "").startsWith(`${scheduleId}:`)).toBe(true);
      expect(Date.parse(entry.scheduledTime) % 2000).toBe(0);
    }
    await waitForReasons(rig.admin, rig.namespace, "tick", ["Scheduled", "Fired", "Succeeded"]);

    const current = await rig.objects.get("crontasks", "tick");
    await rig.objects.replace("crontasks", {
      ...current,
      spec: { ...current.spec, suspend: true },
    });
    const suspended = await waitForStatus(
      rig.objects,
      "crontasks",
      "tick",
      phaseIs("Suspended"),
      "Suspended",
    );
    // An occurrence fired just before the suspend may still finish; after that, for two more
    // periods of the schedule, nothing may fire.
    await waitFor(
      async () => items(await rig.objects.get("crontasks", "tick"), "active").length === 0,
      {
        description: "no active occurrence",
      },
    );
    const countAtSuspend = requestsTo("/tick").length;
    const runsAtSuspend = num(await rig.objects.get("crontasks", "tick"), "runs") ?? 0;
    expect(str(suspended, "nextScheduleTime")).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    expect(requestsTo("/tick").length).toBe(countAtSuspend);
    expect(num(await rig.objects.get("crontasks", "tick"), "runs")).toBe(runsAtSuspend);

    await deleteObject("crontasks", "tick");
    await waitFor(() => gone("crontasks", "tick"), { description: "tick to be deleted" });
    await expect(rig.api.client().getSchedule(scheduleId)).rejects.toMatchObject({ code: 5 });
  });

  it("Forbid with a slow target: one occurrence at a time, overlapping slots are Skipped", async () => {
    let running = 0;
    let maxRunning = 0;
    behaviour.set("/slow", async () => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      running -= 1;
      return { status: 200 };
    });
    await rig.objects.create(
      "crontasks",
      cronTask("slow", {
        schedule: "* * * * * *",
        concurrencyPolicy: "Forbid",
        target: { http: { url: `${base()}/slow` } },
      }),
    );
    const skipped = await waitForStatus(
      rig.objects,
      "crontasks",
      "slow",
      (o) => (num(o, "skipped") ?? 0) >= 2 && (num(o, "runs") ?? 0) >= 2,
      "skips and two runs",
      25_000,
    );
    expect(items(skipped, "active").length).toBeLessThanOrEqual(1);
    expect(maxRunning).toBe(1);
    await waitForReasons(rig.admin, rig.namespace, "slow", ["Skipped", "Fired"]);
    await deleteObject("crontasks", "slow");
    await waitFor(() => gone("crontasks", "slow"), { description: "slow to be deleted" });
  });

  it("maxRuns reached: Completed, with its Event", async () => {
    await rig.objects.create(
      "crontasks",
      cronTask("twice", {
        schedule: "* * * * * *",
        maxRuns: 2,
        target: { http: { url: `${base()}/twice` } },
      }),
    );
    const completed = await waitForStatus(
      rig.objects,
      "crontasks",
      "twice",
      phaseIs("Completed"),
      "Completed",
      20_000,
    );
    expect(num(completed, "runs")).toBe(2);
    expect(str(completed, "nextScheduleTime")).toBeUndefined();
    await waitForReasons(rig.admin, rig.namespace, "twice", ["Completed"]);
    await waitFor(() => requestsTo("/twice").length === 2, { description: "two requests" });
  });

  it("an edited schedule takes effect without a spurious run", async () => {
    await rig.objects.create(
      "crontasks",
      cronTask("edited", {
        schedule: "*/2 * * * * *",
        target: { http: { url: `${base()}/edited` } },
      }),
    );
    await waitForStatus(
      rig.objects,
      "crontasks",
      "edited",
      (o) => (num(o, "runs") ?? 0) >= 1,
      "a run",
      20_000,
    );
    const current = await rig.objects.get("crontasks", "edited");
    await rig.objects.replace("crontasks", {
      ...current,
      spec: { ...current.spec, schedule: "0 0 1 1 *" },
    });
    const yearly = await waitForStatus(
      rig.objects,
      "crontasks",
      "edited",
      (o) => num(o, "observedGeneration") === 2,
      "the edit observed",
    );
    const next = new Date(str(yearly, "nextScheduleTime") ?? "");
    expect(next.getUTCMonth()).toBe(0);
    expect(next.getUTCDate()).toBe(1);
    expect(next.getTime()).toBeGreaterThan(Date.now());
    // Any occurrence fired before the edit may finish; after that, nothing more runs.
    await waitFor(
      async () => items(await rig.objects.get("crontasks", "edited"), "active").length === 0,
      { description: "no active occurrence" },
    );
    const runs = num(await rig.objects.get("crontasks", "edited"), "runs");
    const requests = requestsTo("/edited").length;
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    expect(num(await rig.objects.get("crontasks", "edited"), "runs")).toBe(runs);
    expect(requestsTo("/edited").length).toBe(requests);
  });

  it("an invalid cron expression gets Valid=False naming spec.schedule and no schedule", async () => {
    await rig.objects.create(
      "crontasks",
      cronTask("badcron", { schedule: "0 0 31 2 *", target: { topic: "t.none" } }),
    );
    const invalid = await waitForStatus(
      rig.objects,
      "crontasks",
      "badcron",
      phaseIs("Invalid"),
      "Invalid",
    );
    const valid = conditionOf(invalid, "Valid");
    expect(valid).toMatchObject({ status: "False", reason: "InvalidSpec" });
    expect(valid?.message).toMatch(/^spec\.schedule: /);
    expect(await reasonsOf(rig.admin, rig.namespace, "badcron")).toContain("InvalidSpec");
    const schedules = await rig.api.client().listSchedules();
    expect(
      schedules.schedules.map((s) => s.spec?.id ?? "").filter((id) => id.includes(".badcron.")),
    ).toEqual([]);
  });
});

describe("scheduler unavailable", () => {
  it("backs off while the scheduler is down and converges once it is back", async () => {
    await rig.stopApi();
    try {
      await rig.objects.create(
        "delayedtasks",
        delayedTask("patient", { delay: "1s", target: { http: { url: `${base()}/patient` } } }),
      );
      await waitFor(() => operator.stats().delayedTask.errors >= 3, {
        description: "reconcile errors while the scheduler is down",
        timeoutMs: 20_000,
      });
      const during = await waitForStatus(
        rig.objects,
        "delayedtasks",
        "patient",
        phaseIs("Pending"),
        "Pending while the scheduler is down",
      );
      expect(str(during, "taskId")).toBeUndefined();
      expect(conditionOf(during, "Scheduled")).toMatchObject({
        status: "False",
        reason: "SchedulerUnavailable",
      });
      await rig.objects.create(
        "crontasks",
        cronTask("patient-cron", {
          schedule: "@every 1s",
          target: { http: { url: `${base()}/patient-cron` } },
        }),
      );
      const cronDuring = await waitForStatus(
        rig.objects,
        "crontasks",
        "patient-cron",
        phaseIs("Pending"),
        "Pending while the scheduler is down",
      );
      expect(conditionOf(cronDuring, "Scheduled")?.reason).toBe("SchedulerUnavailable");
    } finally {
      await rig.restartApi();
    }
    const done = await waitForStatus(
      rig.objects,
      "delayedtasks",
      "patient",
      phaseIs("Succeeded"),
      "Succeeded",
      30_000,
    );
    expect(num(done, "attempts")).toBe(1);
    expect(requestsTo("/patient")).toHaveLength(1);
    await waitForStatus(
      rig.objects,
      "crontasks",
      "patient-cron",
      (o) => o.status?.phase === "Active" && (num(o, "runs") ?? 0) >= 1,
      "Active and running",
      30_000,
    );
    await deleteObject("crontasks", "patient-cron");
  });
});
