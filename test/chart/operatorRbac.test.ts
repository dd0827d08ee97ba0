/**
 * The chart's RBAC is enough, and no more than needed: the chart's operator ServiceAccount and
 * Role are installed into the test API server, the operator runs with that ServiceAccount's
 * token (TokenRequest), and a DelayedTask goes through its whole lifecycle. A second run with one
 * rule removed (status writes) fails: the operator is refused, and the resource never shows it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Operator } from "../../operator/operator.js";
import { serviceAccountKubeConfig } from "../env/kubeClients.js";
import { waitFor } from "../env/waitFor.js";
import { startHttpTarget } from "../api/support.js";
import { delayedTask, phaseIs, startRig, waitForStatus, type Rig } from "../operator/support.js";
import type { Manifest } from "../env/deployTools.js";
import { uniqueName } from "./kubectl.js";
import { installRbac } from "./rbacInstall.js";

let rig: Rig;
let target: Awaited<ReturnType<typeof startHttpTarget>>;
const release = uniqueName("oprbac");
const operatorAccount = `${release}-ddq-operator`;

beforeAll(async () => {
  rig = await startRig("chart-oprbac");
  target = await startHttpTarget(() => ({ status: 200, body: "ok" }));
});

afterAll(async () => {
  await rig.close();
  await target.close();
});

/** Runs the operator as the chart's operator ServiceAccount; collects what it logs. */
async function operatorAsChartAccount(): Promise<{ operator: Operator; logs: string[] }> {
  const kubeConfig = await serviceAccountKubeConfig(rig.admin, {
    namespace: rig.namespace,
    name: operatorAccount,
  });
  const logs: string[] = [];
  const operator = rig.startOperator({
    kubeConfig,
    log: (message, fields) => logs.push(`${message} ${JSON.stringify(fields ?? {})}`),
  });
  await waitFor(() => operator.isLeader, { description: "the operator leads (its Lease)" });
  return { operator, logs };
}

function httpTask(name: string): object {
  return delayedTask(name, {
    delay: "1s",
    target: { http: { url: target.url, method: "POST", body: name } },
  });
}

/** The chart's operator Role without the rule that allows writing the resources' status. */
function withoutStatusRule(objects: Manifest[]): Manifest[] {
  const edited = objects.filter((o) => o.kind === "Role" && o.metadata.name.endsWith("-operator"));
  expect(edited).toHaveLength(1);
  return objects.map((o) => {
    if (o.kind !== "Role" || !o.metadata.name.endsWith("-operator")) return o;
    const rules = (o.rules as { resources?: string[] }[]).filter(
      (rule) => !(rule.resources ?? []).includes("delayedtasks/status"),
    );
    expect(rules.length).toBe((o.rules as unknown[]).length - 1);
    return { ...o, rules };
  });
}

describe("the chart's operator RBAC", () => {
  it("is enough for a DelayedTask's whole lifecycle, and a run without one rule fails", async () => {
    const set = [`operator.watchNamespaces[0]=${rig.namespace}`];
    const installed = await installRbac(release, rig.namespace, set);
    expect(installed.map((o) => o.kind)).toEqual(
      expect.arrayContaining(["ServiceAccount", "Role", "RoleBinding"]),
    );

    const first = await operatorAsChartAccount();
    await rig.objects.create("delayedtasks", httpTask("rbac-ok"));
    const done = await waitForStatus(
      rig.objects,
      "delayedtasks",
      "rbac-ok",
      phaseIs("Succeeded"),
      "Succeeded",
    );
    expect((done.metadata as { finalizers?: string[] }).finalizers).toEqual(["ddq.io/finalizer"]);
    expect(target.requests.map((r) => r.body)).toContain("rbac-ok");
    expect(first.logs.join("\n")).not.toMatch(/forbidden/i);
    await first.operator.stop();

    // Same chart RBAC minus one rule: the operator is refused where it needs that rule.
    await installRbac(release, rig.namespace, set, withoutStatusRule);
    const second = await operatorAsChartAccount();
    await rig.objects.create("delayedtasks", httpTask("rbac-missing-rule"));
    await waitFor(() => second.logs.some((line) => /forbidden|403/i.test(line)), {
      description: "the operator refused a status write",
    });
    const object = await rig.objects.get("delayedtasks", "rbac-missing-rule");
    expect(object.status?.phase).toBeUndefined();
    await second.operator.stop();
  });
});
