/**
 * 1,000 DelayedTasks applied at once to `ddq operator` (its own process): all fire and their
 * status converges to Succeeded. Prints the time taken and the operator's memory (peak RSS).
 */
import { CustomObjectsApi } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpTarget, waitReady } from "../api/support.js";
import type { CustomObject } from "../crds/support.js";
import { testKubeconfigPath } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import {
  delayedTask,
  killOperators,
  memoryOf,
  spawnOperator,
  startRig,
  type Rig,
} from "./support.js";

const COUNT = 1_000;
let rig: Rig;
let target: Awaited<ReturnType<typeof startHttpTarget>>;

beforeAll(async () => {
  rig = await startRig("opscale", 64);
  target = await startHttpTarget(() => ({ status: 200 }));
});

afterAll(async () => {
  killOperators();
  await rig.close();
  await target.close();
});

async function phases(): Promise<Map<string, number>> {
  const list = (await rig.admin.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({
    group: "ddq.io",
    version: "v1alpha1",
    namespace: rig.namespace,
    plural: "delayedtasks",
  })) as { items: CustomObject[] };
  const counts = new Map<string, number>();
  for (const item of list.items) {
    const phase = typeof item.status?.phase === "string" ? item.status.phase : "none";
    counts.set(phase, (counts.get(phase) ?? 0) + 1);
  }
  counts.set("total", list.items.length);
  return counts;
}

describe("scale", () => {
  it(`${COUNT} DelayedTasks applied at once all fire and converge`, async () => {
    const operator = spawnOperator({
      KUBECONFIG: testKubeconfigPath(),
      DDQ_SCHEDULER_ADDRESS: rig.api.address,
      DDQ_LEASE_NAMESPACE: rig.namespace,
      DDQ_IDENTITY: "op-scale",
      DDQ_WATCH_NAMESPACES: rig.namespace,
      DDQ_HEALTH_LISTEN: "127.0.0.1:0",
      DDQ_METRICS_LISTEN: "127.0.0.1:0",
      DDQ_LOG_LEVEL: "warn",
      // A bounded heap, as in a container with a memory limit (chart default 256Mi).
      NODE_OPTIONS: "--max-old-space-size=192",
    });
    await waitReady(operator);
    const pid = operator.child.pid ?? 0;
    const baseline = memoryOf(pid);

    const started = Date.now();
    const names = Array.from({ length: COUNT }, (_, i) => `bulk-${String(i).padStart(4, "0")}`);
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = next++; i < names.length; i = next++) {
          await rig.objects.create(
            "delayedtasks",
            delayedTask(names[i] ?? "", { delay: "5s", target: { http: { url: target.url } } }),
          );
        }
      }),
    );
    const appliedMs = Date.now() - started;
    let peak = baseline.peakMiB;
    const final = await waitFor(
      async () => {
        peak = Math.max(peak, memoryOf(pid).peakMiB);
        const counts = await phases();
        return counts.get("Succeeded") === COUNT ? counts : undefined;
      },
      { description: `${COUNT} DelayedTasks Succeeded`, timeoutMs: 150_000, intervalMs: 1_000 },
    );
    const convergedMs = Date.now() - started;
    const memory = memoryOf(pid);
    const metrics = await fetch(
      `http://127.0.0.1:${String((await waitReady(operator)).metricsPort)}/metrics`,
    ).then((r) => r.text());
    console.log(
      JSON.stringify({
        count: COUNT,
        appliedMs,
        convergedMs,
        operatorRssMiB: {
          baseline: baseline.rssMiB,
          end: memory.rssMiB,
          peak: Math.max(peak, memory.peakMiB),
        },
        requests: target.requests.length,
        metrics: metrics
          .split("\n")
          .filter(
            (l) =>
              l.startsWith("ddq_operator_reconciles_total") ||
              l.startsWith("ddq_operator_kubernetes_events_total"),
          ),
      }),
    );
    expect(final.get("total")).toBe(COUNT);
    // Every task fired exactly once.
    expect(target.requests).toHaveLength(COUNT);
    operator.child.kill("SIGTERM");
    expect(await operator.exited).toBe(0);
  }, 170_000);
});
