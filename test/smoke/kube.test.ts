import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import {
  ApiextensionsV1Api,
  ApiException,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  Watch,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { isApiStatus, serviceAccountKubeConfig } from "../env/kubeClients.js";
import { testAdminKubeConfig, testKubeconfigPath, testKubeTools } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";

const run = promisify(execFile);
const GROUP = "smoke.ddq.io";
const VERSION = "v1";
const PLURAL = "widgets";

const widgetCrd: V1CustomResourceDefinition = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: `${PLURAL}.${GROUP}` },
  spec: {
    group: GROUP,
    scope: "Namespaced",
    names: { plural: PLURAL, singular: "widget", kind: "Widget", listKind: "WidgetList" },
    versions: [
      {
        name: VERSION,
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: {
                type: "object",
                required: ["minReplicas", "maxReplicas"],
                properties: {
                  minReplicas: { type: "integer", minimum: 0 },
                  maxReplicas: { type: "integer", minimum: 0 },
                },
                x_kubernetes_validations: [
                  {
                    rule: "self.minReplicas <= self.maxReplicas",
                    message: "minReplicas must not exceed maxReplicas",
                  },
                ],
              },
            },
          },
        },
      },
    ],
  },
};

function widget(name: string, minReplicas: number, maxReplicas: number): object {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: "Widget",
    metadata: { name },
    spec: { minReplicas, maxReplicas },
  };
}

describe("kube-apiserver + etcd (real)", () => {
  let admin: KubeConfig;
  const namespace = `smoke-${randomBytes(3).toString("hex")}`;

  beforeAll(async () => {
    admin = testAdminKubeConfig();
    const crds = admin.makeApiClient(ApiextensionsV1Api);
    try {
      await crds.createCustomResourceDefinition({ body: widgetCrd });
    } catch (error) {
      if (!isApiStatus(error, 409)) throw error;
    }
    await waitFor(
      async () => {
        const crd = await crds.readCustomResourceDefinition({ name: `${PLURAL}.${GROUP}` });
        return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
      },
      { description: "the Widget CRD to become Established" },
    );
    await serviceAccountKubeConfig(admin, { namespace, name: "bootstrap" });
  });

  it("is the pinned Kubernetes version, reachable with kubectl and the written kubeconfig", async () => {
    const { stdout } = await run(testKubeTools().kubectl, [
      "--kubeconfig",
      testKubeconfigPath(),
      "version",
      "-o",
      "json",
    ]);
    const versions = JSON.parse(stdout) as {
      serverVersion: { gitVersion: string };
      clientVersion: { gitVersion: string };
    };
    expect(versions.serverVersion.gitVersion).toMatch(/^v1\.34\.\d+$/);
    expect(versions.clientVersion.gitVersion).toBe(versions.serverVersion.gitVersion);
  });

  it("creates a custom resource and delivers it to a watch", async () => {
    const objects = admin.makeApiClient(CustomObjectsApi);
    const seen: string[] = [];
    let watchEnded: Error | undefined;
    // A new CRD's watch cache answers 429 until it has initialized; clients retry, and so do we:
    // a list served from the watch cache (resourceVersion "0") succeeds once it is ready.
    await waitFor(
      () =>
        objects
          .listNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace,
            plural: PLURAL,
            resourceVersion: "0",
          })
          .then(() => true),
      { description: "the Widget watch cache to initialize" },
    );
    const watch = await new Watch(admin).watch(
      `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`,
      {},
      (phase: string, object: { metadata?: { name?: string } }) => {
        seen.push(`${phase} ${object.metadata?.name ?? "?"}`);
      },
      (error: unknown) => {
        watchEnded = error instanceof Error ? error : new Error(`watch ended: ${String(error)}`);
      },
    );
    try {
      await objects.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        body: widget("ok", 1, 3),
      });
      await waitFor(() => seen.includes("ADDED ok"), {
        description: "the watch to see ADDED ok",
        abortIf: () =>
          watchEnded === undefined
            ? undefined
            : new Error(`watch ended early: ${watchEnded.message}`),
      });
    } finally {
      watch.abort();
    }
  });

  it("rejects a custom resource that violates the CEL rule, with its message", async () => {
    const objects = admin.makeApiClient(CustomObjectsApi);
    const attempt = objects.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      body: widget("inverted", 5, 2),
    });
    const error = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApiException);
    const apiError = error as ApiException<unknown>;
    expect(apiError.code).toBe(422);
    expect(String(apiError.body)).toContain("minReplicas must not exceed maxReplicas");
  });

  it("authorizes a ServiceAccount token by RBAC only", async () => {
    const account = { namespace, name: "reader" };
    const asReader = (await serviceAccountKubeConfig(admin, account)).makeApiClient(
      CustomObjectsApi,
    );
    const list = (): Promise<unknown> =>
      asReader.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
      });
    await expect(list()).rejects.toSatisfy((e) => isApiStatus(e, 403));

    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: "widget-reader" },
        rules: [{ apiGroups: [GROUP], resources: [PLURAL], verbs: ["get", "list", "watch"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: "widget-reader" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "widget-reader" },
        subjects: [{ kind: "ServiceAccount", name: account.name, namespace }],
      },
    });
    const allowed = await waitFor(async () => (await list()) as { items: unknown[] }, {
      description: "the RoleBinding to take effect",
    });
    expect(Array.isArray(allowed.items)).toBe(true);
  });
});
