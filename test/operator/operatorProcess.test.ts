/**
 * `ddq operator` as its own process: killed with SIGKILL mid-flight and restarted, its resources'
 * status converges with no transition missed (it resumes the scheduler's event stream from the
 * positions saved on its Lease); SIGTERM stops it cleanly and releases the Lease.
 */
import { CoordinationV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../../proto/gen/ddq/v1/task.js";
import { POSITIONS_ANNOTATION } from "../../operator/positionStore.js";
import { startHttpTarget, waitReady } from "../api/support.js";
import type { CustomObject } from "../crds/support.js";
import { testKubeconfigPath } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import {
  cronTask,
  delayedTask,
  num,
  str,
  isoIn,
  killOperators,
  reasonsOf,
  spawnOperator,
  startRig,
  type OperatorProcess,
  type Rig,
} from "./support.js";

let rig: Rig;
let target: Awaited<ReturnType<typeof startHttpTarget>>;

beforeAll(async () => {
  rig = await startRig("opproc");
  target = await startHttpTarget(() => ({ status: 200 }));
});

afterAll(async () => {
  killOperators();
  await rig.close();
  await target.close();
});

function startOperatorProcess(identity: string): OperatorProcess {
  return spawnOperator({
    KUBECONFIG: testKubeconfigPath(),
    DDQ_SCHEDULER_ADDRESS: rig.api.address,
    DDQ_LEASE_NAMESPACE: rig.namespace,
    DDQ_IDENTITY: identity,
    DDQ_WATCH_NAMESPACES: rig.namespace,
    DDQ_HTTP_TOPIC: "ddq.http",
    DDQ_HEALTH_LISTEN: "127.0.0.1:0",
    DDQ_METRICS_LISTEN: "127.0.0.1:0",
  });
}

async function listDelayed(): Promise<CustomObject[]> {
  const list = (await rig.admin.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({
    group: "ddq.io",
    version: "v1alpha1",
    namespace: rig.namespace,
    plural: "delayedtasks",
  })) as { items: CustomObject[] };
  return list.items;
}

async function leaseAnnotations(name: string): Promise<Record<string, string>> {
  const lease = await rig.admin
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name, namespace: rig.namespace });
  return lease.metadata?.annotations ?? {};
}

describe("ddq operator (process)", () => {
  it("killed with SIGKILL mid-flight and restarted: status converges, no transition missed", async () => {
    const first = startOperatorProcess("op-proc");
    const ready = await waitReady(first);
    expect(ready).toMatchObject({ ready: true, identity: "op-proc" });
    const metrics = await fetch(`http://127.0.0.1:${String(ready.metricsPort)}/metrics`);
    expect(await metrics.text()).toContain("ddq_operator_leader");

    const names = Array.from({ length: 12 }, (_, i) => `kill-${i}`);
    await Promise.all(
      names.map((name, i) =>
        rig.objects.create(
          "delayedtasks",
          delayedTask(name, {
            runAt: isoIn(3_000 + i * 700),
            target: { http: { url: target.url } },
          }),
        ),
      ),
    );
    await rig.objects.create(
      "crontasks",
      cronTask("kill-cron", { schedule: "*/2 * * * * *", target: { http: { url: target.url } } }),
    );
    // Every task scheduled and the first ones done, then the operator dies.
    const before = await waitFor(
      async () => {
        const items = await listDelayed();
        const scheduled = items.filter((o) => str(o, "taskId") !== undefined);
        const succeeded = items.filter((o) => o.status?.phase === "Succeeded");
        return scheduled.length === names.length && succeeded.length >= 2 ? items : undefined;
      },
      { description: "all scheduled, two succeeded", timeoutMs: 30_000 },
    );
    await waitFor(
      async () => (await leaseAnnotations("ddq-operator-watch"))[POSITIONS_ANNOTATION],
      {
        description: "saved watch positions",
      },
    );
    first.child.kill("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");
    const unfinished = before.filter((o) => o.status?.phase !== "Succeeded");
    expect(unfinished.length).toBeGreaterThan(0);

    // While it is down, tasks keep firing in the scheduler; their resources do not move.
    const client = rig.api.client();
    await waitFor(
      async () => {
        let done = 0;
        for (const o of unfinished) {
          const task = await client.get(str(o, "taskId") ?? "");
          if (task.state === TaskState.TASK_STATE_SUCCEEDED) done += 1;
        }
        return done >= 3;
      },
      { description: "tasks finishing while the operator is down", timeoutMs: 20_000 },
    );

    const second = startOperatorProcess("op-proc");
    await waitReady(second);
    const converged = await waitFor(
      async () => {
        const items = await listDelayed();
        return items.length === names.length && items.every((o) => o.status?.phase === "Succeeded")
          ? items
          : undefined;
      },
      { description: "every DelayedTask Succeeded after the restart", timeoutMs: 40_000 },
    );
    expect(second.stderr()).toContain("resuming scheduler events");
    for (const o of converged) {
      expect(num(o, "attempts")).toBe(1);
      expect(str(o, "completionTime")).toBeDefined();
    }
    // No transition missed: every resource that was unfinished at the kill got its Fired and
    // Succeeded Events (from one operator or the other), and none is duplicated.
    for (const o of unfinished) {
      const reasons = await waitFor(
        async () => {
          const found = await reasonsOf(rig.admin, rig.namespace, o.metadata.name);
          return found.includes("Succeeded") ? found : undefined;
        },
        { description: `Succeeded Event of ${o.metadata.name}` },
      );
      expect(reasons.filter((r) => r === "Scheduled")).toHaveLength(1);
      expect(reasons.filter((r) => r === "Fired")).toHaveLength(1);
      expect(reasons.filter((r) => r === "Succeeded")).toHaveLength(1);
    }
    // The CronTask's counts catch up with the scheduler's.
    const scheduleId = str(await rig.objects.get("crontasks", "kill-cron"), "scheduleId") ?? "";
    const truth = await client.getSchedule(scheduleId);
    const runs = truth.schedule?.status?.runs ?? 0;
    expect(runs).toBeGreaterThan(0);
    await waitFor(
      async () => (num(await rig.objects.get("crontasks", "kill-cron"), "runs") ?? 0) >= runs,
      { description: "CronTask runs to catch up" },
    );

    // SIGTERM: a clean exit that releases the Lease.
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    const lease = await rig.admin
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: "ddq-operator", namespace: rig.namespace });
    expect(lease.spec?.holderIdentity ?? "").toBe("");
  });
});
