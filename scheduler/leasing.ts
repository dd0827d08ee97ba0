/**
 * Lease calls: validation, rounds over the led shards (one script call per shard for all the
 * call's topics, so an empty topic costs no call of its own), the long-poll between rounds, and
 * the caller's AbortSignal (deadline, cancellation, shutdown), after which no script call starts.
 */
import { randomHex } from "./engine/randomHex.js";
import { invalidArgument, isDdqError } from "./engine/errors.js";
import type { EngineLimits, LeasedTask } from "./engine/model.js";
import { validateTopic } from "./engine/validation.js";
import { EmptyQueueHints } from "./emptyQueueHints.js";
import { ReadyWaiters } from "./readyWaiters.js";

export interface LeaseRequest {
  /** 1..limits.maxLeaseTopics topics (a repeated one counts once), served in this order. */
  topics: readonly string[];
  /** Most tasks to return. */
  max: number;
  /** Long-poll: wait up to this long for a task when none is ready. Default 0. */
  waitMs?: number;
  /** Overrides each task's own lease timeout. */
  leaseTimeoutMs?: number;
  /** Makes a resent request return the same tasks. Default: random. */
  requestId?: string;
  /**
   * The caller's deadline or cancellation (caller gone, server shutting down): ends the call
   * with what was leased so far, and no script call starts after it aborted.
   */
  signal?: AbortSignal;
}

/**
 * Longest request id in process. The API allows clients less (MAX_REQUEST_ID_LENGTH in
 * api/requestFields.ts): a lease it forwards to a peer appends the peer's address to the id.
 */
export const MAX_LEASE_REQUEST_ID_LENGTH = 512;

/** What leasing needs of the scheduler replica. */
export interface LeaseHost {
  readonly limits: EngineLimits;
  /** Shards led now, ascending. */
  ledShards(): readonly number[];
  /** One lease script call on a shard (NOT_LEADER when it is not led). */
  leaseOnShard(
    shard: number,
    topics: readonly string[],
    max: number,
    leaseTimeoutOverrideMs: number,
    requestId: string,
  ): Promise<{ tasks: LeasedTask[]; drained: string[] }>;
  /** Leases of `shard` now expire from `atMs`: its firing loop must look by then. */
  leasesExpireAt(shard: number, atMs: number): void;
  /** The replica is stopping: long-polls end. */
  stopping(): boolean;
  log(message: string): void;
}

interface ShardCall {
  shard: number;
  topics: readonly string[];
}

export class Leasing {
  private readonly waiters = new ReadyWaiters();
  private readonly hints = new EmptyQueueHints();

  constructor(private readonly host: LeaseHost) {}

  /**
   * Leases up to `max` ready tasks of the given topics from the shards this replica leads,
   * waiting up to `waitMs` for one to become ready when none is.
   */
  async lease(request: LeaseRequest): Promise<LeasedTask[]> {
    const topics = this.validTopics(request.topics);
    const limits = this.host.limits;
    if (
      !Number.isSafeInteger(request.max) ||
      request.max < 1 ||
      request.max > limits.maxBatchSize
    ) {
      throw invalidArgument("max", `must be an integer from 1 to ${limits.maxBatchSize}`);
    }
    const override = request.leaseTimeoutMs ?? 0;
    if (
      override !== 0 &&
      (!Number.isSafeInteger(override) || override < 100 || override > limits.maxLeaseTimeoutMs)
    ) {
      throw invalidArgument("leaseTimeoutMs", `must be from 100 to ${limits.maxLeaseTimeoutMs}`);
    }
    if (request.requestId !== undefined && request.requestId.length > MAX_LEASE_REQUEST_ID_LENGTH) {
      throw invalidArgument(
        "requestId",
        `must be at most ${MAX_LEASE_REQUEST_ID_LENGTH} characters, got ${request.requestId.length}`,
      );
    }
    const requestId = request.requestId ?? randomHex(24);
    const deadline = Date.now() + (request.waitMs ?? 0);
    const signal = request.signal;
    for (let round = 0; ; round += 1) {
      if (isAborted(signal)) return [];
      const waiter = this.waiters.register(topics);
      let result: { leased: LeasedTask[]; shardFailed: boolean };
      try {
        // A caller's request id may be a resend: the first round asks every shard, so that each
        // replays what it leased for the first call (its memo) even if its queues are known to
        // be empty now. Later rounds of a long-poll are new leases.
        const replay = request.requestId !== undefined && round === 0;
        result = await this.round(topics, request.max, override, requestId, replay, signal);
      } catch (error) {
        this.waiters.done(waiter, 0, request.max, true);
        throw error;
      }
      const { leased, shardFailed } = result;
      const remaining = deadline - Date.now();
      if (leased.length > 0 || remaining <= 0 || this.host.stopping() || isAborted(signal)) {
        this.waiters.done(waiter, leased.length, request.max, shardFailed);
        return leased;
      }
      await waiter.wait(remaining, signal);
    }
  }

  /** Tasks of `topic` became ready on `shard` (a parked lease may take them). */
  notifyReady(shard: number, topic: string): void {
    this.hints.readied(shard, topic);
    this.waiters.notify(topic);
  }

  /** The shard is no longer led here. */
  forgetShard(shard: number): void {
    this.hints.forgetShard(shard);
  }

  /** Ends every long-poll (the replica is stopping). */
  wakeAll(): void {
    this.waiters.wakeAll();
  }

  /** The topics, checked and without repeats (in first-seen order). */
  private validTopics(topics: readonly string[]): string[] {
    const limits = this.host.limits;
    if (topics.length === 0) throw invalidArgument("topics", "must name at least one topic");
    if (topics.length > limits.maxLeaseTopics) {
      throw invalidArgument(
        "topics",
        `a lease may name at most ${limits.maxLeaseTopics} topics, got ${topics.length}`,
      );
    }
    topics.forEach((t, i) => validateTopic(`topics[${i}]`, t, limits));
    return [...new Set(topics)];
  }

  /**
   * One round: every led shard with a topic not known to be empty at once, each for a share of
   * `max` (a sweep shard by shard made the last shards' tasks wait for the others' round trips);
   * then, one at a time, the shards that may have more, for what is still wanted. A shard that
   * failed must not make the others' leases vanish (they would stay leased to nobody until they
   * expire): its error surfaces only if nothing was leased.
   */
  private async round(
    topics: readonly string[],
    max: number,
    override: number,
    requestId: string,
    replay: boolean,
    signal: AbortSignal | undefined,
  ): Promise<{ leased: LeasedTask[]; shardFailed: boolean }> {
    const calls: ShardCall[] = [];
    for (const shard of this.host.ledShards()) {
      const open = replay ? topics : topics.filter((t) => !this.hints.isEmpty(shard, t));
      if (open.length > 0) calls.push({ shard, topics: open });
    }
    const leased: LeasedTask[] = [];
    if (calls.length === 0 || isAborted(signal)) return { leased, shardFailed: false };
    const shares = calls.map(
      (_, i) => Math.floor(max / calls.length) + (i < max % calls.length ? 1 : 0),
    );
    const settled = await Promise.allSettled(
      calls.map((call, i) => {
        const share = shares[i] ?? 0;
        return share === 0
          ? Promise.resolve({ tasks: [], drained: [] })
          : this.fromShard(call, share, override, `${requestId}.${call.shard}`);
      }),
    );
    const first = settled.map((r) =>
      r.status === "fulfilled" ? r.value : { tasks: [], drained: [] },
    );
    for (const got of first) leased.push(...got.tasks);
    const failure = settled.find((r) => r.status === "rejected");
    if (failure !== undefined) {
      if (leased.length === 0) throw failure.reason;
      this.host.log(
        `lease: a shard failed, returning the others' tasks: ${String(failure.reason)}`,
      );
      return { leased, shardFailed: true };
    }
    for (const [i, call] of calls.entries()) {
      if (leased.length >= max || isAborted(signal)) break;
      const got = first[i];
      if (got === undefined || got.tasks.length < (shares[i] ?? 0)) continue; // it ran dry
      const drained = new Set(got.drained);
      const open = call.topics.filter((t) => !drained.has(t));
      if (open.length === 0) continue;
      const more = await this.fromShard(
        { shard: call.shard, topics: open },
        max - leased.length,
        override,
        `${requestId}.${call.shard}.more`,
      );
      leased.push(...more.tasks);
    }
    return { leased, shardFailed: false };
  }

  /**
   * One lease script call on a led shard (nothing if it is no longer led). Remembers the topics
   * it found or left empty.
   */
  private async fromShard(
    call: ShardCall,
    max: number,
    override: number,
    memo: string,
  ): Promise<{ tasks: LeasedTask[]; drained: string[] }> {
    const version = this.hints.version(call.shard);
    let got: { tasks: LeasedTask[]; drained: string[] };
    try {
      got = await this.host.leaseOnShard(call.shard, call.topics, max, override, memo);
    } catch (error) {
      if (!isDdqError(error, "NOT_LEADER")) throw error;
      return { tasks: [], drained: [] };
    }
    for (const topic of got.drained) this.hints.markEmpty(call.shard, topic, version);
    if (got.tasks.length > 0) {
      // The loop must wake when these leases expire, not when it last planned to.
      this.host.leasesExpireAt(call.shard, Math.min(...got.tasks.map((t) => t.leaseExpiresAtMs)));
    }
    return got;
  }
}

/** Read afresh each time (TypeScript would keep a narrowing of `signal.aborted` across awaits). */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
