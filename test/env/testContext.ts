import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";
import type { KubeTools } from "./kubeTools.js";
import { adminKubeConfig } from "./kubeClients.js";
import { freshRedisDatabase, type RedisDatabase } from "./redisDatabase.js";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
    redisDatabases: number;
    kubeconfigPath: string;
    kubeTools: KubeTools;
    testEnvDir: string;
  }
}

/** An empty database on the shared redis-server, for this test file only. */
export function useFreshRedisDatabase(): Promise<RedisDatabase> {
  return freshRedisDatabase(inject("redisUrl"), inject("redisDatabases"));
}

/** Admin access to the shared kube-apiserver. */
export function testAdminKubeConfig(): KubeConfig {
  return adminKubeConfig(inject("kubeconfigPath"));
}

export function testKubeconfigPath(): string {
  return inject("kubeconfigPath");
}

export function testKubeTools(): KubeTools {
  return inject("kubeTools");
}

/** A new directory inside the run's environment directory (removed at teardown). */
export function testScratchDir(prefix: string): string {
  return mkdtempSync(join(inject("testEnvDir"), `${prefix}-`));
}
