/**
 * Listing tasks in a state, of one topic or of every topic: shard by shard, topic by topic (in
 * name order), each index in its own order (due time, ready order, lease expiry, death or finish
 * time). Keyset paging (script listAfter.lua): a page token is the position after the last task
 * returned, so a task that stays in its state is listed once even while others come and go.
 * The topics of a shard come from its indexes of topics (due-topics, lease-topics) or, for ready
 * tasks, from its counts hash: never from a SCAN of the keyspace. A page's walk stops at its time
 * budget or the caller's deadline and answers what it found with a token to continue.
 */
import { createHash } from "node:crypto";
import { invalidArgument, isDdqError } from "./engine/errors.js";
import { ShardKeys } from "./engine/keys.js";
import { TASK_STATES, type EngineLimits, type Task, type TaskState } from "./engine/model.js";
import type { RedisClient } from "./engine/redisClient.js";
import { replyArray, replyString, type ScriptRunner } from "./engine/scripts.js";
import { shardOfTaskId } from "./engine/taskId.js";
import { validateTopic } from "./engine/validation.js";

export interface ListRequest {
  state: TaskState;
  /** Only this topic's tasks. Unset: every topic. */
  topic?: string;
  /** 1..MAX_PAGE_SIZE, default 100. */
  limit?: number;
  /** A previous page's nextCursor, of the same state and topic. */
  cursor?: string;
  /** Epoch ms: the walk stops by then (the caller's deadline). */
  deadlineMs?: number;
  /** Aborted: the walk stops (the caller went away). */
  signal?: AbortSignal;
}

export interface ListPage {
  tasks: Task[];
  /** Pass back to get the next page; absent on the last page. */
  nextCursor?: string;
}

export const MAX_PAGE_SIZE = 1000;
/** Longest walk of one page (a caller's earlier deadline ends it sooner). */
export const LIST_PAGE_BUDGET_MS = 5_000;
/** How long before the caller's deadline a walk stops, to leave time for the answer. */
export const DEADLINE_MARGIN_MS = 100;

/** What listing needs from a scheduler replica. */
export interface TaskListingHost {
  readonly prefix: string;
  readonly shardCount: number;
  readonly limits: EngineLimits;
  readonly redis: RedisClient;
}

/** Where a walk is: after (score, id) of `topic`'s index on `shard` (score "": at its start). */
interface Position {
  shard: number;
  topic: string;
  score: string;
  id: string;
}

const TOKEN_VERSION = "l1";
const SCORE = /^-?\d+(\.\d+)?(e[+-]?\d+)?$/;

/** Binds a page token to the state and topic filter of its listing. */
function listingOf(state: TaskState, filter: string): string {
  return createHash("sha256").update(`${state}|${filter}`).digest("hex").slice(0, 8);
}

function perTopic(state: TaskState): boolean {
  return state === "scheduled" || state === "ready" || state === "leased";
}

export class TaskListing {
  constructor(
    private readonly host: TaskListingHost,
    private readonly scripts: ScriptRunner,
    /** Reads a task (NOT_FOUND if there is none). */
    private readonly get: (id: string) => Promise<Task>,
  ) {}

  async list(request: ListRequest): Promise<ListPage> {
    const limit = request.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE)
      throw invalidArgument("limit", `must be from 1 to ${MAX_PAGE_SIZE}, got ${limit}`);
    if (!(TASK_STATES as readonly string[]).includes(request.state))
      throw invalidArgument("state", `unknown state "${request.state}"`);
    if (request.topic !== undefined) validateTopic("topic", request.topic, this.host.limits);
    const filter = request.topic ?? "";
    let position = this.decode(request.cursor, request.state, filter);
    const stopAt = Math.min(
      Date.now() + LIST_PAGE_BUDGET_MS,
      (request.deadlineMs ?? Number.POSITIVE_INFINITY) - DEADLINE_MARGIN_MS,
    );
    const tasks: Task[] = [];
    let steps = 0;
    // A step reads one index once; the first always runs, so every call makes progress. Near the
    // deadline the walk answers what it found; once the caller is gone (the signal aborted, with
    // its status as the reason) no further read starts.
    const outOfTime = (): boolean => {
      request.signal?.throwIfAborted();
      return steps > 0 && Date.now() >= stopAt;
    };
    while (position.shard < this.host.shardCount && tasks.length < limit) {
      if (outOfTime()) return { tasks, nextCursor: this.encode(position, request.state, filter) };
      const keys = new ShardKeys(this.host.prefix, position.shard);
      const topics =
        perTopic(request.state) && filter === ""
          ? await this.topicsOf(keys, request.state)
          : [filter];
      for (const topic of topics) {
        if (topic < position.topic) continue;
        if (topic > position.topic) position = { ...position, topic, score: "", id: "" };
        for (;;) {
          if (outOfTime())
            return { tasks, nextCursor: this.encode(position, request.state, filter) };
          const want = limit - tasks.length;
          const entries = replyArray(
            await this.scripts.run(
              "listAfter",
              [this.indexKey(keys, request.state, topic)],
              [position.score, position.id, want],
            ),
          ).map(replyString);
          steps += 1;
          const ids = entries.filter((_, i) => i % 2 === 0);
          // Read concurrently: ioredis pipelines them on the connection.
          // A task gone since the index was read is skipped; any other failure (Redis
          // unreachable) fails the page, which must not move past tasks it did not read.
          const read = await Promise.all(
            ids.map((id) =>
              this.get(id).catch((error: unknown) => {
                if (isDdqError(error, "NOT_FOUND")) return undefined;
                throw error;
              }),
            ),
          );
          for (const task of read) {
            if (task === undefined || task.state !== request.state) continue;
            if (filter !== "" && task.topic !== filter) continue;
            tasks.push(task);
          }
          const last = entries.length - 2;
          if (last >= 0)
            position = { ...position, score: entries[last + 1] ?? "", id: entries[last] ?? "" };
          if (ids.length < want) break; // this index is done
          if (tasks.length >= limit)
            return { tasks, nextCursor: this.encode(position, request.state, filter) };
        }
        if (tasks.length >= limit) break;
      }
      // This shard is done: the next one from its start.
      position = { shard: position.shard + 1, topic: "", score: "", id: "" };
    }
    const page: ListPage = { tasks };
    if (position.shard < this.host.shardCount)
      page.nextCursor = this.encode(position, request.state, filter);
    return page;
  }

  /** The index that orders a state's tasks (per topic for scheduled, ready and leased). */
  private indexKey(keys: ShardKeys, state: TaskState, topic: string): string {
    switch (state) {
      case "scheduled":
        return keys.scheduled(topic);
      case "ready":
        return keys.ready(topic);
      case "leased":
        return keys.leased(topic);
      case "dead":
        return keys.dead;
      case "succeeded":
      case "cancelled":
        return keys.finished;
    }
  }

  /**
   * A shard's topics that may have tasks in `state`, sorted by name: the topics of its scheduled
   * and leased sets are indexed exactly (due-topics, lease-topics); a ready queue has no such
   * index, so its candidates are the topics the counts hash has a ready count for.
   */
  private async topicsOf(keys: ShardKeys, state: TaskState): Promise<string[]> {
    let topics: string[];
    if (state === "scheduled") topics = await this.host.redis.zrange(keys.dueTopics, 0, -1);
    else if (state === "leased") topics = await this.host.redis.zrange(keys.leaseTopics, 0, -1);
    else {
      const fields = await this.host.redis.hkeys(keys.counts);
      topics = fields.filter((f) => f.endsWith("|ready")).map((f) => f.slice(0, -"|ready".length));
    }
    return topics.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * A page token: "l1|<listing>|<shard>|<topic>|<score>|<id>", base64url. <listing> binds the
   * token to its state and topic filter (8 hex digits of a hash); <topic> is empty when the
   * listing has one topic. At most 384 bytes (512 characters) even for a 128-character topic
   * and a cron occurrence id of a 200-character schedule id.
   */
  private encode(position: Position, state: TaskState, filter: string): string {
    const { shard, topic, score, id } = position;
    const fields = [TOKEN_VERSION, listingOf(state, filter), shard, filter === "" ? topic : ""];
    return Buffer.from([...fields, score, id].join("|")).toString("base64url");
  }

  /** The position a page token names; INVALID_ARGUMENT (cursor) for anything else. */
  private decode(cursor: string | undefined, state: TaskState, filter: string): Position {
    if (cursor === undefined || cursor === "") return { shard: 0, topic: "", score: "", id: "" };
    const bad = (why: string): Error =>
      invalidArgument("cursor", `is not a page token of this listing: ${why}`);
    const text = Buffer.from(cursor, "base64url").toString("utf8");
    if (Buffer.from(text, "utf8").toString("base64url") !== cursor) throw bad("malformed");
    const parts = text.split("|");
    if (parts.length !== 6 || parts[0] !== TOKEN_VERSION) throw bad("malformed");
    const [, listing = "", shardText = "", tokenTopic = "", score = "", id = ""] = parts;
    if (listing !== listingOf(state, filter))
      throw bad("it continues a listing of another state or topic");
    const shard = Number(shardText);
    if (!/^\d+$/.test(shardText) || shard >= this.host.shardCount) throw bad("unknown shard");
    if (filter !== "" && tokenTopic !== "") throw bad("malformed");
    const topic = filter === "" ? tokenTopic : filter;
    if (tokenTopic !== "") validateTopic("cursor", tokenTopic, this.host.limits);
    if (score === "" ? id !== "" : !SCORE.test(score) || shardOfTaskId(id) !== shard)
      throw bad("malformed position");
    return { shard, topic, score, id };
  }
}
