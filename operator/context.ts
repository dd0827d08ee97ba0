/** What the reconcilers share: the scheduler client, Events, the id index and settings. */
import { status as GrpcCode } from "@grpc/grpc-js";
import type { DdqClient } from "../client/ddqClient.js";
import type { EventRecorder } from "./eventRecorder.js";
import type { SecretReader } from "./spec/template.js";

/** A log line; `warn` for failures the operator retries or works around. */
export type Log = (
  message: string,
  fields?: Record<string, unknown>,
  level?: "info" | "warn",
) => void;

export interface ReconcileResult {
  /** Reconcile this key again after this long (level-triggered safety net, timers). */
  requeueAfterMs?: number;
}

/**
 * Which resource a scheduler id belongs to: DelayedTasks by their task ids, CronTasks by their
 * schedule ids (an occurrence id `<scheduleId>:<slot>-<shard>` names its schedule).
 */
export class IdIndex {
  private readonly tasks = new Map<string, string>();
  private readonly tasksByKey = new Map<string, Set<string>>();
  private readonly schedules = new Map<string, string>();

  setTask(taskId: string, key: string): void {
    this.tasks.set(taskId, key);
    let ids = this.tasksByKey.get(key);
    if (ids === undefined) {
      ids = new Set();
      this.tasksByKey.set(key, ids);
    }
    ids.add(taskId);
  }

  deleteTask(taskId: string): void {
    const key = this.tasks.get(taskId);
    this.tasks.delete(taskId);
    if (key !== undefined) this.tasksByKey.get(key)?.delete(taskId);
  }

  /** Every task id known for a resource key (its status's and those enqueued by this process). */
  tasksOf(key: string): string[] {
    return [...(this.tasksByKey.get(key) ?? [])];
  }

  setSchedule(scheduleId: string, key: string): void {
    this.schedules.set(scheduleId, key);
  }

  deleteSchedule(scheduleId: string): void {
    this.schedules.delete(scheduleId);
  }

  task(taskId: string): string | undefined {
    return this.tasks.get(taskId);
  }

  schedule(scheduleId: string): string | undefined {
    return this.schedules.get(scheduleId);
  }

  get size(): { tasks: number; schedules: number } {
    return { tasks: this.tasks.size, schedules: this.schedules.size };
  }
}

export interface ReconcileContext {
  client: DdqClient;
  recorder: EventRecorder;
  index: IdIndex;
  httpTopic: string;
  readSecret: SecretReader;
  log: Log;
  /** How often a resource whose task is not finished is looked at without an event. */
  resyncMs: number;
}

export function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

export function isNotFound(error: unknown): boolean {
  return grpcCode(error) === GrpcCode.NOT_FOUND;
}
