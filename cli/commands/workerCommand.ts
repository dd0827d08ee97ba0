/** `ddq worker`: runs a built-in handler (http or log) on tasks of some topics. */
import { httpHandler } from "../../worker/handlers/httpHandler.js";
import { logHandler } from "../../worker/handlers/logHandler.js";
import { Worker, type TaskHandler } from "../../worker/worker.js";
import { clientOptions } from "../clientSettings.js";
import { parseDurationMs, type Settings } from "../config.js";
import { UsageError } from "../exitCodes.js";
import { createLogger } from "../logger.js";
import { startHealthServer, startMetricsServer } from "../observability.js";
import { onTerminate } from "./terminate.js";

export async function runWorker(settings: Settings): Promise<number> {
  const log = createLogger(
    "worker",
    settings.logLevel(),
    settings.string("log-format", "json") === "text" ? "text" : "json",
  );
  const topics = settings.list("topics");
  if (topics.length === 0)
    throw new UsageError("--topics (DDQ_TOPICS) must name at least one topic");
  const kind = settings.string("handler", "log");
  let handler: TaskHandler;
  if (kind === "http") {
    const url = settings.string("http-url");
    const timeout = settings.string("http-timeout");
    handler = httpHandler({
      ...(url === undefined ? {} : { url }),
      ...(timeout === undefined ? {} : { timeoutMs: parseDurationMs(timeout, "--http-timeout") }),
    });
  } else if (kind === "log") {
    handler = logHandler();
  } else {
    throw new UsageError(`--handler must be http or log, got "${kind}"`);
  }
  const { healthListen, metricsListen } = settings.observability();
  const leaseTimeout = settings.string("lease-timeout");
  const worker = new Worker({
    ...clientOptions(settings),
    topics,
    handler,
    concurrency: settings.integer("concurrency", 16, 1, 10_000),
    ...(leaseTimeout === undefined
      ? {}
      : { leaseTimeoutMs: parseDurationMs(leaseTimeout, "--lease-timeout") }),
    log: (message) => {
      log.warn(message);
    },
  }).start();
  const health = await startHealthServer(healthListen);
  health.setServing(true);
  const metrics = await startMetricsServer(metricsListen, () =>
    Promise.resolve([
      {
        name: "ddq_worker_tasks_total",
        help: "Tasks handled by this worker, by outcome.",
        type: "counter" as const,
        samples: Object.entries(worker.stats).map(([outcome, value]: [string, number]) => ({
          labels: { outcome },
          value,
        })),
      },
      {
        name: "ddq_worker_active",
        help: "Handlers running now.",
        type: "gauge" as const,
        samples: [{ value: worker.active }],
      },
    ]),
  );
  log.info("worker running", {
    topics,
    handler: kind,
    healthPort: health.port,
    metricsPort: metrics.port,
  });
  process.stdout.write(
    `${JSON.stringify({ ready: true, healthPort: health.port, metricsPort: metrics.port })}\n`,
  );
  await onTerminate();
  log.info("draining: finishing running tasks, handing back the rest");
  health.setServing(false);
  await worker.stop(settings.integer("drain-seconds", 20, 0, 3600) * 1000);
  await health.stop();
  await metrics.stop();
  log.info("stopped", { ...worker.stats });
  return 0;
}
