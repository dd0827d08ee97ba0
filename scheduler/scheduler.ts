import { randomBytes } from "node:crypto";
import { Leasing, type LeaseRequest } from "./leasing.js";
import { hostname } from "node:os";
import type { KubeConfig } from "@kubernetes/client-node";
import { Cluster, Redis, type RedisOptions } from "ioredis";
import { DdqError, invalidArgument, isDdqError } from "./engine/errors.js";
import { streamHeads, StreamTail, trimmedPast } from "./engine/eventStreams.js";
import { readEach, type RedisClient } from "./engine/redisClient.js";
import { RedisAvailability } from "./engine/redisAvailability.js";
import { isRedisUnavailableError } from "./engine/redisErrors.js";
import { redisTargetName, waitForConnection } from "./engine/redisConnect.js";
import { settlesWithin, sleep } from "./engine/waiting.js";
import { FiringLoop, FiringPace } from "./engine/firingLoop.js";
import { ShardKeys } from "./engine/keys.js";
import {
  DEFAULT_DEFAULTS,
  DEFAULT_LIMITS,
  TASK_STATES,
  type EngineDefaults,
  type EngineLimits,
  type EnqueueResult,
  type LeasedTask,
  type Task,
  type TaskSpec,
  type TaskState,
} from "./engine/model.js";
import { replyString, ScriptRunner } from "./engine/scripts.js";
import {
  ShardEngine,
  type AckItem,
  type FailOutcome,
  type ShardEngineSettings,
} from "./engine/shardEngine.js";
import {
  decodePendingTask,
  decodeTask,
  recordFromHgetall,
  storedState,
  topicOfPendingRecord,
} from "./engine/taskRecord.js";
import { formatTaskId, shardOfTaskId, stableHash, UlidGenerator } from "./engine/taskId.js";
import { prepareTask, validateTopic, type PreparedTask } from "./engine/validation.js";
import { CronScheduler, type CronHost } from "./cron/cronScheduler.js";
import { KubernetesLeaseBackend } from "./leadership/kubernetesLeaseBackend.js";
import {
  DEFAULT_LEASE_TIMING,
  type LeaseBackend,
  type LeaseTiming,
} from "./leadership/leaseBackend.js";
import { RedisLeaseBackend } from "./leadership/redisLeaseBackend.js";
import { ShardElector } from "./leadership/shardElector.js";
import { TaskChanges } from "./taskChanges.js";
import { TaskListing, type ListPage, type ListRequest } from "./taskListing.js";

export type { ListPage, ListRequest } from "./taskListing.js";

export type LeadershipConfig =
  | { kind: "redis" }
  | { kind: "kubernetes"; kubeConfig: KubeConfig; namespace: string; leaseNamePrefix?: string };

/** A Redis Cluster: some of its nodes (the rest are discovered). */
export interface RedisClusterConfig {
  nodes: readonly { host: string; port: number }[];
}

export interface SchedulerOptions {
  /** One Redis node (or, with `redisOptions.sentinels`, the Sentinel-managed primary). */
  redisUrl?: string;
  /** A Redis Cluster instead of `redisUrl` (exactly one of the two). */
  redisCluster?: RedisClusterConfig;
  /** Connection options: for a cluster, applied to every node (password, TLS). */
  redisOptions?: RedisOptions;
  /** Key prefix of every Redis key. Default "ddq". */
  prefix?: string;
  /** Fixed per installation (recorded in Redis; a mismatch refuses to start). Default 16. */
  shardCount?: number;
  /** Unique per replica. Default: hostname + random suffix. */
  identity?: string;
  leadership?: LeadershipConfig;
  leaseTiming?: LeaseTiming;
  limits?: Partial<EngineLimits>;
  defaults?: Partial<EngineDefaults>;
  /**
   * host:port where other replicas reach this one's gRPC API. Recorded per led shard so that a
   * replica receiving a write for a shard it does not lead can forward it. Unset: not recorded.
   */
  advertiseAddress?: string;
  /** Approximate length of each shard's event stream. Default 100,000. */
  eventsMaxLen?: number;
  log?: (message: string) => void;
}

export type { LeaseRequest } from "./leasing.js";

export interface LifecycleEvent {
  /** `<stream entry id>.<line>` within the shard: resume after it. */
  eventId: string;
  shard: number;
  type: string;
  taskId: string;
  topic: string;
  attempt: number;
}

const ENQUEUE_CHUNK = 500;

/**
 * A scheduler replica: leads some shards (elected), fires their due tasks, and serves every
 * operation on tasks. Writes go to shards this replica leads (NOT_LEADER otherwise); reads work
 * on any shard.
 */
export class Scheduler {
  readonly identity: string;
  readonly prefix: string;
  private readonly advertiseAddress: string | undefined;
  readonly shardCount: number;
  readonly limits: EngineLimits;
  readonly defaults: EngineDefaults;
  private readonly redis: RedisClient;
  private readonly subscriber: RedisClient;
  /** Whether Redis answers now (the API refuses calls and readiness fails while it does not). */
  readonly availability: RedisAvailability;
  /** Where Redis is, for logs (no password). */
  private readonly redisTarget: string;
  private readonly scripts: ScriptRunner;
  private readonly elector: ShardElector;
  /** Cron schedules: upsert, get, list, delete, pause/resume, trigger, preview. */
  readonly cron: CronScheduler;
  /** Reschedule, run now, set priority, delete one dead task. */
  readonly changes: TaskChanges;
  private readonly listing: TaskListing;
  private readonly engines = new Map<number, ShardEngine>();
  private readonly loops = new Map<number, FiringLoop>();
  /** When the led shards' task loops pass (shared: see FiringPace). */
  private readonly firingPace = new FiringPace();
  /** Lease calls, their long-polls and empty-queue hints. */
  private readonly leasing: Leasing;
  private readonly ids = new UlidGenerator();
  private readonly settings: ShardEngineSettings;
  private readonly log: (message: string) => void;
  private readonly leaseTiming: LeaseTiming;
  private roundRobin = 0;
  private currentShard = -1;
  private placedOnCurrentShard = 0;
  /** Shards led now, ascending (kept in step with `engines`). */
  private led: readonly number[] = [];
  private stopped = false;
  /** Connected, shard count checked, elector started (see connect). */
  private started = false;
  private readonly readinessListeners = new Set<(ready: boolean) => void>();

  private constructor(options: SchedulerOptions) {
    this.identity = options.identity ?? `${hostname()}-${randomBytes(3).toString("hex")}`;
    this.prefix = options.prefix ?? "ddq";
    this.advertiseAddress = options.advertiseAddress;
    this.shardCount = options.shardCount ?? 16;
    if (!Number.isSafeInteger(this.shardCount) || this.shardCount < 1 || this.shardCount > 1024) {
      throw invalidArgument(
        "shardCount",
        `must be an integer from 1 to 1024, got ${this.shardCount}`,
      );
    }
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.defaults = { ...DEFAULT_DEFAULTS, ...options.defaults };
    this.log = options.log ?? (() => undefined);
    this.leaseTiming = options.leaseTiming ?? DEFAULT_LEASE_TIMING;
    this.settings = {
      maxHorizonMs: this.limits.maxHorizonMs,
      eventsMaxLen: options.eventsMaxLen ?? 100_000,
      idempotencyRetentionMs: this.defaults.idempotencyRetentionMs,
      finishedRetentionMs: this.defaults.finishedRetentionMs,
      leaseRequestRetentionMs: 10 * 60 * 1000,
    };
    this.redis = connectRedis(options);
    this.redisTarget = redisTargetName(options);
    this.redis.on("error", (error: Error) => {
      this.log(`redis: ${error.message}`);
    });
    this.availability = new RedisAvailability(this.redis, { log: this.log });
    this.availability.onChange(() => {
      this.emitReadiness();
    });
    this.subscriber = this.redis.duplicate();
    this.subscriber.on("error", (error: Error) => {
      this.log(`redis subscriber: ${error.message}`);
    });
    this.subscriber.on("message", (channel: string, message: string) => {
      this.onWakeMessage(channel, message);
    });
    this.scripts = new ScriptRunner(this.redis);
    this.leasing = this.createLeasing();
    const host: CronHost = {
      prefix: this.prefix,
      shardCount: this.shardCount,
      limits: this.limits,
      defaults: this.defaults,
      redis: this.redis,
      onShard: (shard, write) => this.onShard(shard, write),
      wakeLoop: (shard, atMs) => {
        this.loops.get(shard)?.wake(atMs, "schedules");
      },
      notifyReady: (shard, topic) => {
        this.notifyReady(shard, topic);
      },
      log: (message) => {
        this.log(message);
      },
    };
    this.cron = new CronScheduler(host);
    const read = (id: string): Promise<Task> => this.get(id);
    this.changes = new TaskChanges(host, this.scripts, this.settings, read);
    this.listing = new TaskListing(host, this.scripts, read);
    const leadership = options.leadership ?? { kind: "redis" };
    const backend: LeaseBackend =
      leadership.kind === "redis"
        ? new RedisLeaseBackend(
            this.scripts,
            this.prefix,
            this.identity,
            this.leaseTiming.leaseDurationMs,
          )
        : new KubernetesLeaseBackend(
            leadership.kubeConfig,
            leadership.namespace,
            leadership.leaseNamePrefix ?? this.prefix,
            this.identity,
            this.leaseTiming.leaseDurationMs,
          );
    this.elector = new ShardElector({
      shardCount: this.shardCount,
      backend,
      timing: this.leaseTiming,
      bumpEpoch: async (shard) =>
        replyString(
          await this.scripts.run("bumpEpoch", [new ShardKeys(this.prefix, shard).epoch], []),
        ),
      targetShardCount: () => this.targetShardCount(),
      callbacks: {
        onStartedLeading: (shard, epoch) => {
          this.startLeading(shard, epoch);
        },
        onStoppedLeading: (shard) => {
          this.stopLeading(shard);
        },
      },
      log: this.log,
    });
  }

  /**
   * Connects (waiting for Redis as long as it takes, see connect), checks the store's shard
   * count, and takes this replica's share of shards.
   */
  static async start(options: SchedulerOptions): Promise<Scheduler> {
    const scheduler = Scheduler.create(options);
    await scheduler.connect();
    return scheduler;
  }

  /** A scheduler not yet connected: `connect` starts it (a process can serve health meanwhile). */
  static create(options: SchedulerOptions): Scheduler {
    return new Scheduler(options);
  }

  /**
   * Waits for Redis with backoff (logging what it waits for: Redis not up yet is normal while a
   * cluster starts), checks the store's shard count, and starts electing shards. Resolves false
   * when `signal` aborts or stop() is called first. A shard count mismatch rejects.
   */
  async connect(signal?: AbortSignal): Promise<boolean> {
    const cancelled = (): boolean => this.stopped || signal?.aborted === true;
    const wait = { target: this.redisTarget, log: this.log, cancelled, signal };
    if (!(await waitForConnection(this.redis, { ...wait, what: "Redis" }))) return false;
    this.availability.start();
    if (!(await waitForConnection(this.subscriber, { ...wait, what: "Redis (subscriber)" })))
      return false;
    for (let delayMs = 250; ; delayMs = Math.min(5_000, delayMs * 2)) {
      if (cancelled()) return false;
      try {
        await this.checkShardCount();
        break;
      } catch (error) {
        if (!isRedisUnavailableError(error)) throw error;
        this.log(
          `waiting for Redis (${this.redisTarget}): ${String(error)}; retrying in ${delayMs} ms`,
        );
        await sleep(delayMs, signal);
      }
    }
    if (cancelled()) return false;
    await this.elector.start();
    this.started = true;
    this.emitReadiness();
    return true;
  }

  /** Ready to serve: started, not stopping, and Redis reachable. */
  isReady(): boolean {
    return this.started && !this.stopped && this.availability.reachable;
  }

  /** Called when isReady() may have changed; returns the unsubscribe function. */
  onReadinessChange(listener: (ready: boolean) => void): () => void {
    this.readinessListeners.add(listener);
    return () => this.readinessListeners.delete(listener);
  }

  private emitReadiness(): void {
    const ready = this.isReady();
    for (const listener of [...this.readinessListeners]) listener(ready);
  }

  private async checkShardCount(): Promise<void> {
    const metaKey = `${this.prefix}:meta`;
    await this.redis.hsetnx(metaKey, "shardCount", this.shardCount);
    const stored = Number(await this.redis.hget(metaKey, "shardCount"));
    if (stored !== this.shardCount) {
      throw new DdqError(
        "FAILED_PRECONDITION",
        `the store under prefix "${this.prefix}" was created with ${stored} shards, this scheduler is configured with ${this.shardCount}`,
      );
    }
  }

  private async targetShardCount(): Promise<number> {
    const key = `${this.prefix}:members`;
    const now = Date.now();
    const [, , , members] = (await this.redis
      .multi()
      .zadd(key, now + this.leaseTiming.leaseDurationMs, this.identity)
      .zremrangebyscore(key, "-inf", now)
      .pexpire(key, this.leaseTiming.leaseDurationMs * 4)
      .zcard(key)
      .exec()) ?? [
      [null, 0],
      [null, 0],
      [null, 0],
      [null, 1],
    ];
    const replicas = Math.max(1, Number(members?.[1] ?? 1));
    return Math.ceil(this.shardCount / replicas);
  }

  private startLeading(shard: number, epoch: string): void {
    const keys = new ShardKeys(this.prefix, shard);
    const engine = new ShardEngine(this.scripts, keys, epoch, this.settings);
    this.engines.set(shard, engine);
    const loop = new FiringLoop(
      engine,
      this.redis,
      {
        onReady: (topic) => {
          this.notifyReady(shard, topic);
        },
        onFencedOff: () => {
          this.elector.lost(shard);
        },
        fireSchedules: (scheduleIds, nowMs) => this.cron.fireDue(shard, scheduleIds, nowMs),
        log: this.log,
      },
      this.firingPace,
    );
    this.loops.set(shard, loop);
    this.led = [...this.engines.keys()].sort((a, b) => a - b);
    void this.subscriber.subscribe(keys.wakeChannel).catch((error: unknown) => {
      this.log(`shard ${shard}: subscribe failed: ${String(error)}`);
    });
    loop.start();
    if (this.advertiseAddress !== undefined) {
      void this.redis
        .hset(this.routesKey, String(shard), this.ownRoute(this.advertiseAddress, epoch))
        .catch((error: unknown) => {
          this.log(`shard ${shard}: recording the route failed: ${String(error)}`);
        });
    }
  }

  /**
   * This replica's entry in the routes hash for a leadership: "<identity> <address> <epoch>"
   * (readers use the first two words). The epoch tells this leadership's entry from a later one
   * of the same replica, so that a late removal cannot delete a fresh route.
   */
  private ownRoute(address: string, epoch: string): string {
    return `${this.identity} ${address} ${epoch}`;
  }

  private get routesKey(): string {
    return `${this.prefix}:routes`;
  }

  /**
   * Where the leader of `shard` serves its API, as recorded when it took the shard (a hint: a
   * stale one is answered NOT_LEADER by the replica it names). Undefined if unknown or this one.
   */
  async leaderAddress(shard: number): Promise<string | undefined> {
    const route = await this.redis.hget(this.routesKey, String(shard));
    if (route === null) return undefined;
    const [identity = "", address] = route.split(" ");
    return identity === this.identity ? undefined : address;
  }

  /** Distinct API addresses of the other replicas leading shards (from the recorded routes). */
  async peerAddresses(): Promise<string[]> {
    const routes = await this.redis.hgetall(this.routesKey);
    const addresses = new Set<string>();
    for (const route of Object.values(routes)) {
      const [identity = "", address] = route.split(" ");
      if (identity !== this.identity && address !== undefined) addresses.add(address);
    }
    return [...addresses];
  }

  /** Whether this replica leads `shard` now. */
  leads(shard: number): boolean {
    return this.engines.has(shard);
  }

  /** The shard a task id lives on (INVALID_ARGUMENT for `field` if it is not a task id). */
  shardOfTask(id: string, field = "id"): number {
    return this.parseId(id, field);
  }

  /** The shard a new task with this idempotency key must go to (keyless tasks go anywhere). */
  shardOfIdempotencyKey(key: string): number {
    return stableHash(key) % this.shardCount;
  }

  private stopLeading(shard: number): void {
    const epoch = this.engines.get(shard)?.epoch;
    this.engines.delete(shard);
    this.led = [...this.engines.keys()].sort((a, b) => a - b);
    this.leasing.forgetShard(shard);
    const loop = this.loops.get(shard);
    this.loops.delete(shard);
    void loop?.stop();
    if (this.advertiseAddress !== undefined && epoch !== undefined) {
      // Sent before stop()'s QUIT, so it runs even when the whole replica is stopping.
      this.scripts
        .run(
          "releaseRoute",
          [this.routesKey],
          [String(shard), this.ownRoute(this.advertiseAddress, epoch)],
        )
        .catch((error: unknown) => {
          this.log(`shard ${shard}: removing the route failed: ${String(error)}`);
        });
    }
    if (!this.stopped) {
      void this.subscriber
        .unsubscribe(new ShardKeys(this.prefix, shard).wakeChannel)
        .catch(() => undefined);
    }
  }

  private onWakeMessage(channel: string, message: string): void {
    const shard = Number(/\{(\d+)\}/.exec(channel)?.[1] ?? "-1");
    this.loops.get(shard)?.wake(Number(message));
  }

  /** Shards this replica leads now (ascending). */
  ledShards(): readonly number[] {
    return this.led;
  }

  /** The epoch this replica holds for a shard (tests use it to check fencing). */
  epochOf(shard: number): string | undefined {
    return this.elector.epochOf(shard);
  }

  private engineFor(shard: number): ShardEngine {
    const engine = this.engines.get(shard);
    if (engine === undefined) {
      throw new DdqError(
        "NOT_LEADER",
        `this scheduler (${this.identity}) does not lead shard ${shard}`,
        undefined,
        shard,
      );
    }
    return engine;
  }

  /** Runs a write on a shard, handing the shard back to the elector if it was fenced off. */
  private async onShard<T>(shard: number, write: (engine: ShardEngine) => Promise<T>): Promise<T> {
    try {
      return await write(this.engineFor(shard));
    } catch (error) {
      if (isDdqError(error, "STALE_EPOCH")) {
        this.elector.lost(shard);
        throw new DdqError(
          "NOT_LEADER",
          `this scheduler (${this.identity}) no longer leads shard ${shard}`,
          undefined,
          shard,
        );
      }
      throw error;
    }
  }

  /**
   * The shard of a new task: the hash of its idempotency key when it has one (so a repeated key
   * meets its first task), else a led shard. Tasks without a key change shard every
   * ENQUEUE_CHUNK tasks (round robin), so a batch is written in a few full script calls while
   * load still spreads over every led shard.
   */
  private shardForNewTask(task: PreparedTask): number {
    if (task.idempotencyKey !== "") return this.shardOfIdempotencyKey(task.idempotencyKey);
    const led = this.ledShards();
    if (led.length === 0) {
      // Shard 0's leader (any leader would do) can place it.
      throw new DdqError(
        "NOT_LEADER",
        `this scheduler (${this.identity}) leads no shard yet`,
        undefined,
        0,
      );
    }
    if (this.placedOnCurrentShard >= ENQUEUE_CHUNK || !led.includes(this.currentShard)) {
      this.roundRobin = (this.roundRobin + 1) % led.length;
      this.currentShard = led[this.roundRobin] ?? 0;
      this.placedOnCurrentShard = 0;
    }
    this.placedOnCurrentShard += 1;
    return this.currentShard;
  }

  async enqueue(spec: TaskSpec): Promise<EnqueueResult> {
    const [result] = await this.enqueueBatch([spec], "");
    if (result === undefined) throw new Error("enqueue returned no result");
    return result;
  }

  /**
   * Enqueues many tasks: validated all first (the first bad one fails the call, naming
   * `tasks[i].field`), then written per shard and topic in chunks sent concurrently (pipelined
   * on one connection). Results come in input order.
   */
  async enqueueBatch(specs: readonly TaskSpec[], fieldRoot = "tasks"): Promise<EnqueueResult[]> {
    if (specs.length === 0) throw invalidArgument(fieldRoot || "tasks", "must not be empty");
    if (specs.length > this.limits.maxBatchSize) {
      throw new DdqError(
        "RESOURCE_EXHAUSTED",
        `${fieldRoot || "tasks"}: a batch may hold at most ${this.limits.maxBatchSize} tasks, got ${specs.length}`,
        fieldRoot || "tasks",
      );
    }
    const at = (i: number): string => (fieldRoot === "" ? "" : `${fieldRoot}[${i}].`);
    const prepared = specs.map((spec, i) => prepareTask(spec, this.limits, this.defaults, at(i)));
    const fingerprints = new Map<string, string>();
    prepared.forEach((task, i) => {
      if (task.idempotencyKey === "") return;
      const seen = fingerprints.get(task.idempotencyKey);
      if (seen !== undefined && seen !== task.fingerprint) {
        throw invalidArgument(
          `${at(i)}idempotencyKey`,
          "is repeated in the batch with a different topic or payload",
        );
      }
      fingerprints.set(task.idempotencyKey, task.fingerprint);
    });
    // Group by shard and topic, keeping input positions.
    const groups = new Map<
      string,
      { shard: number; topic: string; items: { index: number; id: string; task: PreparedTask }[] }
    >();
    prepared.forEach((task, index) => {
      const shard = this.shardForNewTask(task);
      const key = `${shard}|${task.topic}`;
      let group = groups.get(key);
      if (group === undefined) {
        group = { shard, topic: task.topic, items: [] };
        groups.set(key, group);
      }
      group.items.push({ index, id: formatTaskId(this.ids.next(), shard), task });
    });
    const results = new Array<EnqueueResult | undefined>(specs.length);
    const writes: Promise<void>[] = [];
    for (const group of groups.values()) {
      for (let i = 0; i < group.items.length; i += ENQUEUE_CHUNK) {
        const chunk = group.items.slice(i, i + ENQUEUE_CHUNK);
        writes.push(
          this.onShard(group.shard, (engine) =>
            engine.enqueue(
              group.topic,
              chunk.map((c) => c.id),
              chunk.map((c) => c.task),
              chunk.map((c) => at(c.index)),
            ),
          ).then((created) => {
            created.forEach((result, j) => {
              const item = chunk[j];
              if (item !== undefined) results[item.index] = result;
            });
            if (created.some((r) => r.created && r.task.state === "ready"))
              this.notifyReady(group.shard, group.topic);
            const earliest = Math.min(
              ...created.filter((r) => r.task.state === "scheduled").map((r) => r.task.dueAtMs),
            );
            if (Number.isFinite(earliest)) this.loops.get(group.shard)?.wake(earliest, "tasks");
          }),
        );
      }
    }
    const settled = await Promise.allSettled(writes);
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failure !== undefined) throw failure.reason;
    return results.map((r) => {
      if (r === undefined) throw new Error("enqueue lost a result");
      return r;
    });
  }

  private parseId(id: string, field = "id"): number {
    const shard = shardOfTaskId(id);
    if (shard === undefined || shard >= this.shardCount) {
      throw invalidArgument(field, `"${id}" is not a ddq task id (<ULID>-<shard>)`);
    }
    return shard;
  }

  async get(id: string): Promise<Task> {
    const shard = this.parseId(id);
    const keys = new ShardKeys(this.prefix, shard);
    const record = recordFromHgetall(await this.redis.hgetallBuffer(keys.task(id)));
    let task: Task | undefined;
    if (record.size > 0) {
      const waiting = storedState(record) === "waiting";
      const topic = record.get("tp")?.toString("utf8") ?? "";
      const inReady = waiting && (await this.redis.zscore(keys.ready(topic), id)) !== null;
      task = decodeTask(id, shard, record, inReady);
    } else {
      const packed = await this.redis.hgetBuffer(keys.pending, id);
      const topic = packed === null ? undefined : topicOfPendingRecord(packed);
      if (packed !== null && topic !== undefined) {
        const inReady = (await this.redis.zscore(keys.ready(topic), id)) !== null;
        task = decodePendingTask(id, shard, packed, inReady);
      }
    }
    if (task === undefined) {
      throw new DdqError(
        "NOT_FOUND",
        `task ${id} not found (never existed, or its retention ended)`,
      );
    }
    return task;
  }

  private async topicOf(id: string, shard: number): Promise<string> {
    const keys = new ShardKeys(this.prefix, shard);
    const topic = await this.redis.hget(keys.task(id), "tp");
    if (topic !== null) return topic;
    const packed = await this.redis.hgetBuffer(keys.pending, id);
    const pendingTopic = packed === null ? undefined : topicOfPendingRecord(packed);
    if (pendingTopic === undefined) throw new DdqError("NOT_FOUND", `task ${id} not found`);
    return pendingTopic;
  }

  /**
   * Cancels a scheduled or ready task at once; a leased one is marked cancel-requested (the
   * worker sees it on its next heartbeat). Cancelling a cancelled task is a no-op; a succeeded or
   * dead task cannot be cancelled.
   */
  async cancel(
    id: string,
  ): Promise<{ state: TaskState; outcome: "cancelled" | "requested" | "unchanged" }> {
    const shard = this.parseId(id);
    const topic = await this.topicOf(id, shard);
    const result = await this.onShard(shard, (engine) => engine.cancel(id, topic));
    if (
      result.outcome === "unchanged" &&
      (result.state === "succeeded" || result.state === "dead")
    ) {
      throw new DdqError(
        "FAILED_PRECONDITION",
        `task ${id} is already ${result.state} and cannot be cancelled`,
      );
    }
    return result;
  }

  /**
   * Leases up to `max` ready tasks of the given topics from the shards this replica leads,
   * waiting up to `waitMs` for one to become ready when none is (see leasing.ts).
   */
  lease(request: LeaseRequest): Promise<LeasedTask[]> {
    return this.leasing.lease(request);
  }

  private createLeasing(): Leasing {
    return new Leasing({
      limits: this.limits,
      ledShards: () => this.ledShards(),
      leaseOnShard: (shard, topics, max, override, requestId) =>
        this.onShard(shard, (e) => e.leaseMany(topics, max, override, requestId)),
      leasesExpireAt: (shard, atMs) => {
        this.loops.get(shard)?.wake(atMs, "tasks");
      },
      stopping: () => this.stopped,
      log: (message) => {
        this.log(message);
      },
    });
  }

  private notifyReady(shard: number, topic: string): void {
    this.leasing.notifyReady(shard, topic);
  }

  async extend(
    id: string,
    topic: string,
    leaseToken: string,
    extendMs: number,
  ): Promise<{ leaseExpiresAtMs: number; cancelRequested: boolean }> {
    const shard = this.parseId(id);
    if (
      !Number.isSafeInteger(extendMs) ||
      extendMs < 100 ||
      extendMs > this.limits.maxLeaseTimeoutMs
    ) {
      throw invalidArgument("extendMs", `must be from 100 to ${this.limits.maxLeaseTimeoutMs}`);
    }
    const result = await this.onShard(shard, (e) => e.extend(id, topic, leaseToken, extendMs));
    // A shorter extension moves the expiry earlier: the loop must look again by then.
    this.loops.get(shard)?.wake(result.leaseExpiresAtMs, "tasks");
    return result;
  }

  async ack(id: string, topic: string, leaseToken: string, result?: Uint8Array): Promise<void> {
    const item: AckItem & { topic: string } = { id, topic, leaseToken };
    if (result !== undefined) item.result = result;
    const [answer] = await this.ackMany([item]);
    if (answer !== undefined) throw answer;
  }

  /**
   * Acks many tasks, batched per shard and topic (one script call each). Answers in input order:
   * undefined for success (or a resent ack), a DdqError for an item that failed (NOT_FOUND;
   * FAILED_PRECONDITION with field leaseToken for a stale lease; NOT_LEADER).
   */
  async ackMany(
    items: readonly (AckItem & { topic: string })[],
  ): Promise<(DdqError | undefined)[]> {
    const answers = new Array<DdqError | undefined>(items.length);
    const groups = new Map<string, { shard: number; topic: string; indexes: number[] }>();
    items.forEach((item, index) => {
      const shard = this.parseId(item.id, items.length === 1 ? "id" : `items[${index}].id`);
      if (item.result !== undefined && item.result.length > this.limits.maxResultBytes) {
        throw invalidArgument(
          items.length === 1 ? "result" : `items[${index}].result`,
          `is ${item.result.length} bytes, more than the limit of ${this.limits.maxResultBytes}`,
        );
      }
      const key = `${shard}|${item.topic}`;
      const group = groups.get(key) ?? { shard, topic: item.topic, indexes: [] };
      group.indexes.push(index);
      groups.set(key, group);
    });
    await Promise.all(
      [...groups.values()].map(async ({ shard, topic, indexes }) => {
        const batch = indexes.map((i) => items[i]).filter((item) => item !== undefined);
        let replies: Awaited<ReturnType<ShardEngine["ack"]>>;
        try {
          replies = await this.onShard(shard, (e) => e.ack(topic, batch));
        } catch (error) {
          if (!(error instanceof DdqError)) throw error;
          for (const index of indexes) answers[index] = error;
          return;
        }
        replies.forEach((reply, j) => {
          const index = indexes[j] ?? 0;
          const id = items[index]?.id ?? "";
          if (reply === "notfound") {
            answers[index] = new DdqError("NOT_FOUND", `task ${id} not found in topic ${topic}`);
          } else if (typeof reply === "object") {
            answers[index] = new DdqError(
              "FAILED_PRECONDITION",
              `the lease token is not task ${id}'s current lease (task state: ${reply.staleState}); the lease expired or was superseded`,
              "leaseToken",
            );
          }
        });
      }),
    );
    return answers;
  }

  async fail(
    id: string,
    topic: string,
    leaseToken: string,
    error: string,
    retryable = true,
  ): Promise<FailOutcome> {
    const shard = this.parseId(id);
    const message = Buffer.from(error, "utf8")
      .subarray(0, this.limits.maxErrorBytes)
      .toString("utf8");
    const outcome = await this.onShard(shard, (e) =>
      e.fail(id, topic, leaseToken, message, retryable),
    );
    if (outcome.outcome === "retrying") this.loops.get(shard)?.wake(outcome.retryAtMs, "tasks");
    return outcome;
  }

  async requeueDead(id: string): Promise<{ state: TaskState; outcome: "requeued" | "unchanged" }> {
    const shard = this.parseId(id);
    const topic = await this.topicOf(id, shard);
    const result = await this.onShard(shard, (e) => e.requeueDead(id, topic)).catch(
      async (error: unknown) => {
        if (!isDdqError(error, "NOT_FOUND")) throw error;
        // The script knows task hashes only: a never-leased (pending) task exists, is not dead.
        const task = await this.get(id);
        throw new DdqError("FAILED_PRECONDITION", `task ${id} is ${task.state}, not dead`);
      },
    );
    if (result.outcome === "requeued") {
      this.notifyReady(shard, topic);
    } else if (result.state !== "ready" && result.state !== "scheduled") {
      // Waiting again (a resent requeue) is fine; anything else was never dead or moved on.
      throw new DdqError("FAILED_PRECONDITION", `task ${id} is ${result.state}, not dead`);
    }
    return result;
  }

  /**
   * Deletes dead tasks (of one topic, or all) that died at or before the given time, on every
   * shard (NOT_LEADER naming the first shard this replica does not lead), or with `shards` only
   * on those.
   */
  async purgeDead(
    options: {
      topic?: string;
      diedAtOrBeforeMs?: number;
      shards?: readonly number[];
      /** The caller's deadline or cancellation: stops between script calls (throws its reason). */
      signal?: AbortSignal;
    } = {},
  ): Promise<number> {
    if (options.topic !== undefined) validateTopic("topic", options.topic, this.limits);
    let total = 0;
    const shards = options.shards ?? Array.from({ length: this.shardCount }, (_, s) => s);
    for (const shard of shards) {
      options.signal?.throwIfAborted();
      total += await this.onShard(shard, (e) =>
        e.purgeDead(options.diedAtOrBeforeMs ?? Date.now() + 60_000, options.topic, options.signal),
      );
    }
    return total;
  }

  /** Number of tasks per topic and state (succeeded and cancelled: cumulative totals). */
  async counts(
    topic?: string,
    signal?: AbortSignal,
  ): Promise<Map<string, Record<TaskState, number>>> {
    signal?.throwIfAborted();
    const keys = Array.from(
      { length: this.shardCount },
      (_, shard) => new ShardKeys(this.prefix, shard).counts,
    );
    const replies = await readEach(this.redis, keys, (pipeline, key) => {
      pipeline.hgetall(key);
    });
    const totals = new Map<string, Record<TaskState, number>>();
    for (const value of replies) {
      for (const [field, count] of Object.entries(value as Record<string, string>)) {
        const [t = "", state = ""] = field.split("|");
        if (topic !== undefined && t !== topic) continue;
        let entry = totals.get(t);
        if (entry === undefined) {
          entry = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
          totals.set(t, entry);
        }
        if ((TASK_STATES as readonly string[]).includes(state))
          entry[state as TaskState] += Number(count);
      }
    }
    return totals;
  }

  /** Tasks in a state, of one topic or every topic, keyset-paged (taskListing.ts). */
  list(request: ListRequest): Promise<ListPage> {
    return this.listing.list(request);
  }

  /**
   * Lifecycle events of a shard, oldest first, after `afterEventId` ("0" = from the oldest kept).
   * A stream entry holds the events of one script call, one per line; an event's id is
   * "<entry id>.<line>", and resuming after it skips the entry's earlier lines.
   */
  async readEvents(shard: number, afterEventId = "0", count = 1000): Promise<LifecycleEvent[]> {
    const [entryId = "0", lineText] = afterEventId.split(".");
    const afterLine = lineText === undefined ? Number.POSITIVE_INFINITY : Number(lineText);
    const start = lineText === undefined ? `(${entryId}` : entryId;
    const entries = (await this.redis.xrange(
      new ShardKeys(this.prefix, shard).events,
      start,
      "+",
      "COUNT",
      count,
    )) as [string, string[]][];
    const events: LifecycleEvent[] = [];
    for (const [streamId, fields] of entries) {
      // One field, e = lines "<type> <task id> <topic> <attempt>" (scripts/includes/common.lua).
      (fields[1] ?? "").split("\n").forEach((line, index) => {
        if (streamId === entryId && index <= afterLine) return;
        const [type = "", taskId = "", topic = "", attempt = "0"] = line.split(" ");
        events.push({
          eventId: `${streamId}.${index}`,
          shard,
          type,
          taskId,
          topic,
          attempt: Number(attempt),
        });
      });
    }
    return events;
  }

  /** Each shard's event stream's newest entry id ("0-0" when empty): where "now" starts. */
  async eventHeads(): Promise<string[]> {
    return streamHeads(this.redis, this.shardEventKeys());
  }

  /** True when a shard's stream was trimmed past `afterEntryId` (a reader there missed events). */
  async eventGap(shard: number, afterEntryId: string): Promise<boolean> {
    return trimmedPast(this.redis, new ShardKeys(this.prefix, shard).events, afterEntryId);
  }

  /** A blocking reader over every shard's event stream (its own Redis connection): close it. */
  openEventTail(): { keys: string[]; tail: StreamTail } {
    return { keys: this.shardEventKeys(), tail: new StreamTail(this.redis) };
  }

  private shardEventKeys(): string[] {
    return Array.from({ length: this.shardCount }, (_, s) => new ShardKeys(this.prefix, s).events);
  }

  /**
   * Stops firing, releases the shards (successors need not wait for expiry) and disconnects,
   * within `timeoutMs`: when Redis does not answer by then (it is gone), the connections are
   * dropped without releasing (the shards' leases expire and other replicas take them).
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.emitReadiness();
    this.availability.stop();
    this.leasing.wakeAll();
    const graceful = (async () => {
      await Promise.all([...this.loops.values()].map((loop) => loop.stop()));
      await this.elector.stop();
      await this.redis.zrem(`${this.prefix}:members`, this.identity).catch(() => undefined);
    })();
    const inTime = await settlesWithin(graceful, timeoutMs);
    this.subscriber.disconnect();
    if (inTime && (await settlesWithin(this.redis.quit(), 1_000))) return;
    if (!inTime)
      this.log(
        `stop: Redis (${this.redisTarget}) did not answer within ${timeoutMs} ms; disconnecting without releasing shards (their leases expire)`,
      );
    // Pending commands fail at once, so the loops and the elector end.
    this.redis.disconnect();
    await settlesWithin(graceful, 1_000);
  }
}

/** A client (not yet connected) for the configured Redis: one node or a cluster. */
function connectRedis(options: SchedulerOptions): RedisClient {
  const cluster = options.redisCluster;
  if ((options.redisUrl === undefined) === (cluster === undefined)) {
    throw invalidArgument("redis", "configure exactly one of redisUrl and redisCluster");
  }
  if (cluster === undefined) {
    return new Redis(options.redisUrl ?? "", { ...options.redisOptions, lazyConnect: true });
  }
  if (options.redisOptions?.sentinels !== undefined) {
    throw invalidArgument("redis", "Sentinel and Redis Cluster are exclusive");
  }
  if (cluster.nodes.length === 0) throw invalidArgument("redisCluster.nodes", "is empty");
  return new Cluster(
    cluster.nodes.map((node) => ({ host: node.host, port: node.port })),
    { redisOptions: { ...options.redisOptions }, lazyConnect: true },
  );
}
