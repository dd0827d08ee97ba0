/**
 * Connecting to Redis at start-up: Redis not being up yet is normal (pods start in any order),
 * so the scheduler waits for it with backoff, saying what it waits for, instead of exiting.
 */
import type { RedisOptions } from "ioredis";
import type { RedisClient } from "./redisClient.js";

export interface ConnectionWait {
  /** What is connected, for logs ("Redis", "Redis (subscriber)"). */
  what: string;
  /** Where Redis is, for logs (redisTargetName). */
  target: string;
  log: (message: string) => void;
  /** Checked between attempts: true stops waiting. */
  cancelled: () => boolean;
  /** Cuts a wait short. */
  signal?: AbortSignal | undefined;
}

/** Longest time between two connection reports while waiting. */
const MAX_REPORT_INTERVAL_MS = 5_000;

/**
 * Connects a lazily connecting client and waits until it is ready, however long that takes
 * (ioredis retries the connection meanwhile; a client that gave up is asked to connect again).
 * Reports what it waits for at growing intervals. False when cancelled first.
 */
export async function waitForConnection(
  client: RedisClient,
  wait: ConnectionWait,
): Promise<boolean> {
  let lastError = "";
  const onError = (error: Error): void => {
    lastError = error.message;
  };
  client.on("error", onError);
  try {
    for (let delayMs = 250; ; delayMs = Math.min(MAX_REPORT_INTERVAL_MS, delayMs * 2)) {
      if (wait.cancelled()) return false;
      if (client.status === "ready") return true;
      if (client.status === "wait" || client.status === "end") {
        client.connect().catch((error: unknown) => {
          lastError = error instanceof Error ? error.message : String(error);
        });
      }
      if (await readyWithin(client, delayMs, wait.signal)) return true;
      if (wait.cancelled()) return false;
      wait.log(
        `waiting for ${wait.what} at ${wait.target} (${lastError === "" ? client.status : lastError}); retrying with backoff`,
      );
    }
  } finally {
    client.removeListener("error", onError);
  }
}

/** True when the client is (or becomes) ready within `ms`; false on timeout or abort. */
function readyWithin(client: RedisClient, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (client.status === "ready") return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (ready: boolean): void => {
      clearTimeout(timer);
      client.removeListener("ready", onReady);
      signal?.removeEventListener("abort", onAbort);
      resolve(ready);
    };
    const onReady = (): void => {
      finish(true);
    };
    const onAbort = (): void => {
      finish(false);
    };
    const timer = setTimeout(onAbort, ms);
    client.on("ready", onReady);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Where Redis is, for logs: the URL without its password, the Sentinel master, or the nodes. */
export function redisTargetName(options: {
  redisUrl?: string | undefined;
  redisCluster?: { nodes: readonly { host: string; port: number }[] } | undefined;
  redisOptions?: RedisOptions | undefined;
}): string {
  const sentinel = options.redisOptions?.sentinels;
  if (sentinel !== undefined) {
    const nodes = sentinel.map((s) => `${s.host ?? "?"}:${s.port ?? 26379}`).join(",");
    return `Sentinel master "${options.redisOptions?.name ?? ""}" via ${nodes}`;
  }
  if (options.redisCluster !== undefined) {
    return `cluster ${options.redisCluster.nodes.map((n) => `${n.host}:${n.port}`).join(",")}`;
  }
  try {
    const url = new URL(options.redisUrl ?? "");
    if (url.password !== "") url.password = "***";
    return url.toString();
  } catch {
    return "(an invalid Redis URL)";
  }
}
