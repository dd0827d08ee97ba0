/**
 * Writes to the custom resources: metadata (finalizers) with optimistic concurrency, status via
 * the status subresource (a conflict re-reads the object and applies the same status again,
 * unless its generation moved on), deletion; and the condition helpers (metav1.Condition rules:
 * lastTransitionTime changes only when the status does).
 */
import { statusCode } from "../scheduler/kubernetesStatus.js";
import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { grpcCode, type Log } from "./context.js";
import type { Informer, KubeObject } from "./informer.js";
import {
  CONDITION_SCHEDULED,
  CONDITION_VALID,
  DDQ_GROUP,
  DDQ_VERSION,
  type Condition,
  type ConditionStatus,
} from "./spec/types.js";

export const FINALIZER = "ddq.io/finalizer";

export interface StatefulObject<S> extends KubeObject {
  status?: S;
}

export class ResourceWriter<S, T extends StatefulObject<S>> {
  private readonly api: CustomObjectsApi;
  readonly stats = { statusWrites: 0, conflicts: 0 };

  constructor(
    kubeConfig: KubeConfig,
    readonly plural: string,
    private readonly cache: Informer<T>,
  ) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async get(namespace: string, name: string): Promise<T | undefined> {
    try {
      const found = (await this.api.getNamespacedCustomObject({
        group: DDQ_GROUP,
        version: DDQ_VERSION,
        namespace,
        plural: this.plural,
        name,
      })) as T;
      this.cache.observe(found);
      return found;
    } catch (error) {
      if (statusCode(error) === 404) return undefined;
      throw error;
    }
  }

  /** Replaces the object (metadata and spec as given); 409 when it changed since it was read. */
  async replace(object: T): Promise<T> {
    const replaced = (await this.api.replaceNamespacedCustomObject({
      group: DDQ_GROUP,
      version: DDQ_VERSION,
      namespace: object.metadata.namespace ?? "",
      plural: this.plural,
      name: object.metadata.name ?? "",
      body: object,
    })) as T;
    this.cache.observe(replaced);
    return replaced;
  }

  /**
   * Writes `status` onto the object through the status subresource. On a conflict, re-reads the
   * object and writes again if it is the same generation; returns undefined when the object is
   * gone or its spec changed (the caller's key is queued again by the watch).
   */
  async writeStatus(object: T, status: S): Promise<T | undefined> {
    let current: T = object;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      try {
        this.stats.statusWrites += 1;
        const written = (await this.api.replaceNamespacedCustomObjectStatus({
          group: DDQ_GROUP,
          version: DDQ_VERSION,
          namespace: current.metadata.namespace ?? "",
          plural: this.plural,
          name: current.metadata.name ?? "",
          body: { ...current, status },
        })) as T;
        this.cache.observe(written);
        return written;
      } catch (error) {
        const code = statusCode(error);
        if (code === 404) return undefined;
        if (code !== 409) throw error;
        this.stats.conflicts += 1;
        const fresh = await this.get(current.metadata.namespace ?? "", current.metadata.name ?? "");
        if (
          fresh === undefined ||
          fresh.metadata.uid !== object.metadata.uid ||
          fresh.metadata.generation !== object.metadata.generation
        )
          return undefined;
        current = fresh;
      }
    }
    throw new Error(
      `status of ${this.plural} ${object.metadata.namespace ?? ""}/${object.metadata.name ?? ""} ` +
        "kept conflicting",
    );
  }

  async delete(object: T): Promise<void> {
    try {
      await this.api.deleteNamespacedCustomObject({
        group: DDQ_GROUP,
        version: DDQ_VERSION,
        namespace: object.metadata.namespace ?? "",
        plural: this.plural,
        name: object.metadata.name ?? "",
        body: { preconditions: { uid: object.metadata.uid ?? "" } },
      });
    } catch (error) {
      if (statusCode(error) !== 404 && statusCode(error) !== 409) throw error;
    }
  }

  /** Adds the finalizer (returns the updated object) unless present. */
  async ensureFinalizer(object: T): Promise<T> {
    const finalizers = object.metadata.finalizers ?? [];
    if (finalizers.includes(FINALIZER)) return object;
    return this.replace({
      ...object,
      metadata: { ...object.metadata, finalizers: [...finalizers, FINALIZER] },
    });
  }

  async removeFinalizer(object: T): Promise<void> {
    const finalizers = object.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return;
    try {
      await this.replace({
        ...object,
        metadata: { ...object.metadata, finalizers: finalizers.filter((f) => f !== FINALIZER) },
      });
    } catch (error) {
      if (statusCode(error) !== 404) throw error;
    }
  }
}

/** Sets a condition, keeping lastTransitionTime unless the status changes. */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: {
    type: string;
    status: ConditionStatus;
    reason: string;
    message: string;
    observedGeneration: number;
  },
  nowIso: string,
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === next.type);
  const previous = index < 0 ? undefined : list[index];
  const condition: Condition = {
    ...next,
    lastTransitionTime:
      previous !== undefined && previous.status === next.status
        ? previous.lastTransitionTime
        : nowIso,
  };
  if (index < 0) list.push(condition);
  else list[index] = condition;
  return list;
}

/**
 * Valid=True (the spec was accepted) and Scheduled with the given status, reason and message, on
 * top of `conditions`: what every reconcile that got past validation writes.
 */
export function validAndScheduled(
  conditions: readonly Condition[] | undefined,
  generation: number,
  scheduled: { status: ConditionStatus; reason: string; message: string },
  nowIso: string,
): Condition[] {
  const valid = setCondition(
    conditions,
    {
      type: CONDITION_VALID,
      status: "True",
      reason: "SpecValid",
      message: "the spec is valid",
      observedGeneration: generation,
    },
    nowIso,
  );
  return setCondition(
    valid,
    { type: CONDITION_SCHEDULED, ...scheduled, observedGeneration: generation },
    nowIso,
  );
}

/** The status fields every ddq resource has (DelayedTask and CronTask). */
interface PhasedStatus {
  observedGeneration?: number;
  phase?: string;
  conditions?: Condition[];
}

/**
 * A resource the scheduler has not taken yet (a gRPC error: unreachable, overloaded) and that
 * never got further than Pending: phase Pending with Scheduled=False saying why, so that `kubectl
 * get` shows it. A write that fails is logged, not thrown: the caller rethrows `error`, and the
 * key backs off.
 */
export async function reportPending<S extends PhasedStatus, T extends StatefulObject<S>>(
  writer: ResourceWriter<S, T>,
  resource: T,
  old: S,
  what: "task" | "schedule",
  error: unknown,
  log: Log,
): Promise<void> {
  if (grpcCode(error) === undefined || (old.phase !== undefined && old.phase !== "Pending")) return;
  const generation = resource.metadata.generation ?? 1;
  const conditions = validAndScheduled(
    old.conditions,
    generation,
    {
      status: "False",
      reason: "SchedulerUnavailable",
      message:
        `the scheduler did not take the ${what} yet (retrying): ${(error as Error).message}`.slice(
          0,
          1024,
        ),
    },
    nowSeconds(),
  );
  const status = { observedGeneration: generation, phase: "Pending", conditions } as S;
  if (jsonEqual(status, old)) return;
  try {
    await writer.writeStatus(resource, status);
  } catch (writeError) {
    log("cannot write the Pending status", { error: (writeError as Error).message }, "warn");
  }
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Deep equality of JSON values (status comparison). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = canonical(v);
    }
    return out;
  }
  return value;
}

export function iso(ms: number | Date | undefined): string | undefined {
  if (ms === undefined) return undefined;
  const value = typeof ms === "number" ? ms : ms.getTime();
  return Number.isNaN(value) ? undefined : new Date(value).toISOString();
}

/** Now, at second precision (as metav1.Time is written). */
export function nowSeconds(nowMs = Date.now()): string {
  return new Date(Math.floor(nowMs / 1000) * 1000).toISOString().replace(/\.000Z$/, "Z");
}
