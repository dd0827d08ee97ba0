import type { V1Deployment, V1StatefulSet } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { chartDir, resolveDeployTools, runOk, thirdPartyCrds } from "../env/deployTools.js";
import { testKubeconfigPath } from "../env/testContext.js";
import { ofKind, renderChart, valueSets, valuesFile } from "./chart.js";
import {
  applyNamespace,
  installCrds,
  kubectl,
  kubectlOk,
  restrictedPodSecurity,
  toYamlStream,
  uniqueName,
} from "./kubectl.js";

let helm = "";

beforeAll(async () => {
  helm = (await resolveDeployTools()).helm;
  // ServiceMonitor and PrometheusRule need prometheus-operator's CRDs (pinned, from its Go module).
  await installCrds(await thirdPartyCrds("prometheus-operator"));
  // everything-enabled scopes the operator to these namespaces (RoleBindings live there).
  await applyNamespace("team-a");
  await applyNamespace("team-b");
});

/** Server-side dry-run apply of a YAML stream; resolves with kubectl's result. */
function dryRunApply(yaml: string): ReturnType<typeof kubectl> {
  // Every namespaced object the chart renders names its namespace (the release's, or a watched one).
  return kubectl(
    ["apply", "--server-side", "--dry-run=server", "--field-manager=ddq-chart-test", "-f", "-"],
    yaml,
  );
}

describe("chart against the real kube-apiserver", () => {
  it.each(valueSets)(
    "is accepted object by object (server-side dry-run, strict field validation) with %s values",
    async (set) => {
      const namespace = uniqueName(`chart-${set}`);
      await applyNamespace(namespace, restrictedPodSecurity);
      const { yaml, objects } = await renderChart(helm, {
        valueSet: set,
        namespace,
        monitoringApi: true,
        includeCrds: true,
      });
      const result = await dryRunApply(yaml);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      // One line per object, each "serverside-applied (server dry run)".
      const applied = result.stdout.trim().split("\n");
      expect(applied).toHaveLength(objects.length);
      for (const line of applied) expect(line).toMatch(/ serverside-applied \(server dry run\)$/);
      // The API server warns about pod templates below the namespace's warn level: none.
      expect(result.stderr).not.toContain("PodSecurity");
    },
  );

  it.each(valueSets)(
    "admits every pod of the %s values in a namespace enforcing the restricted standard",
    async (set) => {
      const namespace = uniqueName(`pods-${set}`);
      await applyNamespace(namespace, restrictedPodSecurity);
      const { objects } = await renderChart(helm, { valueSet: set, namespace });
      // Pods need their ServiceAccounts to exist (ServiceAccount admission): create them for real.
      await kubectlOk(
        ["apply", "--server-side", "--field-manager=ddq-chart-test", "-f", "-"],
        toYamlStream(ofKind(objects, "ServiceAccount")),
      );
      const workloads = [
        ...ofKind<V1Deployment>(objects, "Deployment"),
        ...ofKind<V1StatefulSet>(objects, "StatefulSet"),
      ];
      const pods = workloads.map((w) => {
        const name = w.metadata?.name ?? "pod";
        const spec = w.spec?.template.spec;
        if (spec === undefined) throw new Error(`${name} has no pod template`);
        // As the StatefulSet controller does: one claim per volumeClaimTemplate, as a volume.
        if (w.kind === "StatefulSet") {
          const templates = (w as V1StatefulSet).spec?.volumeClaimTemplates ?? [];
          spec.volumes = [
            ...(spec.volumes ?? []),
            ...templates.map((t) => ({
              name: t.metadata?.name ?? "",
              persistentVolumeClaim: { claimName: `${t.metadata?.name ?? ""}-${name}-0` },
            })),
          ];
        }
        return {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: `${name}-probe`, namespace, labels: w.spec?.template.metadata?.labels },
          spec,
        };
      });
      for (const pod of pods) {
        const result = await kubectl(
          ["create", "--dry-run=server", "-o", "name", "-f", "-"],
          toYamlStream([pod]),
        );
        expect(result.stderr, pod.metadata.name).toBe("");
        expect(result.stdout.trim()).toBe(`pod/${pod.metadata.name}`);
      }
    },
  );

  it("is refused when a value weakens the pod security context (the check can fail)", async () => {
    const namespace = uniqueName("pods-weak");
    await applyNamespace(namespace, restrictedPodSecurity);
    const { yaml } = await renderChart(helm, {
      valueSet: "minimal",
      namespace,
      set: ["containerSecurityContext.allowPrivilegeEscalation=true"],
    });
    const result = await dryRunApply(yaml);
    expect(result.stderr).toMatch(
      /would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/,
    );
  });

  it("prints NOTES with the CRD upgrade path, and warns about the bundled Redis only when used", async () => {
    const notes = async (set: string): Promise<string> => {
      const out = await runOk(helm, [
        "install",
        "ddq",
        chartDir,
        "--kubeconfig",
        testKubeconfigPath(),
        "--namespace",
        uniqueName("notes"),
        "--dry-run=client",
        "--values",
        valuesFile(set),
      ]);
      return out.slice(out.indexOf("NOTES:"));
    };
    const bundled = await notes("everything-enabled");
    expect(bundled).toContain(
      "kubectl apply --server-side --force-conflicts -f <that chart>/crds/",
    );
    expect(bundled).toContain("It is NOT FOR PRODUCTION");
    expect(bundled).toContain("TLS, client certificates required");
    expect(bundled).toContain("watching team-a, team-b");
    const external = await notes("minimal");
    expect(external).toContain("NOTES:");
    expect(external).not.toContain("NOT FOR PRODUCTION");
    expect(external).toContain("watching all namespaces");
  });
});
