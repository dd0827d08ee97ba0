/**
 * Cron schedules on top of the task engine: upsert, get, list, delete, pause, resume, trigger,
 * preview, and firing a due schedule (called by the shard's firing loop). Each occurrence is an
 * ordinary task. Semantics: docs/CRON.md; exactly-once argument: docs/CORRECTNESS.md.
 */
import { DdqError, invalidArgument } from "../engine/errors.js";
import { ShardKeys } from "../engine/keys.js";
import { readEach, type RedisClient } from "../engine/redisClient.js";
import type { EngineDefaults, EngineLimits } from "../engine/model.js";
import type { CronFireRequest, CronFireResult, ShardEngine } from "../engine/shardEngine.js";
import { formatOccurrenceId, stableHash } from "../engine/taskId.js";
import {
  checkCronSpec,
  validateScheduleId,
  type CheckedCronSpec,
  type CronScheduleSpec,
} from "./cronSpec.js";
import type { PreparedTask } from "../engine/validation.js";
import { planFire } from "./firePlan.js";
import { nextFireAfter, previewFires, MAX_PREVIEW, type FirePreview } from "./nextFire.js";
import { hmgetAtRedisTime } from "./redisTimeRead.js";

/** What the cron layer needs from a scheduler replica. */
export interface CronHost {
  readonly prefix: string;
  readonly shardCount: number;
  readonly limits: EngineLimits;
  readonly defaults: EngineDefaults;
  readonly redis: RedisClient;
  onShard<T>(shard: number, write: (engine: ShardEngine) => Promise<T>): Promise<T>;
  wakeLoop(shard: number, atMs: number): void;
  notifyReady(shard: number, topic: string): void;
  log(message: string): void;
}

export interface HistoryEntry {
  slot: number;
  outcome: "succeeded" | "dead" | "cancelled" | "missed" | "skipped";
  at: number;
  id?: string;
  reason?: string;
  attempt?: number;
  manual?: boolean;
}

export interface ScheduleStatus {
  spec: CronScheduleSpec;
  generation: number;
  suspended: boolean;
  nextScheduleTimeMs?: number;
  lastScheduleTimeMs?: number;
  lastSuccessfulTimeMs?: number;
  runs: number;
  missed: number;
  skipped: number;
  /** Occurrences not yet finished (as last seen by a fire or a finish). */
  active: string[];
  history: { succeeded: HistoryEntry[]; failed: HistoryEntry[]; missed: HistoryEntry[] };
}

/** How a spec is stored: as given, with the payload in base64. */
interface StoredSpec extends Omit<CronScheduleSpec, "task"> {
  task: Omit<CronScheduleSpec["task"], "payload"> & { payloadBase64?: string };
}

function toStored(spec: CronScheduleSpec): string {
  const { payload, ...task } = spec.task;
  const stored: StoredSpec = {
    ...spec,
    task:
      payload === undefined
        ? task
        : { ...task, payloadBase64: Buffer.from(payload).toString("base64") },
  };
  return JSON.stringify(stored);
}

function fromStored(json: string): CronScheduleSpec {
  const stored = JSON.parse(json) as StoredSpec;
  const { payloadBase64, ...task } = stored.task;
  return {
    ...stored,
    task:
      payloadBase64 === undefined
        ? task
        : { ...task, payload: Buffer.from(payloadBase64, "base64") },
  };
}

function optionalNumber(value: string | null | undefined): number | undefined {
  return value === null || value === undefined || value === "" ? undefined : Number(value);
}

/**
 * How long before its slot an occurrence of an Allow schedule is created (as a task due at the
 * slot, which the engine's timer then fires on time). Half a second: creating happens between
 * whole seconds, not on them, where the occurrences of frequent schedules are firing. Forbid and
 * Replace decide at the slot, because whether an earlier occurrence still runs is only known then.
 */
export const CREATE_AHEAD_MS = 500;

/** Longest request id of a manual trigger (it becomes part of a Redis key). */
const MAX_TRIGGER_REQUEST_ID_LENGTH = 128;

/**
 * Schedules planned and applied per script call when many are due at once: small enough that a
 * call holds Redis for about a millisecond, large enough to amortize the call.
 */
const FIRE_CHUNK = 50;

/**
 * Creating ahead needs no precision, so the creation times of Allow schedules are rounded down to
 * this grid: schedules spread over the second are created in a few batches, not one by one.
 */
export const CREATE_GRID_MS = 250;

function lookahead(spec: CheckedCronSpec): number {
  return spec.concurrencyPolicy === "Allow" ? CREATE_AHEAD_MS : 0;
}

/**
 * How far ahead of now a fire plans: the lookahead, plus the grid (a fire-at rounded down by up to
 * a grid step must still reach the slot it was set for, or the loop would find nothing to do).
 */
function horizonAhead(spec: CheckedCronSpec): number {
  const ahead = lookahead(spec);
  return ahead === 0 ? 0 : ahead + CREATE_GRID_MS;
}

/**
 * When the loop should look at a schedule next: its slot's due time, less the lookahead, rounded
 * down to the shard's phase of the grid (each shard has its own phase, so the shards' creation
 * batches do not all run at the same instants).
 */
function fireAtFor(
  spec: CheckedCronSpec,
  nextSlotMs: number,
  jitterMs: number,
  gridPhaseMs: number,
): number {
  const due = nextSlotMs + jitterMs;
  const ahead = lookahead(spec);
  if (ahead === 0) return due;
  return Math.floor((due - ahead - gridPhaseMs) / CREATE_GRID_MS) * CREATE_GRID_MS + gridPhaseMs;
}

/**
 * What a fire left a schedule as, as far as this replica knows: the plan's inputs for its next
 * fire, so that a frequent schedule is not read back before every fire. Only a hint: cronFire's
 * compare-and-set on (generation, next slot) decides, and a plan made from an outdated entry is
 * answered "stale" and planned again from a fresh read.
 */
interface KnownFireState {
  generation: string;
  next: string;
  checked: CheckedCronSpec;
  /** The schedule has the task template of this generation (CronFireRequest.storedTask). */
  storedTask: boolean;
}

/** Most schedules whose fire state is remembered (past it, the memory starts over). */
const KNOWN_FIRE_STATES = 100_000;

export class CronScheduler {
  /** Compiled specs by "<id>|<generation>": firing does not recompile on every slot. */
  private readonly compiled = new Map<string, CheckedCronSpec>();
  /** By schedule id: see KnownFireState. */
  private readonly known = new Map<string, KnownFireState>();

  constructor(private readonly host: CronHost) {}

  /** The shard's phase on the create-ahead grid: shards spread evenly over a grid step. */
  private gridPhase(shard: number): number {
    return Math.floor((shard * CREATE_GRID_MS) / this.host.shardCount);
  }

  shardOf(scheduleId: string): number {
    return stableHash(`cron:${scheduleId}`) % this.host.shardCount;
  }

  private keys(scheduleId: string): ShardKeys {
    return new ShardKeys(this.host.prefix, this.shardOf(scheduleId));
  }

  /** The deterministic spread of a schedule's fires within [0, jitterMs]. */
  jitterOffset(scheduleId: string, jitterMs: number): number {
    return jitterMs === 0 ? 0 : stableHash(`jitter:${scheduleId}`) % (jitterMs + 1);
  }

  /**
   * Creates or replaces a schedule. An edit never fires a spurious run nor drops the next one:
   * the next slot is the stored one if it is still a slot of the new timing and already due;
   * otherwise the new timing's first slot after both now and the last fired slot.
   */
  async upsert(
    spec: CronScheduleSpec,
    /** Tests only: plan for this instant instead of the shard's Redis TIME. */
    fixedNowMs?: number,
  ): Promise<{ created: boolean; generation: number; nextScheduleTimeMs?: number }> {
    const checked = checkCronSpec(spec, this.host.limits, this.host.defaults, {
      full: true,
      ...(fixedNowMs === undefined ? {} : { nowMs: fixedNowMs }),
    });
    const keys = this.keys(spec.id);
    const shard = this.shardOf(spec.id);
    // Compare-and-set against the generation and next slot read here: a fire (it moves the next
    // slot) or another upsert (the generation) landing between the read and the write makes this
    // one plan again.
    for (let attempt = 0; ; attempt += 1) {
      const { values, redisNowMs } = await hmgetAtRedisTime(this.host.redis, keys.cron(spec.id), [
        "gen",
        "next",
        "last",
      ]);
      const [storedGeneration = null, storedNext = null, storedLast = null] = values;
      const nowMs = fixedNowMs ?? redisNowMs;
      const oldNext = optionalNumber(storedNext);
      const last = optionalNumber(storedLast);
      let next: number | undefined;
      if (
        oldNext !== undefined &&
        oldNext <= nowMs &&
        nextFireAfter(checked.timing, oldNext - 1) === oldNext
      ) {
        next = oldNext;
      } else {
        next = nextFireAfter(checked.timing, Math.max(nowMs, last ?? Number.NEGATIVE_INFINITY));
      }
      const fireAt =
        next === undefined
          ? undefined
          : fireAtFor(
              checked,
              next,
              this.jitterOffset(spec.id, checked.jitterMs),
              this.gridPhase(shard),
            );
      const result = await this.host.onShard(shard, (engine) =>
        engine.cronUpsert({
          scheduleId: spec.id,
          expectedGeneration: storedGeneration ?? "",
          expectedNext: storedNext ?? "",
          specJson: toStored(spec),
          nextSlotMs: next,
          fireAtMs: fireAt,
          suspended: checked.suspend,
          successfulHistoryLimit: checked.successfulHistoryLimit,
          failedHistoryLimit: checked.failedHistoryLimit,
          missedHistoryLimit: checked.missedHistoryLimit,
          task: checked.task,
        }),
      );
      if (result.stale) {
        if (attempt < 5) continue;
        throw new DdqError(
          "FAILED_PRECONDITION",
          `schedule ${spec.id} kept changing while it was being updated; try again`,
        );
      }
      this.known.delete(spec.id);
      if (fireAt !== undefined && !checked.suspend) this.host.wakeLoop(shard, fireAt);
      const answer: { created: boolean; generation: number; nextScheduleTimeMs?: number } = {
        created: result.created,
        generation: Number(result.generation),
      };
      if (next !== undefined) answer.nextScheduleTimeMs = next;
      return answer;
    }
  }

  async get(scheduleId: string): Promise<ScheduleStatus> {
    validateScheduleId(scheduleId);
    const keys = this.keys(scheduleId);
    const pipeline = this.host.redis.pipeline();
    pipeline.hgetall(keys.cron(scheduleId));
    pipeline.smembers(keys.cronActive(scheduleId));
    pipeline.lrange(keys.cronHistory("ok", scheduleId), 0, -1);
    pipeline.lrange(keys.cronHistory("failed", scheduleId), 0, -1);
    pipeline.lrange(keys.cronHistory("missed", scheduleId), 0, -1);
    const replies = (await pipeline.exec()) ?? [];
    const [hash, active, ok, failed, missed] = replies.map(([error, value]) => {
      if (error !== null) throw error;
      return value;
    }) as [Record<string, string>, string[], string[], string[], string[]];
    if (hash.spec === undefined)
      throw new DdqError("NOT_FOUND", `schedule ${scheduleId} not found`);
    const parse = (entries: string[]): HistoryEntry[] =>
      entries.map((e) => JSON.parse(e) as HistoryEntry);
    const status: ScheduleStatus = {
      spec: fromStored(hash.spec),
      generation: Number(hash.gen ?? "0"),
      suspended: hash.susp === "1",
      runs: Number(hash.runs ?? "0"),
      missed: Number(hash.missed ?? "0"),
      skipped: Number(hash.skipped ?? "0"),
      active: active.sort(),
      history: { succeeded: parse(ok), failed: parse(failed), missed: parse(missed) },
    };
    const next = optionalNumber(hash.next);
    const last = optionalNumber(hash.last);
    const lastOk = optionalNumber(hash.lastOk);
    if (next !== undefined) status.nextScheduleTimeMs = next;
    if (last !== undefined) status.lastScheduleTimeMs = last;
    if (lastOk !== undefined) status.lastSuccessfulTimeMs = lastOk;
    return status;
  }

  /** Every schedule id, sorted. */
  async list(): Promise<string[]> {
    const keys = Array.from(
      { length: this.host.shardCount },
      (_, shard) => new ShardKeys(this.host.prefix, shard).cronIds,
    );
    const replies = await readEach(this.host.redis, keys, (pipeline, key) => {
      pipeline.smembers(key);
    });
    return replies.flatMap((ids) => ids as string[]).sort();
  }

  /**
   * Deletes a schedule; false when there was none (a resent delete). Safe to resend: the answer,
   * not an error, tells whether this call deleted it.
   */
  async delete(scheduleId: string): Promise<boolean> {
    validateScheduleId(scheduleId);
    const existed = await this.host.onShard(this.shardOf(scheduleId), (engine) =>
      engine.cronDelete(scheduleId),
    );
    this.known.delete(scheduleId);
    return existed;
  }

  async setSuspended(scheduleId: string, suspend: boolean): Promise<void> {
    validateScheduleId(scheduleId);
    await this.host.onShard(this.shardOf(scheduleId), (engine) =>
      engine.cronSuspend(scheduleId, suspend),
    );
    this.known.delete(scheduleId);
  }

  /**
   * The next `n` fire times of a stored schedule after `nowMs`, its time zone and its jitter
   * offset (one read of the spec).
   */
  async preview(
    scheduleId: string,
    n: number,
    nowMs = Date.now(),
  ): Promise<{ timeZone: string; fires: FirePreview[]; jitterOffsetMs: number }> {
    if (!Number.isSafeInteger(n) || n < 1 || n > MAX_PREVIEW) {
      throw new DdqError("INVALID_ARGUMENT", `n: must be from 1 to ${MAX_PREVIEW}`, "n");
    }
    const { checked } = await this.storedSpec(scheduleId);
    return {
      timeZone: checked.timing.timeZone,
      fires: previewFires(checked.timing, nowMs, n),
      jitterOffsetMs: this.jitterOffset(scheduleId, checked.jitterMs),
    };
  }

  /** A stored schedule's generation and compiled spec (NOT_FOUND if there is none). */
  private async storedSpec(
    scheduleId: string,
  ): Promise<{ generation: string; checked: CheckedCronSpec; redisNowMs: number }> {
    validateScheduleId(scheduleId);
    const { values, redisNowMs } = await hmgetAtRedisTime(
      this.host.redis,
      this.keys(scheduleId).cron(scheduleId),
      ["spec", "gen"],
    );
    const [specJson = null, generation = null] = values;
    if (specJson === null || generation === null)
      throw new DdqError("NOT_FOUND", `schedule ${scheduleId} not found`);
    return {
      generation,
      checked: this.checkedSpec(scheduleId, generation, specJson),
      redisNowMs,
    };
  }

  private checkedSpec(scheduleId: string, generation: string, specJson: string): CheckedCronSpec {
    const key = `${scheduleId}|${generation}`;
    let checked = this.compiled.get(key);
    if (checked === undefined) {
      checked = checkCronSpec(fromStored(specJson), this.host.limits, this.host.defaults, {
        full: false,
      });
      if (this.compiled.size > 10_000) this.compiled.clear();
      this.compiled.set(key, checked);
    }
    return checked;
  }

  /**
   * Runs a manual occurrence now, obeying the concurrency policy: Forbid answers
   * FAILED_PRECONDITION while an occurrence runs; Replace cancels the running ones (in the same
   * script call that creates the new one). With a `requestId`, a resend within the request memo
   * retention (10 minutes by default) answers the first call's occurrence instead of running
   * another.
   */
  async trigger(
    scheduleId: string,
    options: { requestId?: string; nowMs?: number } = {},
  ): Promise<{ occurrenceId: string }> {
    const requestId = options.requestId ?? "";
    if (requestId.length > MAX_TRIGGER_REQUEST_ID_LENGTH) {
      throw invalidArgument(
        "requestId",
        `must be at most ${MAX_TRIGGER_REQUEST_ID_LENGTH} characters, got ${requestId.length}`,
      );
    }
    const shard = this.shardOf(scheduleId);
    const { generation, checked, redisNowMs } = await this.storedSpec(scheduleId);
    const nowMs = options.nowMs ?? redisNowMs;
    const [result] = await this.host.onShard(shard, (engine) =>
      engine.cronFire(
        checked.task.topic,
        [
          {
            scheduleId,
            expectedGeneration: generation,
            expectedNextSlot: "",
            nextSlotMs: undefined,
            fireAtMs: undefined,
            concurrencyPolicy: checked.concurrencyPolicy,
            task: checked.task,
            fire: [{ slotMs: nowMs, dueAtMs: nowMs }],
            missed: [],
            missedCount: 0,
            missedHistoryLimit: checked.missedHistoryLimit,
            manual: true,
          },
        ],
        requestId,
      ),
    );
    if (result?.status === "notfound")
      throw new DdqError("NOT_FOUND", `schedule ${scheduleId} not found`);
    if ((result?.skipped ?? 0) > 0) {
      throw new DdqError(
        "FAILED_PRECONDITION",
        `schedule ${scheduleId} forbids concurrent runs and an occurrence is still running`,
      );
    }
    // A resent trigger answers the first call's slot; a new one, this call's.
    const slotMs = result !== undefined && result.manualSlotMs > 0 ? result.manualSlotMs : nowMs;
    if ((result?.createdReady ?? 0) > 0) this.host.notifyReady(shard, checked.task.topic);
    return { occurrenceId: formatOccurrenceId(scheduleId, slotMs, shard, true) };
  }

  private async deferFire(
    shard: number,
    scheduleId: string,
    generation: string,
    next: string,
    fireAtMs: number,
  ): Promise<void> {
    const noTask: PreparedTask = {
      topic: "ddq.deferred",
      payload: Buffer.alloc(0),
      dueKind: "in",
      dueValueMs: 0,
      priority: 0,
      maxAttempts: 1,
      backoff: "f:0",
      leaseTimeoutMs: 1000,
      idempotencyKey: "",
      fingerprint: "",
      owner: "",
      traceParent: "",
    };
    await this.host.onShard(shard, (engine) =>
      engine.cronFire(noTask.topic, [
        {
          scheduleId,
          expectedGeneration: generation,
          expectedNextSlot: next,
          nextSlotMs: Number(next),
          fireAtMs,
          concurrencyPolicy: "Allow",
          task: noTask,
          fire: [],
          missed: [],
          missedCount: 0,
          missedHistoryLimit: 0,
          manual: false,
        },
      ]),
    );
  }

  /**
   * Fires the due schedules of a shard (the firing loop calls it with every schedule whose fire-at
   * has come): reads them in one pipeline, plans each (which overdue slots fire or are missed,
   * and for Allow schedules the slot coming within CREATE_AHEAD_MS, created ahead), and applies
   * the plans in a few script calls, each plan with a compare-and-set, so that a slot gets at most
   * one occurrence whatever races or crashes happen. A plan that lost its compare-and-set (an
   * edit or another fire came first) is planned again.
   */
  async fireDue(
    shard: number,
    scheduleIds: readonly string[],
    nowMs = Date.now(),
  ): Promise<boolean> {
    let moved = false;
    // Chunk by chunk, each read, planned and applied before the next: the event loop and Redis
    // are never held for long by one batch, whatever the number of schedules due.
    for (let i = 0; i < scheduleIds.length; i += FIRE_CHUNK) {
      let pending = scheduleIds.slice(i, i + FIRE_CHUNK);
      for (let round = 0; round < 3 && pending.length > 0; round += 1) {
        const result = await this.fireRound(shard, pending, nowMs);
        moved ||= result.moved;
        pending = result.stale;
      }
      if (pending.length > 0) {
        this.host.log(
          `schedules ${pending.join(", ")}: fire kept losing its compare-and-set; retrying on the next pass`,
        );
      }
    }
    return moved;
  }

  /** One round of fireDue: the schedules whose plan went stale, and whether any moved. */
  private async fireRound(
    shard: number,
    scheduleIds: readonly string[],
    nowMs: number,
  ): Promise<{ stale: string[]; moved: boolean }> {
    const keys = new ShardKeys(this.host.prefix, shard);
    // Schedules whose state a fire of this replica left behind are planned from it (see
    // KnownFireState); the others are read, in one pipeline.
    const inputs: {
      scheduleId: string;
      generation: string;
      next: string;
      runs: number;
      checked?: CheckedCronSpec;
      specJson?: string;
      storedTask: boolean;
    }[] = [];
    const toRead: string[] = [];
    for (const scheduleId of scheduleIds) {
      const known = this.known.get(scheduleId);
      if (known === undefined) toRead.push(scheduleId);
      // (runs matter to a plan only with a run limit, and such schedules are never remembered)
      else inputs.push({ scheduleId, ...known, runs: 0 });
    }
    if (toRead.length > 0) {
      const pipeline = this.host.redis.pipeline();
      for (const id of toRead)
        pipeline.hmget(keys.cron(id), "spec", "gen", "next", "runs", "susp", "taskGen");
      const rows = (await pipeline.exec()) ?? [];
      for (const [index, [error, row]] of rows.entries()) {
        if (error !== null) throw error;
        const [
          specJson = null,
          generation = null,
          next = null,
          runs = null,
          suspended = null,
          taskGeneration = null,
        ] = row as (string | null)[];
        if (
          specJson === null ||
          generation === null ||
          next === null ||
          next === "" ||
          suspended === "1"
        )
          continue;
        inputs.push({
          scheduleId: toRead[index] ?? "",
          generation,
          next,
          runs: Number(runs ?? "0"),
          specJson,
          storedTask: taskGeneration === generation,
        });
      }
    }
    const byTopic = new Map<string, CronFireRequest[]>();
    const specs = new Map<string, CheckedCronSpec>();
    for (const input of inputs) {
      const { scheduleId, generation, next } = input;
      let checked: CheckedCronSpec;
      let plan: ReturnType<typeof planFire>;
      let jitter = 0;
      try {
        checked = input.checked ?? this.checkedSpec(scheduleId, generation, input.specJson ?? "");
        specs.set(scheduleId, checked);
        jitter = this.jitterOffset(scheduleId, checked.jitterMs);
        // Slots are planned without jitter: "now" for slot s is when s + jitter has come.
        const slotNow = nowMs - jitter;
        plan = planFire(
          checked,
          Number(next),
          input.runs,
          slotNow,
          checked.missedHistoryLimit,
          slotNow + horizonAhead(checked),
        );
      } catch (error) {
        // A stored spec that cannot be planned (it was valid when written; a library upgrade
        // could change that): look again later instead of spinning on it.
        this.host.log(
          `schedule ${scheduleId}: cannot plan its fire, retrying in 30 s: ${String(error)}`,
        );
        this.known.delete(scheduleId);
        await this.deferFire(shard, scheduleId, generation, next, nowMs + 30_000);
        continue;
      }
      const request: CronFireRequest = {
        scheduleId,
        expectedGeneration: generation,
        expectedNextSlot: next,
        nextSlotMs: plan.nextSlotMs,
        fireAtMs:
          plan.nextSlotMs === undefined
            ? undefined
            : fireAtFor(checked, plan.nextSlotMs, jitter, this.gridPhase(shard)),
        concurrencyPolicy: checked.concurrencyPolicy,
        task: checked.task,
        fire: plan.fire.map((slotMs) => ({ slotMs, dueAtMs: slotMs + jitter })),
        missed: plan.missed,
        missedCount: plan.missedCount,
        missedHistoryLimit: checked.missedHistoryLimit,
        maxRuns: checked.maxRuns,
        manual: false,
        storedTask: input.storedTask,
      };
      const list = byTopic.get(checked.task.topic) ?? [];
      list.push(request);
      byTopic.set(checked.task.topic, list);
    }
    const stale: string[] = [];
    let moved = false;
    // fireDue hands at most FIRE_CHUNK schedules to a round: one script call per topic.
    for (const [topic, requests] of byTopic) {
      const results = await this.host.onShard(shard, (engine) =>
        engine.cronFire(topic, requests, "", nowMs),
      );
      let createdReady = 0;
      results.forEach((result, j) => {
        const request = requests[j];
        if (request !== undefined) this.remember(request, result, specs.get(request.scheduleId));
        if (result.status === "stale") stale.push(request?.scheduleId ?? "");
        // Progress: an occurrence, a missed record, or a next slot that moved on.
        if (
          result.status === "ok" &&
          (result.created + result.skipped > 0 ||
            (request?.missed.length ?? 0) > 0 ||
            String(request?.nextSlotMs ?? "") !== request?.expectedNextSlot)
        ) {
          moved = true;
        }
        createdReady += result.createdReady;
      });
      // Occurrences created ahead are scheduled: the firing loop makes them ready at their time.
      if (createdReady > 0) this.host.notifyReady(shard, topic);
    }
    return { stale, moved };
  }

  /**
   * Remembers what a fire left its schedule as (KnownFireState), or forgets the schedule when the
   * fire did not apply or its next state is not known here: a schedule with a run limit (a manual
   * trigger changes its runs, which its plan depends on, without changing generation or next
   * slot), and a schedule that ended.
   */
  private remember(
    request: CronFireRequest,
    result: CronFireResult,
    checked: CheckedCronSpec | undefined,
  ): void {
    if (
      result.status !== "ok" ||
      request.nextSlotMs === undefined ||
      request.maxRuns !== undefined ||
      checked === undefined
    ) {
      this.known.delete(request.scheduleId);
      return;
    }
    if (!this.known.has(request.scheduleId) && this.known.size >= KNOWN_FIRE_STATES)
      this.known.clear();
    this.known.set(request.scheduleId, {
      generation: request.expectedGeneration,
      next: String(request.nextSlotMs),
      checked,
      storedTask: request.storedTask === true,
    });
  }
}
