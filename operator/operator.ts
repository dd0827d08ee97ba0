/**
 * The ddq operator: leader election with a Lease; while leading, informers on DelayedTask and
 * CronTask (all namespaces or a list), one rate-limited work queue per kind with worker loops,
 * the scheduler's event stream queueing the resources whose tasks changed, and a periodic full
 * resync. See docs/OPERATOR.md and docs/adr/0006-operator.md.
 */
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { DdqClient, type ClientOptions } from "../client/ddqClient.js";
import type { Event } from "../proto/gen/ddq/v1/task_service.js";
import { parseOccurrenceId } from "../scheduler/engine/taskId.js";
import { IdIndex, type Log, type ReconcileContext, type ReconcileResult } from "./context.js";
import { CronTaskReconciler } from "./cronTaskReconciler.js";
import { DelayedTaskReconciler } from "./delayedTaskReconciler.js";
import { EventRecorder } from "./eventRecorder.js";
import { Informer, objectKey, type KubeObject } from "./informer.js";
import { LeaderElector } from "./leaderElection.js";
import { PositionStore } from "./positionStore.js";
import { statusCode } from "../scheduler/kubernetesStatus.js";
import { ResourceWriter } from "./resources.js";
import { SchedulerEvents } from "./schedulerEvents.js";
import { cronScheduleId } from "./spec/cronTask.js";
import { DEFAULT_HTTP_TOPIC } from "./spec/defaults.js";
import type { SecretData } from "./spec/template.js";
import {
  CRON_TASK,
  DDQ_GROUP,
  DDQ_VERSION,
  DELAYED_TASK,
  type CronTask,
  type CronTaskStatus,
  type DelayedTask,
  type DelayedTaskStatus,
} from "./spec/types.js";
import { WorkQueue, type WorkQueueOptions } from "./workQueue.js";

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** The scheduler's address and credentials. */
  scheduler: ClientOptions;
  identity: string;
  leaseNamespace: string;
  /** Default "ddq-operator"; the watch positions live in `<leaseName>-watch`. */
  leaseName?: string;
  /** Empty: all namespaces. */
  watchNamespaces?: string[];
  httpTopic?: string;
  /** Reconcile loops per kind. Default 16 for DelayedTask, 4 for CronTask. */
  delayedTaskWorkers?: number;
  cronTaskWorkers?: number;
  queue?: WorkQueueOptions;
  lease?: { durationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  /** How often an unfinished resource is reconciled without an event. Default 60 s. */
  resyncMs?: number;
  /** How often every resource is queued (the informers' resync). Default 10 min. */
  fullResyncMs?: number;
  positionsSaveIntervalMs?: number;
  log?: Log;
}

export interface ReconcileStats {
  ok: number;
  errors: number;
}

class Controller<T extends KubeObject> {
  readonly queue: WorkQueue;
  readonly informers: Informer<T>[];
  private loops: Promise<void>[] = [];
  readonly stats: ReconcileStats = { ok: 0, errors: 0 };

  constructor(
    readonly kind: string,
    makeInformers: (handlers: {
      onUpsert: (object: T, previous: T | undefined) => void;
      onDelete: (object: T) => void;
    }) => Informer<T>[],
    private readonly reconcile: (key: string) => Promise<ReconcileResult>,
    private readonly workers: number,
    queueOptions: WorkQueueOptions,
    private readonly log: Log,
    onUpsert: (object: T) => void,
    onDelete: (object: T) => void,
  ) {
    this.queue = new WorkQueue(queueOptions);
    this.informers = makeInformers({
      onUpsert: (object, previous) => {
        onUpsert(object);
        // Status-only updates written by this operator need no reconcile.
        if (
          previous !== undefined &&
          previous.metadata.generation === object.metadata.generation &&
          previous.metadata.deletionTimestamp === object.metadata.deletionTimestamp &&
          JSON.stringify(previous.metadata.finalizers) ===
            JSON.stringify(object.metadata.finalizers)
        )
          return;
        this.queue.add(objectKey(object.metadata));
      },
      onDelete: (object) => {
        onDelete(object);
      },
    });
  }

  get(key: string): T | undefined {
    for (const informer of this.informers) {
      const found = informer.get(key);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  keys(): string[] {
    return this.informers.flatMap((informer) => informer.list().map((o) => objectKey(o.metadata)));
  }

  start(): void {
    for (const informer of this.informers) informer.start();
    for (let i = 0; i < this.workers; i += 1) this.loops.push(this.work());
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        const result = await this.reconcile(key);
        this.stats.ok += 1;
        this.queue.forget(key);
        if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      } catch (error) {
        this.stats.errors += 1;
        const delay = this.queue.addRateLimited(key);
        this.log(
          "reconcile failed; retrying",
          {
            kind: this.kind,
            key,
            error: (error as Error).message,
            code: statusCode(error),
            retryInMs: Math.round(delay),
          },
          "warn",
        );
      } finally {
        this.queue.done(key);
      }
    }
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.informers.map((informer) => informer.stop()));
    await Promise.all(this.loops);
    this.loops = [];
  }
}

/** One leadership term: everything that runs while leading. */
class Term {
  readonly client: DdqClient;
  readonly recorder: EventRecorder;
  readonly index = new IdIndex();
  readonly delayed: Controller<DelayedTask>;
  readonly cron: Controller<CronTask>;
  readonly events: SchedulerEvents;
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: OperatorOptions,
    log: Log,
  ) {
    const { kubeConfig } = options;
    this.client = new DdqClient(options.scheduler);
    this.recorder = new EventRecorder(kubeConfig, options.identity, log);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const readSecret = async (namespace: string, name: string): Promise<SecretData | undefined> => {
      try {
        return await core.readNamespacedSecret({ namespace, name });
      } catch (error) {
        if (statusCode(error) === 404) return undefined;
        throw error;
      }
    };
    const context: ReconcileContext = {
      client: this.client,
      recorder: this.recorder,
      index: this.index,
      httpTopic: options.httpTopic ?? DEFAULT_HTTP_TOPIC,
      readSecret,
      log,
      resyncMs: options.resyncMs ?? 60_000,
    };
    const namespaces = options.watchNamespaces ?? [];
    const informersOf = <T extends KubeObject>(
      plural: string,
      handlers: { onUpsert: (o: T, p: T | undefined) => void; onDelete: (o: T) => void },
    ): Informer<T>[] =>
      (namespaces.length === 0 ? [undefined] : namespaces).map(
        (namespace) =>
          new Informer<T>(
            kubeConfig,
            {
              group: DDQ_GROUP,
              version: DDQ_VERSION,
              plural,
              ...(namespace === undefined ? {} : { namespace }),
              log,
            },
            handlers,
          ),
      );
    const queueOptions = options.queue ?? {};
    const reconcilers: { delayed?: DelayedTaskReconciler; cron?: CronTaskReconciler } = {};
    this.delayed = new Controller<DelayedTask>(
      DELAYED_TASK.kind,
      (handlers) => informersOf<DelayedTask>(DELAYED_TASK.plural, handlers),
      (key) => {
        if (reconcilers.delayed === undefined) throw new Error("not started");
        return reconcilers.delayed.reconcile(key);
      },
      options.delayedTaskWorkers ?? 16,
      queueOptions,
      log,
      (object) => {
        const taskId = object.status?.taskId;
        if (taskId !== undefined) this.index.setTask(taskId, objectKey(object.metadata));
      },
      (object) => {
        const taskId = object.status?.taskId;
        if (taskId !== undefined) this.index.deleteTask(taskId);
      },
    );
    this.cron = new Controller<CronTask>(
      CRON_TASK.kind,
      (handlers) => informersOf<CronTask>(CRON_TASK.plural, handlers),
      (key) => {
        if (reconcilers.cron === undefined) throw new Error("not started");
        return reconcilers.cron.reconcile(key);
      },
      options.cronTaskWorkers ?? 4,
      queueOptions,
      log,
      (object) => {
        this.index.setSchedule(cronScheduleId(object.metadata), objectKey(object.metadata));
      },
      (object) => {
        this.index.deleteSchedule(cronScheduleId(object.metadata));
      },
    );
    const delayedWriter = new ResourceWriter<DelayedTaskStatus, DelayedTask>(
      kubeConfig,
      DELAYED_TASK.plural,
      mergedCache(this.delayed),
    );
    const cronWriter = new ResourceWriter<CronTaskStatus, CronTask>(
      kubeConfig,
      CRON_TASK.plural,
      mergedCache(this.cron),
    );
    reconcilers.delayed = new DelayedTaskReconciler(
      context,
      mergedCache(this.delayed),
      delayedWriter,
    );
    reconcilers.cron = new CronTaskReconciler(context, mergedCache(this.cron), cronWriter);
    this.events = new SchedulerEvents({
      client: this.client,
      store: new PositionStore(
        kubeConfig,
        options.leaseNamespace,
        `${options.leaseName ?? "ddq-operator"}-watch`,
      ),
      onEvent: (event) => {
        this.route(event);
      },
      onResync: () => {
        this.resyncAll();
      },
      log,
      ...(options.positionsSaveIntervalMs === undefined
        ? {}
        : { saveIntervalMs: options.positionsSaveIntervalMs }),
    });
  }

  private route(event: Event): void {
    const delayedKey = this.index.task(event.taskId);
    if (delayedKey !== undefined) {
      this.delayed.queue.add(delayedKey);
      return;
    }
    const occurrence = parseOccurrenceId(event.taskId);
    if (occurrence === undefined) return;
    const cronKey = this.index.schedule(occurrence.scheduleId);
    if (cronKey !== undefined) this.cron.queue.add(cronKey);
  }

  resyncAll(): void {
    for (const key of this.delayed.keys()) this.delayed.queue.add(key);
    for (const key of this.cron.keys()) this.cron.queue.add(key);
  }

  async start(): Promise<void> {
    // The stream first: a transition after a reconcile read its task is then always seen.
    await this.events.start();
    this.delayed.start();
    this.cron.start();
    this.resyncTimer = setInterval(() => {
      this.resyncAll();
    }, this.options.fullResyncMs ?? 600_000);
  }

  async stop(): Promise<void> {
    if (this.resyncTimer !== undefined) clearInterval(this.resyncTimer);
    await Promise.all([this.delayed.stop(), this.cron.stop()]);
    await this.events.stop();
    await this.recorder.flush();
    this.client.close();
  }
}

/** The informers of a controller (one per watched namespace) read as one cache. */
function mergedCache<T extends KubeObject>(controller: Controller<T>): Informer<T> {
  const [first] = controller.informers;
  if (first === undefined) throw new Error("a controller without informers");
  if (controller.informers.length === 1) return first;
  return new Proxy(first, {
    get(target, property, receiver) {
      if (property === "get") return (key: string) => controller.get(key);
      if (property === "observe")
        return (object: T) => {
          for (const informer of controller.informers) informer.observe(object);
        };
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

export class Operator {
  private readonly elector: LeaderElector;
  private term: Term | undefined;
  private transition: Promise<void> = Promise.resolve();
  private readonly log: Log;
  private stopped = false;

  constructor(private readonly options: OperatorOptions) {
    this.log = options.log ?? (() => undefined);
    this.elector = new LeaderElector(options.kubeConfig, {
      namespace: options.leaseNamespace,
      name: options.leaseName ?? "ddq-operator",
      identity: options.identity,
      ...(options.lease === undefined
        ? {}
        : {
            leaseDurationMs: options.lease.durationMs,
            renewDeadlineMs: options.lease.renewDeadlineMs,
            retryPeriodMs: options.lease.retryPeriodMs,
          }),
      onStartedLeading: () => {
        this.transition = this.transition.then(() => this.lead());
      },
      onStoppedLeading: () => {
        this.transition = this.transition.then(() => this.unlead());
        return this.transition;
      },
      log: this.log,
    });
  }

  get isLeader(): boolean {
    return this.elector.isLeader && this.term !== undefined;
  }

  start(): this {
    this.elector.start();
    return this;
  }

  private async lead(): Promise<void> {
    if (this.stopped || this.term !== undefined) return;
    const term = new Term(this.options, this.log);
    this.term = term;
    try {
      await term.start();
    } catch (error) {
      this.log("cannot start reconciling", { error: (error as Error).message }, "warn");
    }
  }

  private async unlead(): Promise<void> {
    const term = this.term;
    this.term = undefined;
    await term?.stop();
  }

  /** Stops reconciling, saves the watch positions and releases the Lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.elector.stop();
    await this.transition;
    await this.unlead();
  }

  /** Numbers for metrics and tests. */
  stats(): {
    leader: boolean;
    delayedTask: ReconcileStats & { queue: number; delayed: number };
    cronTask: ReconcileStats & { queue: number; delayed: number };
    events: { received: number; gaps: number; streams: number; saves: number };
    kubeEvents: { created: number; failed: number; dropped: number };
    positions: string[];
  } {
    const term = this.term;
    return {
      leader: this.isLeader,
      delayedTask: {
        ...(term?.delayed.stats ?? { ok: 0, errors: 0 }),
        queue: term?.delayed.queue.length ?? 0,
        delayed: term?.delayed.queue.delayedCount ?? 0,
      },
      cronTask: {
        ...(term?.cron.stats ?? { ok: 0, errors: 0 }),
        queue: term?.cron.queue.length ?? 0,
        delayed: term?.cron.queue.delayedCount ?? 0,
      },
      events: {
        received: term?.events.stats.events ?? 0,
        gaps: term?.events.stats.gaps ?? 0,
        streams: term?.events.stats.streams ?? 0,
        saves: term?.events.stats.saves ?? 0,
      },
      kubeEvents: term?.recorder.stats ?? { created: 0, failed: 0, dropped: 0 },
      positions: term?.events.currentPositions() ?? [],
    };
  }
}
