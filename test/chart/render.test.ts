import { existsSync } from "node:fs";
import { join } from "node:path";
import type {
  V1ClusterRole,
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1NetworkPolicy,
  V1PodDisruptionBudget,
  V1PodSpec,
  V1Role,
  V1RoleBinding,
  V1Secret,
  V1Service,
  V1ServiceAccount,
  V1StatefulSet,
} from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import {
  chartDir,
  repoRoot,
  resolveDeployTools,
  runCommand,
  type Manifest,
} from "../env/deployTools.js";
import { named, ofKind, renderChart, valueSets, valuesFile, type Rendered } from "./chart.js";
import { operatorLeaseRules, operatorRules, schedulerLeaseRules } from "./contract.js";

let helm = "";
const rendered = new Map<string, Rendered>();

function must<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`missing ${what}`);
  return value;
}

function podSpec(workload: V1Deployment | V1StatefulSet): V1PodSpec {
  return must(workload.spec?.template.spec, `pod spec of ${workload.metadata?.name ?? "?"}`);
}

function env(container: V1Container): Map<string, V1EnvVar> {
  return new Map((container.env ?? []).map((e) => [e.name, e]));
}

function envValue(container: V1Container, name: string): string | undefined {
  return env(container).get(name)?.value;
}

function workloads(objects: Manifest[]): (V1Deployment | V1StatefulSet)[] {
  return [
    ...ofKind<V1Deployment>(objects, "Deployment"),
    ...ofKind<V1StatefulSet>(objects, "StatefulSet"),
  ];
}

function ddqContainer(objects: Manifest[], component: string): V1Container {
  const deployment = named<V1Deployment>(objects, "Deployment", `ddq-${component}`);
  return must(podSpec(deployment).containers[0], `${component} container`);
}

beforeAll(async () => {
  helm = (await resolveDeployTools()).helm;
  for (const set of valueSets) {
    rendered.set(set, await renderChart(helm, { valueSet: set, monitoringApi: true }));
  }
});

function render(set: string): Manifest[] {
  return must(rendered.get(set), `rendering of ${set}`).objects;
}

describe("chart charts/ddq", () => {
  it("has the three value sets the issue asks for", () => {
    expect(valueSets).toEqual(["everything-enabled", "ha-sentinel", "minimal"]);
  });

  it.each(valueSets)("passes helm lint --strict with %s values", async (set) => {
    const result = await runCommand(helm, [
      "lint",
      "--strict",
      chartDir,
      "--values",
      valuesFile(set),
    ]);
    expect(result.stderr + result.stdout).toContain("0 chart(s) failed");
    expect(result.code).toBe(0);
  });

  it("refuses to render without Redis, and rejects unknown or mistyped values", async () => {
    const noRedis = await runCommand(helm, ["template", "ddq", chartDir]);
    expect(noRedis.code).not.toBe(0);
    expect(noRedis.stderr).toContain("redis.mode=external needs redis.external.url");
    const minimal = ["--values", valuesFile("minimal")];
    const unknown = await runCommand(helm, [
      "template",
      "ddq",
      chartDir,
      ...minimal,
      "--set",
      "schedular.replicas=3",
    ]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/additional properties 'schedular' not allowed/);
    const badEnum = await runCommand(helm, [
      "template",
      "ddq",
      chartDir,
      ...minimal,
      "--set",
      "scheduler.leadership=etcd",
    ]);
    expect(badEnum.code).not.toBe(0);
    expect(badEnum.stderr).toContain("/scheduler/leadership");
    const badTopics = await runCommand(helm, [
      "template",
      "ddq",
      chartDir,
      ...minimal,
      "--set",
      "worker.topics={emails}",
    ]);
    expect(badTopics.code).not.toBe(0);
    expect(badTopics.stderr).toContain("worker.topics must include operator.httpTopic");
  });

  describe.each(valueSets)("rendered with %s values", (set) => {
    it("runs every pod under the restricted Pod Security Standard", () => {
      const all = workloads(render(set));
      expect(all.length).toBeGreaterThanOrEqual(3);
      for (const workload of all) {
        const spec = podSpec(workload);
        expect(spec.securityContext?.runAsNonRoot, workload.metadata?.name).toBe(true);
        expect(spec.securityContext?.seccompProfile?.type).toBe("RuntimeDefault");
        expect(spec.hostNetwork ?? false).toBe(false);
        for (const container of [...spec.containers, ...(spec.initContainers ?? [])]) {
          const context = must(container.securityContext, `securityContext of ${container.name}`);
          expect(context.allowPrivilegeEscalation, container.name).toBe(false);
          expect(context.readOnlyRootFilesystem, container.name).toBe(true);
          expect(context.runAsNonRoot, container.name).toBe(true);
          expect(context.capabilities?.drop, container.name).toEqual(["ALL"]);
          expect(context.capabilities?.add ?? [], container.name).toEqual([]);
          expect(context.privileged ?? false).toBe(false);
          expect(container.resources?.requests?.memory, container.name).toBeDefined();
          expect(container.resources?.limits?.memory, container.name).toBeDefined();
        }
      }
    });

    it("runs ddq as uid 65532 with gRPC probes on the health port and a 30 s grace period", () => {
      const objects = render(set);
      for (const deployment of ofKind<V1Deployment>(objects, "Deployment")) {
        const spec = podSpec(deployment);
        expect(spec.securityContext?.runAsUser).toBe(65532);
        expect(spec.terminationGracePeriodSeconds).toBe(30);
        const container = must(spec.containers[0], "container");
        const component = must(
          deployment.metadata?.labels?.["app.kubernetes.io/component"],
          "component label",
        );
        expect(container.args).toEqual([component]);
        const healthPort = must(
          container.ports?.find((p) => p.name === "health")?.containerPort,
          "health port",
        );
        expect(envValue(container, "DDQ_HEALTH_LISTEN")).toBe(`0.0.0.0:${healthPort}`);
        expect(envValue(container, "DDQ_METRICS_LISTEN")).toBe("0.0.0.0:9464");
        for (const probe of [
          container.livenessProbe,
          container.readinessProbe,
          container.startupProbe,
        ]) {
          expect(probe?.grpc?.port).toBe(healthPort);
        }
        // Readiness follows the component's dependencies (a scheduler's Redis); liveness and
        // start-up only that the process runs, so a Redis outage restarts no pod.
        expect(container.readinessProbe?.grpc?.service).toBeUndefined();
        expect(container.livenessProbe?.grpc?.service).toBe("liveness");
        expect(container.startupProbe?.grpc?.service).toBe("liveness");
        // /tmp is the only writable path.
        expect(container.volumeMounts?.find((m) => m.mountPath === "/tmp")).toBeDefined();
      }
    });

    it("labels every object and selects pods by stable labels only", () => {
      const objects = render(set);
      for (const object of objects) {
        const labels = object.metadata.labels ?? {};
        expect(labels["app.kubernetes.io/name"], `${object.kind} ${object.metadata.name}`).toBe(
          "ddq",
        );
        expect(labels["app.kubernetes.io/instance"]).toBe("ddq");
        expect(labels["app.kubernetes.io/managed-by"]).toBe("Helm");
        expect(labels["app.kubernetes.io/part-of"]).toBe("ddq");
        expect(labels["helm.sh/chart"]).toBe("ddq-0.1.0");
      }
      for (const workload of workloads(objects)) {
        const selector = must(workload.spec?.selector.matchLabels, "selector");
        expect(Object.keys(selector).sort()).toEqual([
          "app.kubernetes.io/component",
          "app.kubernetes.io/instance",
          "app.kubernetes.io/name",
        ]);
        expect(workload.spec?.template.metadata?.labels).toMatchObject(selector);
      }
    });

    it("gives each component exactly the RBAC the contract lists", () => {
      const objects = render(set);
      const role = named<V1Role>(objects, "Role", "ddq-scheduler");
      expect(role.rules).toEqual(schedulerLeaseRules);
      expect(named<V1Role>(objects, "Role", "ddq-operator-leader-election").rules).toEqual(
        operatorLeaseRules,
      );
      const operatorRoles = [
        ...ofKind<V1ClusterRole>(objects, "ClusterRole"),
        ...ofKind<V1Role>(objects, "Role").filter((r) => r.metadata?.name === "ddq-operator"),
      ];
      expect(operatorRoles.length).toBeGreaterThan(0);
      for (const operatorRole of operatorRoles) expect(operatorRole.rules).toEqual(operatorRules);
      const subjects = [
        ...ofKind<V1RoleBinding>(objects, "RoleBinding"),
        ...ofKind<V1RoleBinding>(objects, "ClusterRoleBinding"),
      ].flatMap((binding) => binding.subjects ?? []);
      // Nothing is ever bound to the worker.
      expect(subjects.map((s) => s.name).sort()).not.toContain("ddq-worker");
      expect(new Set(subjects.map((s) => `${s.kind}/${s.namespace ?? ""}/${s.name}`))).toEqual(
        new Set(["ServiceAccount/ddq/ddq-scheduler", "ServiceAccount/ddq/ddq-operator"]),
      );
    });

    it("mounts an API token only where the API is used (never in workers)", () => {
      const objects = render(set);
      for (const account of ofKind<V1ServiceAccount>(objects, "ServiceAccount")) {
        expect(account.automountServiceAccountToken).toBe(false);
      }
      const worker = named<V1Deployment>(objects, "Deployment", "ddq-worker");
      expect(podSpec(worker).automountServiceAccountToken).toBe(false);
      expect(podSpec(worker).serviceAccountName).toBe("ddq-worker");
      const scheduler = named<V1Deployment>(objects, "Deployment", "ddq-scheduler");
      expect(podSpec(scheduler).automountServiceAccountToken).toBe(true);
      const statefulSets = ofKind<V1StatefulSet>(objects, "StatefulSet");
      for (const statefulSet of statefulSets) {
        expect(podSpec(statefulSet).automountServiceAccountToken).toBe(false);
      }
    });

    it("wires the operator and workers to the scheduler's gRPC Service", () => {
      const objects = render(set);
      const service = named<V1Service>(objects, "Service", "ddq-scheduler");
      const grpc = service.spec?.ports?.find((p) => p.name === "grpc");
      expect(grpc?.port).toBe(7070);
      expect(grpc?.appProtocol).toBe("grpc");
      const peers = named<V1Service>(objects, "Service", "ddq-scheduler-peers");
      expect(peers.spec?.clusterIP).toBe("None");
      expect(peers.spec?.publishNotReadyAddresses).toBe(true);
      expect(peers.spec?.selector).toEqual(service.spec?.selector);
      const operator = ddqContainer(objects, "operator");
      const worker = ddqContainer(objects, "worker");
      for (const client of [operator, worker]) {
        expect(envValue(client, "DDQ_SCHEDULER_ADDRESS")).toBe("ddq-scheduler:7070");
        expect(envValue(client, "DDQ_TOKEN_FILE")).toBe("/etc/ddq/token/token");
        // Only the scheduler touches Redis.
        expect([...env(client).keys()].filter((name) => name.startsWith("DDQ_REDIS"))).toEqual([]);
      }
      const topics = must(envValue(worker, "DDQ_TOPICS"), "DDQ_TOPICS").split(",");
      expect(topics).toContain(envValue(operator, "DDQ_HTTP_TOPIC"));
      expect(envValue(worker, "DDQ_HANDLER")).toBe("http");
      const scheduler = ddqContainer(objects, "scheduler");
      expect(envValue(scheduler, "DDQ_GRPC_LISTEN")).toBe("0.0.0.0:7070");
      expect(envValue(scheduler, "DDQ_ADVERTISE_ADDRESS")).toBe("$(POD_IP):7070");
      expect(envValue(scheduler, "DDQ_IDENTITY")).toBe("$(POD_NAME)");
      expect(envValue(scheduler, "DDQ_LEASE_NAMESPACE")).toBe("$(POD_NAMESPACE)");
      expect(envValue(scheduler, "DDQ_LEADERSHIP")).toBe("kubernetes");
      expect(envValue(scheduler, "DDQ_SHARDS")).toBe("16");
      expect(envValue(scheduler, "DDQ_AUTH_TOKENS_FILE")).toBe("/etc/ddq/auth/tokens.csv");
    });

    it("keeps replicas available during disruptions and limits who reaches the API", () => {
      const objects = render(set);
      for (const deployment of ofKind<V1Deployment>(objects, "Deployment")) {
        const name = must(deployment.metadata?.name, "name");
        const pdb = objects.find(
          (o) => o.kind === "PodDisruptionBudget" && o.metadata.name === name,
        ) as V1PodDisruptionBudget | undefined;
        if ((deployment.spec?.replicas ?? 1) > 1) {
          expect(pdb?.spec?.maxUnavailable, name).toBe(1);
          expect(pdb?.spec?.selector?.matchLabels).toEqual(deployment.spec?.selector.matchLabels);
        } else {
          expect(pdb, name).toBeUndefined();
        }
      }
      const policy = named<V1NetworkPolicy>(objects, "NetworkPolicy", "ddq-scheduler");
      const grpcRule = must(
        policy.spec?.ingress?.find((rule) => rule.ports?.some((p) => p.port === "grpc")),
        "gRPC ingress rule",
      );
      const components = (grpcRule._from ?? []).map(
        (peer) => peer.podSelector?.matchLabels?.["app.kubernetes.io/component"],
      );
      expect(components).toEqual(expect.arrayContaining(["scheduler", "operator", "worker"]));
      expect(grpcRule._from?.length).toBeGreaterThanOrEqual(3);
    });
  });

  it("connects to Redis by URL (minimal)", () => {
    const scheduler = ddqContainer(render("minimal"), "scheduler");
    expect(envValue(scheduler, "DDQ_REDIS_URL")).toBe("redis://redis.example.internal:6379/0");
    expect(env(scheduler).has("DDQ_REDIS_SENTINELS")).toBe(false);
    expect(env(scheduler).has("DDQ_REDIS_PASSWORD")).toBe(false);
    expect(env(scheduler).has("DDQ_TLS_CERT_FILE")).toBe(false);
    expect(render("minimal").some((o) => o.kind === "StatefulSet")).toBe(false);
  });

  it("connects to Redis through Sentinel with passwords and CA from Secrets (ha-sentinel)", () => {
    const objects = render("ha-sentinel");
    const scheduler = ddqContainer(objects, "scheduler");
    const vars = env(scheduler);
    expect(envValue(scheduler, "DDQ_REDIS_SENTINELS")).toBe(
      "redis-sentinel-0.redis-sentinel:26379,redis-sentinel-1.redis-sentinel:26379,redis-sentinel-2.redis-sentinel:26379",
    );
    expect(envValue(scheduler, "DDQ_REDIS_SENTINEL_MASTER")).toBe("ddq");
    expect(vars.has("DDQ_REDIS_URL")).toBe(false);
    expect(vars.get("DDQ_REDIS_PASSWORD")?.valueFrom?.secretKeyRef).toEqual({
      name: "ddq-redis",
      key: "password",
    });
    expect(vars.get("DDQ_REDIS_SENTINEL_PASSWORD")?.valueFrom?.secretKeyRef).toEqual({
      name: "ddq-redis",
      key: "sentinel-password",
    });
    expect(envValue(scheduler, "DDQ_REDIS_TLS_CA_FILE")).toBe("/etc/ddq/redis-tls/ca.crt");
    const volumes =
      podSpec(named<V1Deployment>(objects, "Deployment", "ddq-scheduler")).volumes ?? [];
    expect(volumes.find((v) => v.name === "redis-tls")?.secret?.secretName).toBe("ddq-redis-ca");
    // TLS on the API without client certificates.
    expect(envValue(scheduler, "DDQ_TLS_CERT_FILE")).toBe("/etc/ddq/tls/tls.crt");
    expect(vars.has("DDQ_TLS_CLIENT_CA_FILE")).toBe(false);
    expect(envValue(ddqContainer(objects, "operator"), "DDQ_TLS_CA_FILE")).toBe(
      "/etc/ddq/tls/ca.crt",
    );
  });

  it("connects to a Redis Cluster by its nodes, with password and CA from Secrets", async () => {
    const { objects } = await renderChart(helm, {
      valueSet: "minimal",
      set: [
        "redis.external.url=",
        "redis.external.cluster.nodes={redis-cluster-0.redis-cluster:6379,redis-cluster-1.redis-cluster:6379}",
        "redis.external.password.secretName=redis-cluster-auth",
        "redis.external.tls.caSecretName=redis-cluster-ca",
      ],
    });
    const scheduler = ddqContainer(objects, "scheduler");
    const vars = env(scheduler);
    expect(envValue(scheduler, "DDQ_REDIS_CLUSTER_NODES")).toBe(
      "redis-cluster-0.redis-cluster:6379,redis-cluster-1.redis-cluster:6379",
    );
    expect(vars.has("DDQ_REDIS_URL")).toBe(false);
    expect(vars.has("DDQ_REDIS_SENTINELS")).toBe(false);
    expect(vars.get("DDQ_REDIS_PASSWORD")?.valueFrom?.secretKeyRef).toEqual({
      name: "redis-cluster-auth",
      key: "password",
    });
    expect(envValue(scheduler, "DDQ_REDIS_TLS_CA_FILE")).toBe("/etc/ddq/redis-tls/ca.crt");
    const volumes =
      podSpec(named<V1Deployment>(objects, "Deployment", "ddq-scheduler")).volumes ?? [];
    expect(volumes.find((v) => v.name === "redis-tls")?.secret?.secretName).toBe(
      "redis-cluster-ca",
    );
    // The URL and Sentinel modes do not carry the variable.
    expect(env(ddqContainer(render("minimal"), "scheduler")).has("DDQ_REDIS_CLUSTER_NODES")).toBe(
      false,
    );
    expect(
      env(ddqContainer(render("ha-sentinel"), "scheduler")).has("DDQ_REDIS_CLUSTER_NODES"),
    ).toBe(false);
  });

  it("refuses cluster nodes together with a URL or Sentinels, and a node that is not host:port", async () => {
    const minimal = ["template", "ddq", chartDir, "--values", valuesFile("minimal")];
    const withUrl = await runCommand(helm, [
      ...minimal,
      "--set",
      "redis.external.cluster.nodes={redis-cluster-0:6379}",
    ]);
    expect(withUrl.code).not.toBe(0);
    expect(withUrl.stderr).toContain(
      "redis.external.cluster.nodes excludes redis.external.url and redis.external.sentinel.hosts",
    );
    const withSentinels = await runCommand(helm, [
      "template",
      "ddq",
      chartDir,
      "--values",
      valuesFile("ha-sentinel"),
      "--set",
      "redis.external.cluster.nodes={redis-cluster-0:6379}",
    ]);
    expect(withSentinels.code).not.toBe(0);
    expect(withSentinels.stderr).toContain("redis.external.cluster.nodes excludes");
    const badNode = await runCommand(helm, [
      ...minimal,
      "--set",
      "redis.external.url=",
      "--set",
      "redis.external.cluster.nodes={redis-cluster-0}",
    ]);
    expect(badNode.code).not.toBe(0);
    expect(badNode.stderr).toContain("/redis/external/cluster/nodes/0");
  });

  it("runs the bundled single-node Redis marked not for production, reachable only by the scheduler", () => {
    const objects = render("everything-enabled");
    const redis = named<V1StatefulSet>(objects, "StatefulSet", "ddq-redis");
    expect(redis.metadata?.annotations?.["ddq.io/not-for-production"]).toBeDefined();
    expect(redis.spec?.replicas).toBe(1);
    const scheduler = ddqContainer(objects, "scheduler");
    expect(envValue(scheduler, "DDQ_REDIS_URL")).toBe("redis://ddq-redis:6379");
    expect(env(scheduler).get("DDQ_REDIS_PASSWORD")?.valueFrom?.secretKeyRef?.name).toBe(
      "ddq-redis",
    );
    const policy = named<V1NetworkPolicy>(objects, "NetworkPolicy", "ddq-redis");
    expect(policy.spec?.ingress?.[0]?._from).toEqual([
      {
        podSelector: {
          matchLabels: {
            "app.kubernetes.io/name": "ddq",
            "app.kubernetes.io/instance": "ddq",
            "app.kubernetes.io/component": "scheduler",
          },
        },
      },
    ]);
    // mTLS: the scheduler verifies clients, the clients present their certificate.
    expect(envValue(scheduler, "DDQ_TLS_CLIENT_CA_FILE")).toBe("/etc/ddq/tls/ca.crt");
    expect(envValue(ddqContainer(objects, "worker"), "DDQ_TLS_CERT_FILE")).toBe(
      "/etc/ddq/client-tls/tls.crt",
    );
  });

  it("scopes the operator to its watched namespaces with Roles, not a ClusterRole", () => {
    const objects = render("everything-enabled");
    expect(ofKind(objects, "ClusterRole")).toEqual([]);
    const roles = ofKind<V1Role>(objects, "Role").filter(
      (r) => r.metadata?.name === "ddq-operator",
    );
    expect(roles.map((r) => r.metadata?.namespace).sort()).toEqual(["team-a", "team-b"]);
    expect(envValue(ddqContainer(objects, "operator"), "DDQ_WATCH_NAMESPACES")).toBe(
      "team-a,team-b",
    );
  });

  it("generates auth tokens whose tokens.csv names the operator and the worker", () => {
    const secret = named<V1Secret>(render("minimal"), "Secret", "ddq-auth");
    const decode = (key: string): string =>
      Buffer.from(must(secret.data?.[key], key), "base64").toString("utf8");
    const operatorToken = decode("operator-token");
    const workerToken = decode("worker-token");
    expect(operatorToken).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(workerToken).not.toBe(operatorToken);
    expect(decode("tokens.csv")).toBe(`${operatorToken},operator\n${workerToken},worker\n`);
  });

  it("gives the scheduler no Role and no API token with Redis leadership", async () => {
    const { objects } = await renderChart(helm, {
      valueSet: "minimal",
      set: ["scheduler.leadership=redis"],
    });
    expect(objects.some((o) => o.kind === "Role" && o.metadata.name === "ddq-scheduler")).toBe(
      false,
    );
    const scheduler = named<V1Deployment>(objects, "Deployment", "ddq-scheduler");
    expect(podSpec(scheduler).automountServiceAccountToken).toBe(false);
    expect(envValue(ddqContainer(objects, "scheduler"), "DDQ_LEADERSHIP")).toBe("redis");
  });

  it("sizes the heaps: the scheduler's young generation, the operator's old generation", async () => {
    const defaults = await renderChart(helm, { valueSet: "minimal" });
    expect(envValue(ddqContainer(defaults.objects, "scheduler"), "NODE_OPTIONS")).toBe(
      "--max-semi-space-size=64",
    );
    expect(envValue(ddqContainer(defaults.objects, "operator"), "NODE_OPTIONS")).toBe(
      "--max-old-space-size=160",
    );
    const nodeDefaults = await renderChart(helm, {
      valueSet: "minimal",
      set: ["scheduler.semiSpaceMiB=0", "operator.heapLimitMiB=0"],
    });
    expect(envValue(ddqContainer(nodeDefaults.objects, "scheduler"), "NODE_OPTIONS")).toBe(
      undefined,
    );
    expect(envValue(ddqContainer(nodeDefaults.objects, "operator"), "NODE_OPTIONS")).toBe(
      undefined,
    );
    // A NODE_OPTIONS of the user's (extraEnv) replaces the chart's: one entry, theirs.
    const own = await renderChart(helm, { valueSet: "everything-enabled" });
    const scheduler = ddqContainer(own.objects, "scheduler");
    expect((scheduler.env ?? []).filter((e) => e.name === "NODE_OPTIONS")).toEqual([
      { name: "NODE_OPTIONS", value: "--max-old-space-size=384" },
    ]);
  });

  it("uses an existing auth Secret instead of generating one", async () => {
    const { objects } = await renderChart(helm, {
      valueSet: "minimal",
      set: ["auth.existingSecret=my-tokens"],
    });
    expect(objects.some((o) => o.kind === "Secret")).toBe(false);
    const volumes =
      podSpec(named<V1Deployment>(objects, "Deployment", "ddq-operator")).volumes ?? [];
    expect(volumes.find((v) => v.name === "token")?.secret?.secretName).toBe("my-tokens");
  });

  it("renders ServiceMonitor and PrometheusRule only when enabled and the API is served", async () => {
    const monitoringKinds = (objects: Manifest[]): string[] =>
      objects
        .filter((o) => o.apiVersion === "monitoring.coreos.com/v1")
        .map((o) => o.kind)
        .sort();
    expect(monitoringKinds(render("everything-enabled"))).toEqual([
      "PrometheusRule",
      "ServiceMonitor",
    ]);
    expect(monitoringKinds(render("minimal"))).toEqual([]);
    const withoutApi = await renderChart(helm, { valueSet: "everything-enabled" });
    expect(monitoringKinds(withoutApi.objects)).toEqual([]);
  });

  it("links every alert to a runbook that exists in runbooks/", () => {
    const rule = named<
      Manifest & {
        spec: { groups: { rules: { alert: string; annotations: Record<string, string> }[] }[] };
      }
    >(render("everything-enabled"), "PrometheusRule", "ddq");
    const alerts = rule.spec.groups.flatMap((group) => group.rules);
    expect(alerts.map((a) => a.alert)).toEqual([
      "DdqSchedulerDown",
      "DdqSchedulerReplicasDown",
      "DdqShardsWithoutLeader",
      "DdqRedisUnreachable",
      "DdqOperatorDown",
      "DdqWorkersDown",
      "DdqDeadLettersGrowing",
    ]);
    const base = "https://github.com/ddq-io/ddq/blob/main/runbooks/";
    for (const alert of alerts) {
      const url = must(alert.annotations.runbook_url, `runbook_url of ${alert.alert}`);
      expect(url.startsWith(base), url).toBe(true);
      expect(existsSync(join(repoRoot, "runbooks", url.slice(base.length))), url).toBe(true);
    }
  });
});
