import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { ControlPlane } from "./env/controlPlane.js";
import { RedisServer } from "./env/redisServer.js";

/** Logical databases on the shared redis-server: one per test file, see freshRedisDatabase. */
const REDIS_DATABASES = 512;

/**
 * Starts the real dependencies every test file shares: a redis-server and a control plane
 * (etcd + kube-apiserver), on free loopback ports, and tears them down after the run.
 * Set DDQ_KEEP_TEST_ENV=1 to keep the working directory (logs, etcd data, kubeconfig).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), "ddq-test-"));
  const [redisStart, controlPlaneStart] = await Promise.allSettled([
    RedisServer.start({ dir: join(dir, "redis"), databases: REDIS_DATABASES }),
    ControlPlane.start({ dir: join(dir, "kube") }),
  ]);
  if (redisStart.status === "rejected" || controlPlaneStart.status === "rejected") {
    // Stop whichever part did start, so a failed set-up leaves no process behind.
    if (redisStart.status === "fulfilled") await redisStart.value.stop();
    if (controlPlaneStart.status === "fulfilled") await controlPlaneStart.value.stop();
    const reasons: unknown[] = [redisStart, controlPlaneStart].flatMap((r) =>
      r.status === "rejected" ? [r.reason as unknown] : [],
    );
    throw new AggregateError(reasons, `test environment failed to start (files kept in ${dir})`);
  }
  const redis = redisStart.value;
  const controlPlane = controlPlaneStart.value;
  project.provide("redisUrl", redis.url);
  project.provide("redisDatabases", REDIS_DATABASES);
  project.provide("kubeconfigPath", controlPlane.kubeconfigPath);
  project.provide("kubeTools", controlPlane.tools);
  project.provide("testEnvDir", dir);
  return async () => {
    await Promise.allSettled([controlPlane.stop(), redis.stop()]);
    if (process.env.DDQ_KEEP_TEST_ENV === "1") console.log(`test environment kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  };
}
