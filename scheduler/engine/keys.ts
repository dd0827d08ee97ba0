/**
 * Redis key names. Every key of shard `s` carries the hash tag `{s}`, so a shard lives in one
 * Redis Cluster slot and each Lua script touches one slot. Keys are built here and passed to
 * scripts in KEYS; scripts only append task ids to the task-key prefix (a KEYS entry too).
 */
export class ShardKeys {
  readonly base: string;
  constructor(
    readonly prefix: string,
    readonly shard: number,
  ) {
    this.base = `${prefix}:{${shard}}`;
  }

  /** Fencing token: incremented by each new leader; every mutating script checks it. */
  get epoch(): string {
    return `${this.base}:epoch`;
  }
  /** Leader lease when leadership is kept in Redis (outside Kubernetes). */
  get leader(): string {
    return `${this.base}:leader`;
  }
  /** Prefix of task hashes: `<prefix>:{s}:t:<id>`. */
  get taskPrefix(): string {
    return `${this.base}:t:`;
  }
  task(id: string): string {
    return `${this.taskPrefix}${id}`;
  }
  /**
   * hash task id -> packed record of a scheduled task that never ran (see
   * scripts/includes/common.lua): pending tasks cost no key of their own.
   */
  get pending(): string {
    return `${this.base}:pending`;
  }
  /** zset topic -> earliest due time among the topic's scheduled tasks. */
  get dueTopics(): string {
    return `${this.base}:due-topics`;
  }
  /** zset topic -> earliest lease expiry among the topic's leased tasks. */
  get leaseTopics(): string {
    return `${this.base}:lease-topics`;
  }
  /** zset task id -> due time (ms). */
  scheduled(topic: string): string {
    return `${this.base}:scheduled:${topic}`;
  }
  /** zset task id -> due time - priority * 2^42: lowest score leases first. */
  ready(topic: string): string {
    return `${this.base}:ready:${topic}`;
  }
  /** zset task id -> lease expiry (ms). */
  leased(topic: string): string {
    return `${this.base}:leased:${topic}`;
  }
  /** zset task id -> time it died (ms): the dead-letter set of the shard. */
  get dead(): string {
    return `${this.base}:dead`;
  }
  /**
   * zset task id -> finish time (ms) of succeeded and cancelled tasks: their expiry (each task
   * hash is deleted with its entry once the retention ended; see scripts/expireFinished.lua).
   */
  get finished(): string {
    return `${this.base}:finished`;
  }
  /** hash "<topic>|<state>" -> number of tasks (cumulative for succeeded and cancelled). */
  get counts(): string {
    return `${this.base}:counts`;
  }
  /** Capped stream of lifecycle events. */
  get events(): string {
    return `${this.base}:events`;
  }
  /** Tombstone of a dead task deleted by id: a resent DeleteDead answers deleted = false. */
  deletedDead(id: string): string {
    return `${this.base}:deleted:${id}`;
  }
  idempotency(key: string): string {
    return `${this.base}:idem:${key}`;
  }
  /** Remembers the answer to a lease request, so a resent request leases nothing new. */
  leaseRequest(requestId: string): string {
    return `${this.base}:lease-req:${requestId}`;
  }
  /** The shard's key base with a trailing colon: scripts derive per-topic and per-schedule keys from it. */
  get shardBase(): string {
    return `${this.base}:`;
  }
  /** hash: a cron schedule (spec, generation, next slot, counters; see scripts/includes/common.lua). */
  cron(scheduleId: string): string {
    return `${this.base}:cron:${scheduleId}`;
  }
  /** zset schedule id -> fire-at (next slot + jitter) of every active schedule of the shard. */
  get cronDue(): string {
    return `${this.base}:cron-due`;
  }
  /** counter: generations of the shard's schedules (increasing across delete and re-create). */
  get cronGeneration(): string {
    return `${this.base}:cron-gen`;
  }
  /** set of every schedule id of the shard. */
  get cronIds(): string {
    return `${this.base}:cron-ids`;
  }
  /** set of a schedule's unfinished occurrence ids. */
  cronActive(scheduleId: string): string {
    return `${this.base}:cron-active:${scheduleId}`;
  }
  /** History lists (newest first, capped): succeeded, failed, missed or skipped. */
  cronHistory(kind: "ok" | "failed" | "missed", scheduleId: string): string {
    return `${this.base}:cron-${kind}:${scheduleId}`;
  }
  /** Pub/sub channel: a new earliest due time; the shard's firing loop wakes up. */
  get wakeChannel(): string {
    return `${this.base}:wake`;
  }
}
