import { randomHex } from "./randomHex.js";
import { DdqError, invalidArgument, isDdqError } from "./errors.js";
import type { ShardKeys } from "./keys.js";
import type { EnqueueResult, LeasedTask, OwnerReference, TaskState } from "./model.js";
import {
  replyArray,
  replyBytes,
  replyNumber,
  replyString,
  type ScriptArg,
  type ScriptRunner,
} from "./scripts.js";
import { parseRecord } from "./taskRecord.js";
import type { PreparedTask } from "./validation.js";

/** Settings every shard engine shares. */
export interface ShardEngineSettings {
  maxHorizonMs: number;
  eventsMaxLen: number;
  idempotencyRetentionMs: number;
  finishedRetentionMs: number;
  /** How long a lease request id, or a trigger request id, is remembered for resends. */
  leaseRequestRetentionMs: number;
}

/** Most tasks a script moves per call (fireDue, recoverExpired, purgeDead). */
export const SCRIPT_BATCH_LIMIT = 1000;

export interface FireResult {
  /** Tasks moved, in all. */
  moved: number;
  /** Tasks moved per topic (topics that moved none are left out). */
  movedByTopic: Map<string, number>;
  /** Tasks are still due (the limit cut the call short): call again. */
  more: boolean;
  /** Earliest due time still scheduled on the shard, or undefined. */
  nextDueMs: number | undefined;
  /** Earliest lease expiry on the shard, or undefined. */
  nextExpiryMs: number | undefined;
  /** Redis server time of the call. */
  nowMs: number;
}

export interface RecoverResult {
  requeued: number;
  dead: number;
  cancelled: number;
  nextExpiryMs: number | undefined;
}

export interface CronUpsertRequest {
  scheduleId: string;
  /** Compare-and-set: the generation read before planning ("" or undefined: none existed). */
  expectedGeneration?: string;
  /** Compare-and-set: the next slot read before planning (a fire moves it, not the generation). */
  expectedNext?: string;
  specJson: string;
  nextSlotMs: number | undefined;
  fireAtMs: number | undefined;
  suspended: boolean;
  successfulHistoryLimit: number;
  failedHistoryLimit: number;
  missedHistoryLimit: number;
  /**
   * The occurrence task's fields as cronFire packs them (cronTaskTemplate), stored with the
   * generation so that fires can name it instead of sending the task each time.
   */
  task?: PreparedTask;
}

/**
 * The part of an occurrence's task record after its topic and due time (see packPending in
 * scripts/includes/common.lua): the same for every occurrence of a schedule's generation.
 */
function cronTaskTemplate(task: PreparedTask): Buffer {
  return Buffer.concat([
    Buffer.from(
      `${task.priority}\n${task.maxAttempts}\n${task.backoff}\n${task.leaseTimeoutMs}\n\n${task.owner}\n${task.traceParent}\n`,
    ),
    task.payload,
  ]);
}

export interface CronFireRequest {
  scheduleId: string;
  /** Compare-and-set: the generation and next slot the plan was made against. */
  expectedGeneration: string;
  expectedNextSlot: string;
  nextSlotMs: number | undefined;
  fireAtMs: number | undefined;
  concurrencyPolicy: "Allow" | "Forbid" | "Replace";
  task: PreparedTask;
  fire: { slotMs: number; dueAtMs: number }[];
  missed: { slotMs: number; reason: string }[];
  missedCount: number;
  missedHistoryLimit: number;
  /** The schedule ends once its runs reach this (decided in the script, by what it created). */
  maxRuns?: number | undefined;
  /** A manual trigger: no compare-and-set, next slot unchanged, id "<sid>:m<ms>-<shard>". */
  manual: boolean;
  /**
   * Use the task template stored by the upsert of `expectedGeneration` instead of sending `task`
   * (only `task.topic` and `task.priority` are then read). Answered "stale" if the schedule has
   * no template of that generation (written by an older version).
   */
  storedTask?: boolean;
}

export interface CronFireResult {
  status: "ok" | "stale" | "notfound";
  created: number;
  skipped: number;
  existing: number;
  /** Of `created`, how many were due already and went straight to the ready queue. */
  createdReady: number;
  /** The slot of the manual occurrence created, or answered again for a resent trigger; 0: none. */
  manualSlotMs: number;
}

export interface AckItem {
  id: string;
  leaseToken: string;
  result?: Uint8Array;
}

/** "ok", "already" (a resend), "notfound", or the state of a task whose lease token is stale. */
export type AckAnswer = "ok" | "already" | "notfound" | { staleState: string };

export type FailOutcome =
  { outcome: "retrying"; retryAtMs: number } | { outcome: "dead" | "cancelled" };

/**
 * cronFire.lua refused plans made for an instant (`plannedAtMs`) that Redis TIME (`redisNowMs`)
 * had not reached: nothing was written. The caller measures the clock again and plans anew.
 */
export class ClockAheadError extends Error {
  override readonly name = "ClockAheadError";
  constructor(
    readonly redisNowMs: number,
    readonly plannedAtMs: number,
  ) {
    super(
      `cron plans made for ${plannedAtMs} were refused: Redis TIME is ${redisNowMs}, ${plannedAtMs - redisNowMs} ms earlier`,
    );
  }
}

/** Maps an error reply of a script to a typed error; anything else is passed through. */
export function mapScriptError(error: unknown, shard: number): unknown {
  if (!(error instanceof Error)) return error;
  // Redis 7 prefixes a script's bare error reply with "ERR ".
  const message = error.message.replace(/^ERR /, "");
  if (message.startsWith("STALE_EPOCH")) {
    return new DdqError(
      "STALE_EPOCH",
      `shard ${shard}: this scheduler is no longer its leader (${message})`,
    );
  }
  if (message.startsWith("NOT_FOUND")) return new DdqError("NOT_FOUND", "task not found");
  if (message.startsWith("CLOCK_AHEAD")) {
    const [, now = "0", planned = "0"] = message.split(" ");
    return new ClockAheadError(Number(now), Number(planned));
  }
  if (message.startsWith("STALE_LEASE")) {
    const stored = message.split(" ")[1] ?? "unknown";
    const state = stored === "waiting" ? "scheduled or ready" : stored;
    return new DdqError(
      "FAILED_PRECONDITION",
      `the lease token is not the task's current lease (task state: ${state}); the lease expired or was superseded`,
      "leaseToken",
    );
  }
  return error;
}

/**
 * The write operations of one shard, as the leader holding `epoch`. One method per Lua script;
 * each is one atomic transition. A deposed leader gets STALE_EPOCH from every method.
 */
export class ShardEngine {
  constructor(
    private readonly scripts: ScriptRunner,
    readonly keys: ShardKeys,
    readonly epoch: string,
    private readonly settings: ShardEngineSettings,
  ) {}

  get shard(): number {
    return this.keys.shard;
  }

  get finishedRetentionMs(): number {
    return this.settings.finishedRetentionMs;
  }

  private async run(
    name: Parameters<ScriptRunner["run"]>[0],
    keys: string[],
    args: ScriptArg[],
  ): Promise<unknown> {
    try {
      return await this.scripts.run(name, keys, args);
    } catch (error) {
      throw mapScriptError(error, this.shard);
    }
  }

  /** Creates tasks of one topic (ids chosen by the caller, so a resend is recognized). */
  async enqueue(
    topic: string,
    ids: readonly string[],
    tasks: readonly PreparedTask[],
    fieldPrefix: readonly string[],
  ): Promise<EnqueueResult[]> {
    const k = this.keys;
    const profiles = new Map<string, number>();
    const taskArgs: ScriptArg[] = [];
    tasks.forEach((t, i) => {
      const profile = `${t.priority}|${t.maxAttempts}|${t.backoff}|${t.leaseTimeoutMs}`;
      let index = profiles.get(profile);
      if (index === undefined) {
        index = profiles.size + 1;
        profiles.set(profile, index);
      }
      const extras: Record<string, string> = {};
      if (t.idempotencyKey !== "") {
        extras.ik = t.idempotencyKey;
        extras.fp = t.fingerprint;
      }
      if (t.owner !== "") extras.ow = t.owner;
      if (t.traceParent !== "") extras.tc = t.traceParent;
      const due = `${t.dueKind === "at" ? "a" : "i"}${t.dueValueMs}`;
      taskArgs.push(
        ids[i] ?? "",
        t.payload,
        due,
        index,
        Object.keys(extras).length === 0 ? "" : JSON.stringify(extras),
      );
    });
    const args: ScriptArg[] = [
      this.epoch,
      topic,
      this.settings.maxHorizonMs,
      this.settings.eventsMaxLen,
      this.settings.idempotencyRetentionMs,
      k.wakeChannel,
      profiles.size,
    ];
    for (const profile of profiles.keys()) args.push(...profile.split("|"));
    args.push(tasks.length, ...taskArgs);
    let reply: unknown[];
    try {
      reply = replyArray(
        await this.scripts.run(
          "enqueue",
          [
            k.epoch,
            k.taskPrefix,
            k.scheduled(topic),
            k.ready(topic),
            k.dueTopics,
            k.counts,
            k.events,
            k.idempotency(""),
            k.pending,
          ],
          args,
        ),
      );
    } catch (error) {
      throw enqueueError(error, this.shard, fieldPrefix);
    }
    const results: EnqueueResult[] = [];
    for (let i = 0; i < reply.length; i += 4) {
      results.push({
        created: replyString(reply[i]) === "created",
        task: {
          id: replyString(reply[i + 1]),
          shard: this.shard,
          topic,
          state: replyString(reply[i + 2]) as TaskState,
          dueAtMs: replyNumber(reply[i + 3]),
        },
      });
    }
    return results;
  }

  /** Moves the shard's due tasks, every topic, at most `limit` in all (fireDue.lua). */
  async fireDue(limit = SCRIPT_BATCH_LIMIT): Promise<FireResult> {
    const k = this.keys;
    const reply = replyArray(
      await this.run(
        "fireDue",
        [
          k.epoch,
          k.dueTopics,
          k.leaseTopics,
          k.counts,
          k.events,
          k.taskPrefix,
          k.pending,
          k.shardBase,
        ],
        [this.epoch, limit, this.settings.eventsMaxLen],
      ),
    );
    const [moved, more, nextDue, nextExpiry, now] = reply.slice(0, 5).map(replyNumber);
    const movedByTopic = new Map<string, number>();
    for (let i = 5; i + 1 < reply.length; i += 2) {
      movedByTopic.set(replyString(reply[i]), replyNumber(reply[i + 1]));
    }
    return {
      moved: moved ?? 0,
      movedByTopic,
      more: more === 1,
      nextDueMs: nextDue === undefined || nextDue < 0 ? undefined : nextDue,
      nextExpiryMs: nextExpiry === undefined || nextExpiry < 0 ? undefined : nextExpiry,
      nowMs: now ?? 0,
    };
  }

  /** Leases up to `max` ready tasks of one topic (see leaseMany). */
  async lease(
    topic: string,
    max: number,
    leaseTimeoutOverrideMs: number,
    requestId: string,
  ): Promise<LeasedTask[]> {
    return (await this.leaseMany([topic], max, leaseTimeoutOverrideMs, requestId)).tasks;
  }

  /**
   * Leases up to `max` ready tasks of `topics` (served in that order) in one script call.
   * `drained`: the topics whose ready queue the call found or left empty.
   */
  async leaseMany(
    topics: readonly string[],
    max: number,
    leaseTimeoutOverrideMs: number,
    requestId: string,
  ): Promise<{ tasks: LeasedTask[]; drained: string[] }> {
    const k = this.keys;
    const [taskReply, drainedReply] = replyArray(
      await this.run(
        "lease",
        [
          k.epoch,
          k.leaseTopics,
          k.counts,
          k.events,
          k.taskPrefix,
          k.leaseRequest(requestId),
          k.pending,
          k.shardBase,
        ],
        [
          this.epoch,
          max,
          leaseTimeoutOverrideMs,
          `${randomHex(16)}.`,
          this.settings.eventsMaxLen,
          this.settings.leaseRequestRetentionMs,
          ...topics,
        ],
      ),
    );
    const reply = replyArray(taskReply);
    const tasks: LeasedTask[] = [];
    for (let i = 0; i < reply.length; i += 6) {
      const id = replyString(reply[i]);
      const record = parseRecord(replyBytes(reply[i + 2]));
      if (record === undefined) throw new Error(`task ${id}: malformed record`);
      const task: LeasedTask = {
        id,
        topic: replyString(reply[i + 1]),
        payload: record.payload,
        attempt: replyNumber(reply[i + 3]),
        maxAttempts: Number(record.maxAttempts),
        leaseToken: replyString(reply[i + 4]),
        leaseExpiresAtMs: replyNumber(reply[i + 5]),
      };
      if (record.traceParent !== "") task.traceParent = record.traceParent;
      if (record.owner !== "") task.owner = JSON.parse(record.owner) as OwnerReference;
      tasks.push(task);
    }
    return { tasks, drained: replyArray(drainedReply).map(replyString) };
  }

  async extend(
    id: string,
    topic: string,
    leaseToken: string,
    extendMs: number,
  ): Promise<{ leaseExpiresAtMs: number; cancelRequested: boolean }> {
    const k = this.keys;
    const [expiry, cancel] = replyArray(
      await this.run(
        "extend",
        [k.epoch, k.task(id), k.leased(topic), k.leaseTopics],
        [this.epoch, id, leaseToken, extendMs, topic],
      ),
    ).map(replyNumber);
    return { leaseExpiresAtMs: expiry ?? 0, cancelRequested: cancel === 1 };
  }

  /** Acks tasks of one topic in one call; one answer per item, in order. */
  async ack(topic: string, items: readonly AckItem[]): Promise<AckAnswer[]> {
    const k = this.keys;
    const args: ScriptArg[] = [
      this.epoch,
      topic,
      this.settings.finishedRetentionMs,
      this.settings.eventsMaxLen,
      items.length,
    ];
    for (const item of items)
      args.push(
        item.id,
        item.leaseToken,
        item.result === undefined ? "" : Buffer.from(item.result),
      );
    const reply = replyArray(
      await this.run(
        "ack",
        [
          k.epoch,
          k.taskPrefix,
          k.leased(topic),
          k.leaseTopics,
          k.finished,
          k.counts,
          k.events,
          k.shardBase,
        ],
        args,
      ),
    );
    return reply.map((value) => {
      const answer = replyString(value);
      if (answer === "ok" || answer === "already" || answer === "notfound") return answer;
      return { staleState: answer.slice("stale:".length) };
    });
  }

  async fail(
    id: string,
    topic: string,
    leaseToken: string,
    error: string,
    retryable: boolean,
  ): Promise<FailOutcome> {
    const k = this.keys;
    const [outcome, due] = replyArray(
      await this.run(
        "fail",
        [
          k.epoch,
          k.task(id),
          k.leased(topic),
          k.leaseTopics,
          k.scheduled(topic),
          k.dueTopics,
          k.dead,
          k.finished,
          k.counts,
          k.events,
          k.shardBase,
        ],
        [
          this.epoch,
          id,
          leaseToken,
          error,
          retryable ? 1 : 0,
          Math.random(),
          this.settings.eventsMaxLen,
          topic,
          this.settings.finishedRetentionMs,
          k.wakeChannel,
        ],
      ),
    );
    const kind = replyString(outcome);
    if (kind === "retrying") return { outcome: "retrying", retryAtMs: replyNumber(due) };
    return { outcome: kind === "cancelled" ? "cancelled" : "dead" };
  }

  async recoverExpired(topic: string, limit = SCRIPT_BATCH_LIMIT): Promise<RecoverResult> {
    const k = this.keys;
    const [requeued, dead, cancelled, next] = replyArray(
      await this.run(
        "recoverExpired",
        [
          k.epoch,
          k.leased(topic),
          k.leaseTopics,
          k.ready(topic),
          k.dead,
          k.finished,
          k.counts,
          k.events,
          k.taskPrefix,
          k.shardBase,
        ],
        [this.epoch, topic, limit, this.settings.eventsMaxLen, this.settings.finishedRetentionMs],
      ),
    ).map(replyNumber);
    return {
      requeued: requeued ?? 0,
      dead: dead ?? 0,
      cancelled: cancelled ?? 0,
      nextExpiryMs: next === undefined || next < 0 ? undefined : next,
    };
  }

  async cancel(
    id: string,
    topic: string,
  ): Promise<{ outcome: "cancelled" | "requested" | "unchanged"; state: TaskState }> {
    const k = this.keys;
    const [outcome, state] = replyArray(
      await this.run(
        "cancel",
        [k.epoch, k.events, k.shardBase],
        [this.epoch, id, this.settings.eventsMaxLen, this.settings.finishedRetentionMs, topic],
      ),
    ).map(replyString);
    return {
      outcome: outcome as "cancelled" | "requested" | "unchanged",
      state: state as TaskState,
    };
  }

  async requeueDead(
    id: string,
    topic: string,
  ): Promise<{ outcome: "requeued" | "unchanged"; state: TaskState }> {
    const k = this.keys;
    const [outcome, state] = replyArray(
      await this.run(
        "requeueDead",
        [k.epoch, k.task(id), k.dead, k.ready(topic), k.counts, k.events, k.shardBase],
        [this.epoch, id, this.settings.eventsMaxLen, topic],
      ),
    ).map(replyString);
    return { outcome: outcome as "requeued" | "unchanged", state: state as TaskState };
  }

  /**
   * Deletes up to `limit` finished (succeeded, cancelled) tasks whose retention has ended.
   * Returns how many, the earliest finish time left in the index and the Redis time.
   */
  async expireFinished(
    limit = SCRIPT_BATCH_LIMIT,
  ): Promise<{ deleted: number; earliestFinishedMs: number | undefined; nowMs: number }> {
    const k = this.keys;
    const [deleted = 0, earliest = -1, now = 0] = replyArray(
      await this.run(
        "expireFinished",
        [k.epoch, k.finished, k.taskPrefix],
        [this.epoch, this.settings.finishedRetentionMs, limit],
      ),
    ).map(replyNumber);
    return { deleted, earliestFinishedMs: earliest < 0 ? undefined : earliest, nowMs: now };
  }

  /**
   * Deletes dead tasks that died at or before `diedAtOrBeforeMs`; loops until none is left, or
   * `signal` aborts (no script call starts after it; throws its reason).
   */
  async purgeDead(
    diedAtOrBeforeMs: number,
    topic: string | undefined,
    signal?: AbortSignal,
  ): Promise<number> {
    const k = this.keys;
    let total = 0;
    let offset = 0;
    for (;;) {
      signal?.throwIfAborted();
      const [purged = 0, examined = 0, skipped = 0] = replyArray(
        await this.run(
          "purgeDead",
          [k.epoch, k.dead, k.counts, k.events, k.taskPrefix],
          [
            this.epoch,
            SCRIPT_BATCH_LIMIT,
            diedAtOrBeforeMs,
            this.settings.eventsMaxLen,
            topic ?? "",
            offset,
          ],
        ),
      ).map(replyNumber);
      total += purged;
      // Entries of other topics stay: the next page starts after them.
      offset += skipped;
      if (examined < SCRIPT_BATCH_LIMIT) return total;
    }
  }

  /** Creates or replaces a schedule (cronUpsert.lua); returns its generation. */
  async cronUpsert(
    request: CronUpsertRequest,
  ): Promise<{ stale: boolean; generation: string; created: boolean }> {
    const k = this.keys;
    const [generation, created] = replyArray(
      await this.run(
        "cronUpsert",
        [k.epoch, k.cron(request.scheduleId), k.cronDue, k.cronIds, k.cronGeneration],
        [
          this.epoch,
          request.scheduleId,
          request.specJson,
          request.nextSlotMs ?? "",
          request.fireAtMs ?? "",
          request.suspended ? 1 : 0,
          request.successfulHistoryLimit,
          request.failedHistoryLimit,
          request.missedHistoryLimit,
          k.wakeChannel,
          request.expectedGeneration ?? "",
          request.task === undefined ? "" : cronTaskTemplate(request.task),
          request.task?.priority ?? 0,
          request.expectedNext ?? "",
        ],
      ),
    ).map(replyString);
    if (generation === "stale") return { stale: true, generation: "", created: false };
    return { stale: false, generation: generation ?? "0", created: created === "1" };
  }

  /**
   * Applies fire plans of schedules of one topic (cronFire.lua), each atomically; one answer per
   * plan, in order. Every plan's task must have `topic`. `triggerRequestId` (a manual trigger's,
   * with one plan): a resend within the request memo retention answers the first call's
   * occurrence again. `plannedAtMs`: the Redis-clock instant the plans were made for (every slot
   * they call due or missed is at or before it); the script refuses them (ClockAheadError) when
   * Redis TIME has not reached it. Unset for a manual trigger (its slot is not a due decision).
   */
  async cronFire(
    topic: string,
    requests: readonly CronFireRequest[],
    triggerRequestId = "",
    plannedAtMs?: number,
  ): Promise<CronFireResult[]> {
    const k = this.keys;
    const args: ScriptArg[] = [
      this.epoch,
      topic,
      this.settings.eventsMaxLen,
      k.wakeChannel,
      this.shard,
      this.settings.finishedRetentionMs,
      triggerRequestId,
      this.settings.leaseRequestRetentionMs,
      requests.length,
    ];
    for (const request of requests) {
      const t = request.task;
      if (t.topic !== topic)
        throw new Error(
          `cronFire: plan of ${request.scheduleId} is for topic ${t.topic}, not ${topic}`,
        );
      args.push(
        request.scheduleId,
        request.manual ? 1 : 0,
        request.expectedGeneration,
        request.expectedNextSlot,
        request.nextSlotMs ?? "",
        request.fireAtMs ?? "",
        request.concurrencyPolicy,
      );
      if (request.storedTask === true) args.push("s");
      else
        args.push(
          "a",
          t.priority,
          t.maxAttempts,
          t.backoff,
          t.leaseTimeoutMs,
          t.owner,
          t.traceParent,
          t.payload,
        );
      args.push(
        request.missedHistoryLimit,
        request.missedCount,
        request.maxRuns ?? 0,
        request.fire.length,
      );
      for (const f of request.fire) args.push(f.slotMs, f.dueAtMs);
      args.push(request.missed.length);
      for (const m of request.missed) args.push(m.slotMs, m.reason);
    }
    args.push(plannedAtMs ?? "");
    const reply = replyArray(
      await this.run(
        "cronFire",
        [
          k.epoch,
          k.cronDue,
          k.taskPrefix,
          k.pending,
          k.scheduled(topic),
          k.ready(topic),
          k.dueTopics,
          k.counts,
          k.events,
          k.shardBase,
        ],
        args,
      ),
    );
    const results: CronFireResult[] = [];
    for (let i = 0; i < reply.length; i += 6) {
      const status = replyString(reply[i]);
      results.push({
        status: status === "ok" || status === "stale" ? status : "notfound",
        created: replyNumber(reply[i + 1]),
        skipped: replyNumber(reply[i + 2]),
        existing: replyNumber(reply[i + 3]),
        createdReady: replyNumber(reply[i + 4]),
        manualSlotMs: replyNumber(reply[i + 5]),
      });
    }
    return results;
  }

  async cronDelete(scheduleId: string): Promise<boolean> {
    const k = this.keys;
    const existed = await this.run(
      "cronDelete",
      [
        k.epoch,
        k.cron(scheduleId),
        k.cronDue,
        k.cronIds,
        k.cronActive(scheduleId),
        k.cronHistory("ok", scheduleId),
        k.cronHistory("failed", scheduleId),
        k.cronHistory("missed", scheduleId),
      ],
      [this.epoch, scheduleId],
    );
    return replyNumber(existed) === 1;
  }

  /** NOT_FOUND for an unknown schedule. */
  async cronSuspend(scheduleId: string, suspend: boolean): Promise<void> {
    const k = this.keys;
    try {
      await this.run(
        "cronSuspend",
        [k.epoch, k.cron(scheduleId), k.cronDue, k.cronGeneration],
        [this.epoch, scheduleId, suspend ? 1 : 0, k.wakeChannel],
      );
    } catch (error) {
      if (isDdqError(error, "NOT_FOUND"))
        throw new DdqError("NOT_FOUND", `schedule ${scheduleId} not found`);
      throw error;
    }
  }
}

function enqueueError(error: unknown, shard: number, fieldPrefix: readonly string[]): unknown {
  if (!(error instanceof Error)) return error;
  const index = Number(/index=(\d+)/.exec(error.message)?.[1] ?? "0");
  const at = fieldPrefix[index] ?? "";
  if (error.message.startsWith("IDEMPOTENCY_CONFLICT")) {
    const existing = /id=(\S+)/.exec(error.message)?.[1] ?? "?";
    return new DdqError(
      "ALREADY_EXISTS",
      `${at}idempotencyKey: already used by task ${existing} with a different topic or payload`,
      `${at}idempotencyKey`,
    );
  }
  return horizonError(error.message, `${at}due`) ?? mapScriptError(error, shard);
}

/** A script's `HORIZON max=<ms>` refusal as INVALID_ARGUMENT naming `field`; else undefined. */
export function horizonError(scriptMessage: string, field: string): DdqError | undefined {
  const message = scriptMessage.replace(/^ERR /, "");
  if (!message.startsWith("HORIZON")) return undefined;
  const max = Number(/max=(\d+)/.exec(message)?.[1] ?? "0");
  return invalidArgument(
    field,
    `is beyond the scheduling horizon (latest allowed: ${new Date(max).toISOString()})`,
  );
}
