import { randomBytes } from "node:crypto";
import { ApiextensionsV1Api, dumpYaml } from "@kubernetes/client-node";
import { testAdminKubeConfig, testKubeconfigPath, testKubeTools } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { runCommand, runOk, type CommandResult } from "../env/deployTools.js";

/** kubectl against the test environment's kube-apiserver, as its administrator. */
export function kubectl(args: string[], input?: string): Promise<CommandResult> {
  return runCommand(
    testKubeTools().kubectl,
    ["--kubeconfig", testKubeconfigPath(), ...args],
    input,
  );
}

export function kubectlOk(args: string[], input?: string): Promise<string> {
  return runOk(testKubeTools().kubectl, ["--kubeconfig", testKubeconfigPath(), ...args], input);
}

/** A fresh namespace name with this prefix. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

/** Creates (or updates) a namespace with these labels. */
export async function applyNamespace(
  name: string,
  labels: Record<string, string> = {},
): Promise<void> {
  const namespace = { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } };
  await kubectlOk(
    ["apply", "--server-side", "--field-manager=ddq-test", "-f", "-"],
    JSON.stringify(namespace),
  );
}

/** Namespace labels that make the API server enforce (and warn about) the restricted standard. */
export const restrictedPodSecurity: Record<string, string> = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/enforce-version": "latest",
  "pod-security.kubernetes.io/warn": "restricted",
  "pod-security.kubernetes.io/warn-version": "latest",
};

/** Server-side applies CRD files for real and waits until they are Established. */
export async function installCrds(files: string[]): Promise<void> {
  const args = ["apply", "--server-side", "--force-conflicts", "--field-manager=ddq-test"];
  for (const file of files) args.push("-f", file);
  const out = await kubectlOk(args);
  const names = [...out.matchAll(/^customresourcedefinition\.apiextensions\.k8s\.io\/(\S+)/gm)].map(
    (m) => m[1] ?? "",
  );
  if (names.length !== files.length)
    throw new Error(`expected ${files.length} CRDs applied, got:\n${out}`);
  // kubectl wait fails rather than waits while a new CRD has no conditions yet: poll instead.
  const crds = testAdminKubeConfig().makeApiClient(ApiextensionsV1Api);
  for (const name of names) {
    await waitFor(
      async () => {
        const crd = await crds.readCustomResourceDefinition({ name });
        return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
      },
      { description: `CRD ${name} to become Established` },
    );
  }
}

/** YAML stream of these objects. */
export function toYamlStream(objects: object[]): string {
  return objects.map((o) => dumpYaml(o)).join("---\n");
}
