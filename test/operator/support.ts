/**
 * The operator's test rig: ddq's CRDs on the shared kube-apiserver, a namespace per test file, a
 * real scheduler with its gRPC API on a fresh Redis database, a real worker running the built-in
 * http handler on the operator's http topic, and helpers to read resources, Events and tasks.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { CoreV1Api, type CoreV1Event, type KubeConfig } from "@kubernetes/client-node";
import { ApiServer } from "../../scheduler/api/apiServer.js";
import { NoAuthentication } from "../../scheduler/api/authenticator.js";
import type { SchedulerOptions } from "../../scheduler/scheduler.js";
import { Operator, type OperatorOptions } from "../../operator/operator.js";
import { httpHandler } from "../../worker/handlers/httpHandler.js";
import { Worker } from "../../worker/worker.js";
import {
  killAllCli,
  startCli,
  startTestApi,
  type CliProcess,
  type TestApi,
} from "../api/support.js";
import {
  createTestNamespace,
  DdqObjects,
  installDdqCrds,
  type CustomObject,
  type Plural,
} from "../crds/support.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { testAdminKubeConfig, useFreshRedisDatabase } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";

export const HTTP_TOPIC = "ddq.http";

export interface Rig {
  admin: KubeConfig;
  namespace: string;
  objects: DdqObjects;
  db: RedisDatabase;
  api: TestApi;
  worker: Worker;
  /** Stops the gRPC server (the scheduler keeps running); restartApi brings it back on the same port. */
  stopApi(): Promise<void>;
  restartApi(): Promise<void>;
  startOperator(options?: Partial<OperatorOptions>): Operator;
  close(): Promise<void>;
}

export async function startRig(
  prefix: string,
  workerConcurrency = 16,
  schedulerOptions: Partial<SchedulerOptions> = {},
): Promise<Rig> {
  const admin = testAdminKubeConfig();
  await installDdqCrds(admin);
  const namespace = await createTestNamespace(admin, prefix);
  const db = await useFreshRedisDatabase();
  const api = await startTestApi(db, {}, schedulerOptions);
  const port = Number(api.address.split(":")[1]);
  let server: ApiServer | undefined = api.server;
  const worker = new Worker({
    address: api.address,
    topics: [HTTP_TOPIC],
    handler: httpHandler(),
    concurrency: workerConcurrency,
    pollWaitMs: 1_000,
  }).start();
  const operators: Operator[] = [];
  return {
    admin,
    namespace,
    objects: new DdqObjects(admin, namespace),
    db,
    api,
    worker,
    stopApi: async () => {
      await server?.shutdown(500);
      server = undefined;
    },
    restartApi: async () => {
      server = await ApiServer.start(api.scheduler, {
        listen: `127.0.0.1:${port}`,
        authenticator: new NoAuthentication(),
        rateLimit: { ratePerSecond: 1_000_000, burst: 1_000_000 },
        log: () => undefined,
      });
    },
    startOperator: (options = {}) => {
      const operator = new Operator({
        kubeConfig: admin,
        scheduler: { address: api.address, timeoutMs: 5_000 },
        identity: `op-${randomBytes(3).toString("hex")}`,
        leaseNamespace: namespace,
        watchNamespaces: [namespace],
        httpTopic: HTTP_TOPIC,
        lease: { durationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 },
        queue: { baseDelayMs: 100, maxDelayMs: 2_000 },
        resyncMs: 20_000,
        positionsSaveIntervalMs: 500,
        log: (message, fields) => {
          if (process.env.DDQ_TEST_OPERATOR_LOG === "1") console.log(message, fields);
        },
        ...options,
      }).start();
      operators.push(operator);
      return operator;
    },
    close: async () => {
      await Promise.all(operators.map((o) => o.stop()));
      await worker.stop(1_000);
      if (server !== undefined && server !== api.server) await server.shutdown(500);
      await api.close();
      await db.close();
    },
  };
}

export function delayedTask(name: string, spec: Record<string, unknown>): object {
  return { apiVersion: "ddq.io/v1alpha1", kind: "DelayedTask", metadata: { name }, spec };
}

export function cronTask(name: string, spec: Record<string, unknown>): object {
  return { apiVersion: "ddq.io/v1alpha1", kind: "CronTask", metadata: { name }, spec };
}

export function isoIn(ms: number): string {
  return new Date(Date.now() + ms).toISOString();
}

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export function conditionOf(object: CustomObject, type: string): Condition | undefined {
  const conditions = (object.status?.conditions ?? []) as Condition[];
  return conditions.find((c) => c.type === type);
}

/** A string field of the status. */
export function str(object: CustomObject, name: string): string | undefined {
  const value: unknown = object.status?.[name];
  return typeof value === "string" ? value : undefined;
}

/** A number field of the status. */
export function num(object: CustomObject, name: string): number | undefined {
  const value: unknown = object.status?.[name];
  return typeof value === "number" ? value : undefined;
}

export interface HistoryItem {
  occurrenceId?: string;
  scheduledTime: string;
  outcome: string;
  finishedTime?: string;
  message?: string;
}

/** A list field of the status (history, active), [] when absent. */
export function items(object: CustomObject, name: string): HistoryItem[] {
  const value: unknown = object.status?.[name];
  return Array.isArray(value) ? (value as HistoryItem[]) : [];
}

/** Waits until the resource's status satisfies `check`. */
export function waitForStatus(
  objects: DdqObjects,
  plural: Plural,
  name: string,
  check: (object: CustomObject) => boolean,
  description: string,
  timeoutMs = 30_000,
): Promise<CustomObject> {
  return waitFor(
    async () => {
      const object = await objects.get(plural, name);
      return check(object) ? object : undefined;
    },
    { description: `${plural}/${name}: ${description}`, timeoutMs, intervalMs: 100 },
  );
}

export function phaseIs(phase: string): (object: CustomObject) => boolean {
  return (object) => object.status?.phase === phase;
}

export async function eventsOf(
  admin: KubeConfig,
  namespace: string,
  name: string,
): Promise<CoreV1Event[]> {
  const list = await admin.makeApiClient(CoreV1Api).listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.name=${name}`,
  });
  return list.items;
}

export async function reasonsOf(
  admin: KubeConfig,
  namespace: string,
  name: string,
): Promise<string[]> {
  const events = await eventsOf(admin, namespace, name);
  return events
    .sort((a, b) => (a.firstTimestamp?.getTime() ?? 0) - (b.firstTimestamp?.getTime() ?? 0))
    .map((e) => e.reason ?? "");
}

export async function waitForReasons(
  admin: KubeConfig,
  namespace: string,
  name: string,
  reasons: string[],
  timeoutMs = 15_000,
): Promise<string[]> {
  return waitFor(
    async () => {
      const found = await reasonsOf(admin, namespace, name);
      return reasons.every((r) => found.includes(r)) ? found : undefined;
    },
    {
      description: `Events ${reasons.join(", ")} on ${namespace}/${name}`,
      timeoutMs,
      intervalMs: 200,
    },
  );
}

export type OperatorProcess = CliProcess;

/** `ddq operator` in its own node process (DDQ_TEST_OPERATOR_DIST=1: the compiled CLI). */
export function spawnOperator(env: Record<string, string>): OperatorProcess {
  return startCli(["operator"], env, { compiled: process.env.DDQ_TEST_OPERATOR_DIST === "1" });
}

export const killOperators = killAllCli;

/** Peak and current resident set of a process, in MiB (Linux /proc). */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);
  return { rssMiB: Math.round(kib("VmRSS") / 1024), peakMiB: Math.round(kib("VmHWM") / 1024) };
}
