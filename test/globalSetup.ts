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
  const [redis, controlPlane] = await Promise.all([
    RedisServer.start({ dir: join(dir, "redis"), databases: REDIS_DATABASES }),
    ControlPlane.start({ dir: join(dir, "kube") }),
  ]);
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
