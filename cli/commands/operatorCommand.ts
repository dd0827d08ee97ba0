/**
 * `ddq operator`: reconciles DelayedTask and CronTask resources into the scheduler (operator/).
 * Kubernetes access from the default kubeconfig (KUBECONFIG, ~/.kube/config, or in-cluster).
 */
import { hostname } from "node:os";
import { readFileSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import { Operator } from "../../operator/operator.js";
import { clientOptions } from "../clientSettings.js";
import type { Settings } from "../config.js";
import { createLogger } from "../logger.js";
import { startHealthServer, startMetricsServer, type MetricFamily } from "../observability.js";
import { onTerminate } from "./terminate.js";

const SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

function defaultNamespace(): string {
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, "utf8").trim();
  } catch {
    return "default";
  }
}

export async function runOperator(settings: Settings): Promise<number> {
  const log = createLogger(
    "operator",
    settings.logLevel(),
    settings.string("log-format", "json") === "text" ? "text" : "json",
  );
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const identity = settings.string("identity", hostname()) ?? hostname();
  const leaseNamespace =
    settings.string("lease-namespace", defaultNamespace()) ?? defaultNamespace();
  const watchNamespaces = settings.list("watch-namespaces");
  const httpTopic = settings.string("http-topic", "ddq.http") ?? "ddq.http";
  const { healthListen, metricsListen } = settings.observability();

  const operator = new Operator({
    kubeConfig,
    scheduler: clientOptions(settings),
    identity,
    leaseNamespace,
    watchNamespaces,
    httpTopic,
    log: (message, fields, level) => {
      if (level === "warn") log.warn(message, fields);
      else log.info(message, fields);
    },
  }).start();

  const health = await startHealthServer(healthListen);
  health.setServing(true);
  const metrics = await startMetricsServer(metricsListen, () => {
    const stats = operator.stats();
    const kinds = [
      ["DelayedTask", stats.delayedTask],
      ["CronTask", stats.cronTask],
    ] as const;
    const families: MetricFamily[] = [
      {
        name: "ddq_operator_leader",
        help: "1 while this replica leads and reconciles.",
        type: "gauge",
        samples: [{ value: stats.leader ? 1 : 0 }],
      },
      {
        name: "ddq_operator_reconciles_total",
        help: "Reconciles by kind and result.",
        type: "counter",
        samples: kinds.flatMap(([kind, k]) => [
          { labels: { kind, result: "ok" }, value: k.ok },
          { labels: { kind, result: "error" }, value: k.errors },
        ]),
      },
      {
        name: "ddq_operator_queue_depth",
        help: "Keys waiting in the work queue (queued now, or delayed).",
        type: "gauge",
        samples: kinds.flatMap(([kind, k]) => [
          { labels: { kind, state: "queued" }, value: k.queue },
          { labels: { kind, state: "delayed" }, value: k.delayed },
        ]),
      },
      {
        name: "ddq_operator_scheduler_events_total",
        help: "Events received from the scheduler's WatchEvents stream.",
        type: "counter",
        samples: [{ value: stats.events.received }],
      },
      {
        name: "ddq_operator_scheduler_event_gaps_total",
        help: "Gaps in the event stream (each one triggers a full resync).",
        type: "counter",
        samples: [{ value: stats.events.gaps }],
      },
      {
        name: "ddq_operator_kubernetes_events_total",
        help: "Kubernetes Events by result.",
        type: "counter",
        samples: Object.entries(stats.kubeEvents).map(([result, value]) => ({
          labels: { result },
          value,
        })),
      },
    ];
    return Promise.resolve(families);
  });
  log.info("operator running", {
    identity,
    leaseNamespace,
    watchNamespaces: watchNamespaces.length === 0 ? "all" : watchNamespaces,
    healthPort: health.port,
    metricsPort: metrics.port,
  });
  process.stdout.write(
    `${JSON.stringify({ ready: true, identity, healthPort: health.port, metricsPort: metrics.port })}\n`,
  );
  await onTerminate();
  log.info("stopping: saving watch positions and releasing the Lease");
  health.setServing(false);
  await operator.stop();
  await health.stop();
  await metrics.stop();
  log.info("stopped");
  return 0;
}
