import { AuthorizationV1Api, type V1ResourceAttributes } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { testAdminKubeConfig } from "../env/testContext.js";
import { applyNamespace, uniqueName } from "./kubectl.js";
import { installRbac } from "./rbacInstall.js";

type Check = [
  verb: string,
  resource: string,
  options?: { group?: string; namespace?: string; subresource?: string },
];

async function allowed(
  namespace: string,
  account: string,
  [verb, resource, options = {}]: Check,
): Promise<boolean> {
  const api = testAdminKubeConfig().makeApiClient(AuthorizationV1Api);
  const resourceAttributes: V1ResourceAttributes = {
    verb,
    resource,
    group: options.group ?? "",
    namespace: options.namespace ?? namespace,
  };
  if (options.subresource !== undefined) resourceAttributes.subresource = options.subresource;
  const review = await api.createSubjectAccessReview({
    body: {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: {
        user: `system:serviceaccount:${namespace}:${account}`,
        groups: [
          "system:serviceaccounts",
          `system:serviceaccounts:${namespace}`,
          "system:authenticated",
        ],
        resourceAttributes,
      },
    },
  });
  return review.status?.allowed === true;
}

function describeCheck([verb, resource, options = {}]: Check): string {
  const sub = options.subresource === undefined ? "" : `/${options.subresource}`;
  const ns = options.namespace === undefined ? "" : ` in ${options.namespace}`;
  return `${verb} ${options.group ?? "core"}/${resource}${sub}${ns}`;
}

async function expectAccess(
  namespace: string,
  account: string,
  checks: Check[],
  expected: boolean,
): Promise<void> {
  const outcomes = await Promise.all(
    checks.map(
      async (check) =>
        `${describeCheck(check)}: ${String(await allowed(namespace, account, check))}`,
    ),
  );
  expect(outcomes).toEqual(checks.map((check) => `${describeCheck(check)}: ${String(expected)}`));
}

const ddq = { group: "ddq.io" };
const leases = { group: "coordination.k8s.io" };
const other = "kube-system";

describe("chart RBAC, authorized by the real kube-apiserver", () => {
  const namespace = uniqueName("rbac");
  const release = uniqueName("r");
  const sa = (component: string): string => `${release}-ddq-${component}`;

  beforeAll(async () => {
    await applyNamespace(namespace);
    await installRbac(release, namespace);
  });

  it("lets the scheduler manage its Leases in its own namespace, and nothing else", async () => {
    await expectAccess(
      namespace,
      sa("scheduler"),
      [
        ["get", "leases", leases],
        ["create", "leases", leases],
        ["update", "leases", leases],
      ],
      true,
    );
    await expectAccess(
      namespace,
      sa("scheduler"),
      [
        ["list", "leases", leases],
        ["watch", "leases", leases],
        ["delete", "leases", leases],
        ["get", "leases", { ...leases, namespace: other }],
        ["update", "leases", { ...leases, namespace: other }],
        ["get", "secrets"],
        ["list", "secrets"],
        ["get", "configmaps"],
        ["get", "delayedtasks", ddq],
        ["create", "events"],
      ],
      false,
    );
  });

  it("lets the operator reconcile DelayedTask and CronTask everywhere, exactly as the contract says", async () => {
    const anywhere = { namespace: "team-x" };
    const checks: Check[] = [];
    for (const resource of ["delayedtasks", "crontasks"]) {
      for (const verb of ["get", "list", "watch", "update", "patch"])
        checks.push([verb, resource, { ...ddq, ...anywhere }]);
      for (const verb of ["get", "update", "patch"])
        checks.push([verb, resource, { ...ddq, ...anywhere, subresource: "status" }]);
      checks.push(["update", resource, { ...ddq, ...anywhere, subresource: "finalizers" }]);
    }
    // ttlSecondsAfterFinished deletes finished DelayedTasks.
    checks.push(["delete", "delayedtasks", { ...ddq, ...anywhere }]);
    checks.push(["get", "secrets", anywhere]);
    for (const group of ["", "events.k8s.io"]) {
      checks.push(
        ["create", "events", { group, ...anywhere }],
        ["patch", "events", { group, ...anywhere }],
      );
    }
    checks.push(
      ["get", "leases", leases],
      ["create", "leases", leases],
      ["update", "leases", leases],
    );
    await expectAccess(namespace, sa("operator"), checks, true);
  });

  it("denies the operator what it does not need (listing Secrets, deleting CronTasks, other namespaces' Leases)", async () => {
    await expectAccess(
      namespace,
      sa("operator"),
      [
        ["list", "secrets", { namespace: "team-x" }],
        ["watch", "secrets", { namespace: "team-x" }],
        ["list", "secrets"],
        ["update", "secrets"],
        ["create", "delayedtasks", ddq],
        ["delete", "crontasks", ddq],
        ["create", "delayedtasks", { ...ddq, subresource: "status" }],
        ["patch", "delayedtasks", { ...ddq, subresource: "finalizers" }],
        ["get", "leases", { ...leases, namespace: other }],
        ["update", "leases", { ...leases, namespace: other }],
        ["delete", "leases", leases],
        ["get", "configmaps"],
        ["list", "pods"],
        ["delete", "events"],
      ],
      false,
    );
  });

  it("gives the worker no Kubernetes permission at all", async () => {
    await expectAccess(
      namespace,
      sa("worker"),
      [
        ["get", "leases", leases],
        ["get", "secrets"],
        ["list", "delayedtasks", ddq],
        ["create", "events"],
        ["get", "pods"],
      ],
      false,
    );
  });

  it("scopes the operator to operator.watchNamespaces when set", async () => {
    const scoped = uniqueName("rbac-scoped");
    const watched = uniqueName("watched");
    const scopedRelease = uniqueName("s");
    await applyNamespace(scoped);
    await applyNamespace(watched);
    await installRbac(scopedRelease, scoped, [`operator.watchNamespaces={${watched}}`]);
    const account = `${scopedRelease}-ddq-operator`;
    await expectAccess(
      scoped,
      account,
      [
        ["watch", "delayedtasks", { ...ddq, namespace: watched }],
        ["patch", "crontasks", { ...ddq, namespace: watched, subresource: "status" }],
        ["get", "secrets", { namespace: watched }],
        ["create", "events", { namespace: watched }],
        ["update", "leases", leases],
      ],
      true,
    );
    await expectAccess(
      scoped,
      account,
      [
        ["watch", "delayedtasks", { ...ddq, namespace: "team-x" }],
        ["get", "secrets", { namespace: "team-x" }],
        ["get", "secrets", { namespace: scoped }],
        ["get", "leases", { ...leases, namespace: watched }],
      ],
      false,
    );
  });
});
