import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  chartDir,
  parseManifests,
  repoRoot,
  resolveDeployTools,
  runOk,
  thirdPartyCrds,
  type Manifest,
} from "../env/deployTools.js";
import {
  applyNamespace,
  installCrds,
  kubectl,
  restrictedPodSecurity,
  uniqueName,
} from "../chart/kubectl.js";

const gitopsDir = join(repoRoot, "gitops");
const environments = ["dev", "staging", "prod"];

/** Every YAML file under gitops/ that is a Kubernetes manifest (environment values files are not). */
function manifestFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return manifestFiles(path);
    return path.endsWith(".yaml") && entry !== "values.yaml" ? [path] : [];
  });
}

interface Application extends Manifest {
  metadata: Manifest["metadata"] & { annotations?: Record<string, string>; finalizers?: string[] };
  spec: {
    project: string;
    source: {
      repoURL: string;
      path: string;
      targetRevision: string;
      helm?: { skipCrds?: boolean; valueFiles?: string[]; releaseName?: string };
    };
    destination: { name?: string; namespace?: string };
    syncPolicy?: { syncOptions?: string[]; automated?: { prune?: boolean } };
    ignoreDifferences?: { group: string; kind: string; jsonPointers?: string[] }[];
  };
}

const files = manifestFiles(gitopsDir).sort();
const manifests = files.flatMap((file) =>
  parseManifests(readFileSync(file, "utf8")).map((object) => ({
    file: relative(repoRoot, file),
    object,
  })),
);
const applications = manifests
  .map((m) => m.object)
  .filter((o): o is Application => o.kind === "Application");

function app(name: string): Application {
  const found = applications.find((a) => a.metadata.name === name);
  if (found === undefined) throw new Error(`no Application ${name}`);
  return found;
}

describe("gitops/ manifests", () => {
  let helm = "";

  beforeAll(async () => {
    helm = (await resolveDeployTools()).helm;
    // Argo CD's CRDs at the pinned version, from its Go module.
    await installCrds(await thirdPartyCrds("argo-cd"));
    await applyNamespace("argocd");
  });

  it.each(files.map((file) => relative(repoRoot, file)))(
    "%s is accepted by the API server (server-side dry-run, strict validation)",
    async (file) => {
      const result = await kubectl([
        "apply",
        "--server-side",
        "--dry-run=server",
        "--field-manager=ddq-gitops-test",
        "-f",
        join(repoRoot, file),
      ]);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const count = manifests.filter((m) => m.file === file).length;
      expect(result.stdout.trim().split("\n")).toHaveLength(count);
    },
  );

  it("has an AppProject, an ApplicationSet for every environment and the argocd-cm snippet", () => {
    const kinds = manifests.map((m) => m.object.kind).sort();
    expect(kinds).toEqual(
      [
        "AppProject",
        ...environments.flatMap(() => ["Application", "Application"]),
        "ApplicationSet",
        "ConfigMap",
      ].sort(),
    );
    const set = manifests.find((m) => m.object.kind === "ApplicationSet")?.object as
      | (Manifest & { spec: { generators: { list: { elements: { env: string }[] } }[] } })
      | undefined;
    const envs = set?.spec.generators[0]?.list.elements.map((e) => e.env);
    expect(envs).toEqual(environments);
    expect(readdirSync(join(gitopsDir, "environments")).sort()).toEqual([...environments].sort());
  });

  it.each(environments)(
    "installs the CRDs first, server-side, and never prunes them (%s)",
    (env) => {
      const crds = app(`ddq-crds-${env}`);
      const chart = app(`ddq-${env}`);
      const wave = (a: Application): number =>
        Number(a.metadata.annotations?.["argocd.argoproj.io/sync-wave"]);
      expect(wave(crds)).toBeLessThan(wave(chart));
      expect(crds.spec.source.path).toBe("crds");
      expect(crds.spec.syncPolicy?.syncOptions).toContain("ServerSideApply=true");
      expect(crds.spec.syncPolicy?.automated?.prune ?? false).toBe(false);
      expect(crds.metadata.finalizers ?? []).toEqual([]);
      expect(crds.spec.ignoreDifferences).toContainEqual({
        group: "apiextensions.k8s.io",
        kind: "CustomResourceDefinition",
        jsonPointers: ["/status"],
      });
      expect(chart.spec.source.path).toBe("charts/ddq");
      expect(chart.spec.source.helm?.skipCrds).toBe(true);
      expect(chart.spec.source.helm?.valueFiles).toEqual([
        `../../gitops/environments/${env}/values.yaml`,
      ]);
      expect(chart.spec.source.targetRevision).toBe(crds.spec.source.targetRevision);
      expect(chart.spec.syncPolicy?.syncOptions).toContain("RespectIgnoreDifferences=true");
      for (const a of [crds, chart]) {
        expect(a.spec.project).toBe("ddq");
        expect(a.spec.destination.name).toBe(env);
      }
    },
  );

  it.each(environments)(
    "has %s values the chart accepts (lint --strict, real API server dry-run)",
    async (env) => {
      const values = join(gitopsDir, "environments", env, "values.yaml");
      await runOk(helm, ["lint", "--strict", chartDir, "--values", values]);
      const namespace = uniqueName(`gitops-${env}`);
      await applyNamespace(namespace, restrictedPodSecurity);
      const yaml = await runOk(helm, [
        "template",
        "ddq",
        chartDir,
        "--namespace",
        namespace,
        "--values",
        values,
        "--skip-crds",
      ]);
      const objects = parseManifests(yaml);
      // Argo CD renders without cluster access: nothing may depend on lookup.
      expect(objects.filter((o) => o.kind === "Secret").map((o) => o.metadata.name)).toEqual(
        env === "dev" ? ["ddq-redis"] : [],
      );
      const result = await kubectl(
        [
          "apply",
          "--server-side",
          "--dry-run=server",
          "--field-manager=ddq-gitops-test",
          "-f",
          "-",
        ],
        yaml,
      );
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
    },
  );
});
