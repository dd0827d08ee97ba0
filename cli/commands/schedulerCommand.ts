/** `ddq scheduler`: a scheduler replica (shard leadership, firing, the gRPC API). */
import { credentials } from "@grpc/grpc-js";
import { KubeConfig } from "@kubernetes/client-node";
import type { RedisOptions } from "ioredis";
import { ApiServer, type ApiTls } from "../../scheduler/api/apiServer.js";
import { NoAuthentication, StaticAuthenticator } from "../../scheduler/api/authenticator.js";
import { TASK_STATES } from "../../scheduler/engine/model.js";
import { Scheduler, type LeadershipConfig } from "../../scheduler/scheduler.js";
import type { Settings } from "../config.js";
import { UsageError } from "../exitCodes.js";
import { createLogger } from "../logger.js";
import { startMetricsServer, type MetricFamily } from "../observability.js";
import { onTerminate } from "./terminate.js";

function hostPorts(flag: string, values: readonly string[]): { host: string; port: number }[] {
  return values.map((hostPort) => {
    const match = /^(.+):(\d+)$/.exec(hostPort);
    const port = Number(match?.[2]);
    if (match === null || port < 1 || port > 65535)
      throw new UsageError(`--${flag}: "${hostPort}" is not host:port`);
    return { host: match[1] ?? "", port };
  });
}

/**
 * Where Redis is: exactly one of a URL (the default), Sentinel (--redis-sentinels, with
 * --redis-sentinel-master) or a Redis Cluster (--redis-cluster-nodes). Password and TLS CA apply
 * to whichever it is (to every cluster node).
 */
function redisTarget(settings: Settings): {
  redisUrl?: string;
  redisCluster?: { nodes: { host: string; port: number }[] };
  redisOptions: RedisOptions;
} {
  const options = redisOptions(settings);
  const clusterNodes = settings.list("redis-cluster-nodes");
  if (clusterNodes.length === 0) {
    return {
      redisUrl: settings.string("redis-url", "redis://127.0.0.1:6379/0") ?? "",
      redisOptions: options,
    };
  }
  if (settings.string("redis-url") !== undefined)
    throw new UsageError(
      "--redis-cluster-nodes and --redis-url (DDQ_REDIS_CLUSTER_NODES, DDQ_REDIS_URL) are exclusive: set one",
    );
  if (options.sentinels !== undefined)
    throw new UsageError(
      "--redis-cluster-nodes and --redis-sentinels (DDQ_REDIS_CLUSTER_NODES, DDQ_REDIS_SENTINELS) are exclusive: set one",
    );
  return {
    redisCluster: { nodes: hostPorts("redis-cluster-nodes", clusterNodes) },
    redisOptions: options,
  };
}

function redisOptions(settings: Settings): RedisOptions {
  const options: RedisOptions = {};
  const password = settings.string("redis-password");
  if (password !== undefined) options.password = password;
  const sentinels = settings.list("redis-sentinels");
  if (sentinels.length > 0) {
    options.sentinels = hostPorts("redis-sentinels", sentinels);
    options.name = settings.required("redis-sentinel-master");
    const sentinelPassword = settings.string("redis-sentinel-password");
    if (sentinelPassword !== undefined) options.sentinelPassword = sentinelPassword;
  }
  const ca = settings.file("redis-tls-ca-file");
  if (ca !== undefined) options.tls = { ca };
  return options;
}

export async function runScheduler(settings: Settings): Promise<number> {
  const log = createLogger(
    "scheduler",
    settings.logLevel(),
    settings.string("log-format", "json") === "text" ? "text" : "json",
  );
  const listen = settings.listen("grpc-listen", "0.0.0.0:7070");
  const { healthListen, metricsListen } = settings.observability();
  const authDisabled = settings.boolean("auth-disabled");
  const tokensFile = settings.string("auth-tokens-file");
  const certPem = settings.file("tls-cert-file");
  const keyPem = settings.file("tls-key-file");
  const clientCaPem = settings.file("tls-client-ca-file");
  if ((certPem === undefined) !== (keyPem === undefined)) {
    throw new UsageError("--tls-cert-file and --tls-key-file go together");
  }
  if (clientCaPem !== undefined && certPem === undefined) {
    throw new UsageError("--tls-client-ca-file (mTLS) needs --tls-cert-file and --tls-key-file");
  }
  if (!authDisabled && tokensFile === undefined && clientCaPem === undefined) {
    throw new UsageError(
      "no authentication configured: set --auth-tokens-file (DDQ_AUTH_TOKENS_FILE), --tls-client-ca-file, or --auth-disabled for local development",
    );
  }
  const leadershipKind = settings.string("leadership", "redis");
  let leadership: LeadershipConfig;
  if (leadershipKind === "kubernetes") {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
    leadership = {
      kind: "kubernetes",
      kubeConfig,
      namespace: settings.required("lease-namespace"),
    };
  } else if (leadershipKind === "redis") {
    leadership = { kind: "redis" };
  } else {
    throw new UsageError(`--leadership must be redis or kubernetes, got "${leadershipKind}"`);
  }
  const identity = settings.string("identity");
  const advertiseAddress = settings.string("advertise-address");
  const drainMs = settings.integer("drain-seconds", 20, 1, 3600) * 1000;
  // From now on a signal stops the process in order, whatever it is doing (waiting for Redis too).
  const terminated = onTerminate();
  const stopping = new AbortController();
  void terminated.then(() => {
    stopping.abort();
  });
  // Not connected yet: the health port serves NOT_SERVING (and the API UNAVAILABLE) until Redis
  // answers; the scheduler waits for it instead of exiting.
  const scheduler = Scheduler.create({
    ...redisTarget(settings),
    prefix: settings.string("prefix", "ddq") ?? "ddq",
    shardCount: settings.integer("shards", 16, 1, 1024),
    leadership,
    ...(identity === undefined ? {} : { identity }),
    ...(advertiseAddress === undefined ? {} : { advertiseAddress }),
    log: (message) => {
      log.info(message);
    },
  });
  const tls: ApiTls | undefined =
    certPem === undefined || keyPem === undefined
      ? undefined
      : { certPem, keyPem, ...(clientCaPem === undefined ? {} : { clientCaPem }) };
  const peerServerName = settings.string("peer-tls-server-name");
  const api = await ApiServer.start(scheduler, {
    listen,
    healthListen,
    ...(tls === undefined ? {} : { tls }),
    // Forwarding to other replicas: over TLS when the API is TLS, presenting this replica's own
    // certificate (accepted where the peers require client certificates signed by the same CA).
    ...(tls === undefined
      ? {}
      : {
          peerCredentials: credentials.createSsl(
            settings.file("peer-tls-ca-file") ?? clientCaPem ?? null,
            tls.keyPem,
            tls.certPem,
          ),
        }),
    ...(peerServerName === undefined ? {} : { peerServerName }),
    authenticator: authDisabled
      ? new NoAuthentication()
      : tokensFile !== undefined
        ? StaticAuthenticator.fromFile(tokensFile, clientCaPem !== undefined)
        : new StaticAuthenticator(new Map(), true),
    rateLimit: {
      ratePerSecond: settings.integer("rate-limit-rps", 1000, 1, 10_000_000),
      burst: settings.integer("rate-limit-burst", 2000, 1, 10_000_000),
    },
    log: (message) => {
      log.error(message);
    },
  });
  if (authDisabled)
    log.warn("authentication is DISABLED: every caller is accepted (local development only)");
  const metrics = await startMetricsServer(metricsListen, async () => {
    const reachable: MetricFamily = {
      name: "ddq_redis_reachable",
      help: "1 while this replica reaches Redis (its API answers UNAVAILABLE while 0).",
      type: "gauge",
      samples: [{ value: scheduler.availability.reachable ? 1 : 0 }],
    };
    // Counts come from Redis: without it, only what this replica knows.
    if (!scheduler.availability.reachable) return [reachable];
    const counts = await scheduler.counts();
    const families: MetricFamily[] = [
      reachable,
      {
        name: "ddq_tasks",
        help: "Tasks per topic and state (succeeded and cancelled: cumulative).",
        type: "gauge",
        samples: [...counts.entries()].flatMap(([topic, byState]) =>
          TASK_STATES.map((state) => ({ labels: { topic, state }, value: byState[state] })),
        ),
      },
      {
        name: "ddq_shards_led",
        help: "Shards this replica leads.",
        type: "gauge",
        samples: [{ value: scheduler.ledShards().length }],
      },
      {
        name: "ddq_grpc_calls_in_flight",
        help: "API calls being handled.",
        type: "gauge",
        samples: [{ value: api.callsInFlight }],
      },
      {
        name: "ddq_grpc_calls_total",
        help: "API calls answered, by method and gRPC status code.",
        type: "counter",
        samples: [...api.callsAnswered.entries()].map(([key, value]) => {
          const [method = "", code = ""] = key.split(" ");
          return { labels: { method, code }, value };
        }),
      },
    ];
    return families;
  });
  const ports = { grpcPort: api.port, healthPort: api.healthPort, metricsPort: metrics.port };
  // Machine-readable lines for supervisors and tests (ports chosen when listening on :0): this one
  // as soon as the ports are bound, `ready` once connected to Redis.
  process.stdout.write(`${JSON.stringify({ listening: true, ...ports })}\n`);
  let started: boolean;
  try {
    started = await scheduler.connect(stopping.signal);
  } catch (error) {
    // A setting Redis refuses (a shard count mismatch): stop serving, then report it.
    await api.shutdown(1_000);
    await scheduler.stop(1_000);
    await metrics.stop();
    throw error;
  }
  if (started) {
    log.info("scheduler serving", {
      identity: scheduler.identity,
      grpc: `${listen.slice(0, listen.lastIndexOf(":"))}:${api.port}`,
      healthPort: api.healthPort,
      metricsPort: metrics.port,
      shards: scheduler.shardCount,
      leadership: leadershipKind,
    });
    process.stdout.write(`${JSON.stringify({ ready: true, ...ports })}\n`);
  }
  await terminated;
  // Within the drain time, whatever state Redis is in: calls get up to half of it, the rest is
  // for releasing the shards (skipped when Redis does not answer: their leases expire).
  const drainStarted = Date.now();
  log.info("shutting down: draining calls, releasing shards", { drainSeconds: drainMs / 1000 });
  await api.shutdown(Math.min(10_000, drainMs / 2));
  await scheduler.stop(Math.max(500, drainMs - (Date.now() - drainStarted) - 500));
  await metrics.stop();
  log.info("stopped", { ms: Date.now() - drainStarted });
  return 0;
}
