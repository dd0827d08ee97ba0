/**
 * Changes to one task that has not been delivered yet, and deletion of one dead task: reschedule,
 * run now, set priority (script changeWaiting.lua) and delete dead (deleteDead.lua). Each is one
 * atomic script on the task's shard, run by its leader (fenced by the shard epoch: a deposed
 * leader gets NOT_LEADER). Semantics: docs/TASK_LIFECYCLE.md, docs/API.md.
 */
import { DdqError, invalidArgument, isDdqError } from "./engine/errors.js";
import { ShardKeys } from "./engine/keys.js";
import { MAX_PRIORITY, type DueTime, type EngineLimits, type Task } from "./engine/model.js";
import { replyArray, replyNumber, replyString, type ScriptRunner } from "./engine/scripts.js";
import {
  horizonError,
  mapScriptError,
  type ShardEngine,
  type ShardEngineSettings,
} from "./engine/shardEngine.js";
import { shardOfTaskId } from "./engine/taskId.js";

/** What task changes need from a scheduler replica (a subset of cronScheduler.ts's CronHost). */
export interface TaskChangeHost {
  readonly prefix: string;
  readonly shardCount: number;
  readonly limits: EngineLimits;
  onShard<T>(shard: number, write: (engine: ShardEngine) => Promise<T>): Promise<T>;
  notifyReady(shard: number, topic: string): void;
}

/** A waiting task after a change. */
export interface WaitingChange {
  /** False when the task already was as asked (for example a resend). */
  changed: boolean;
  state: "scheduled" | "ready";
  dueAtMs: number;
  priority: number;
  topic: string;
}

type ChangeReply = WaitingChange | { notWaiting: string };

/** What each change accepts (the FAILED_PRECONDITION message for any other state). */
const RULES = {
  reschedule:
    "only a scheduled task can be rescheduled (a ready task is due already and waits for a worker)",
  runNow: "only a scheduled or ready task can be run now",
  priority: "only a scheduled or ready task can change priority",
  deleteDead: "only a dead task can be deleted",
} as const;

function integerIn(field: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw invalidArgument(field, `must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}

export class TaskChanges {
  constructor(
    private readonly host: TaskChangeHost,
    private readonly scripts: ScriptRunner,
    private readonly settings: ShardEngineSettings,
    /** Reads a task (NOT_FOUND if there is none): says what state a refused task is in. */
    private readonly get: (id: string) => Promise<Task>,
  ) {}

  private shardOf(id: string): number {
    const shard = shardOfTaskId(id);
    if (shard === undefined || shard >= this.host.shardCount)
      throw invalidArgument("id", `"${id}" is not a ddq task id (<ULID>-<shard>)`);
    return shard;
  }

  /**
   * Moves a scheduled task's due time (`due.atMs`, or `due.delayMs` from now by Redis time). A due
   * time that has come makes it ready now. FAILED_PRECONDITION for a task that is not scheduled,
   * except a ready task with a due time that has come (unchanged: it is due already).
   */
  async reschedule(id: string, due: DueTime): Promise<WaitingChange> {
    const shard = this.shardOf(id);
    let dueArg: string;
    if ("atMs" in due) {
      dueArg = `a${integerIn("due.atMs", due.atMs, 0, Number.MAX_SAFE_INTEGER)}`;
    } else {
      dueArg = `i${integerIn("due.delayMs", due.delayMs, 0, this.host.limits.maxHorizonMs)}`;
    }
    const field = "atMs" in due ? "due.atMs" : "due.delayMs";
    return this.change(id, shard, dueArg, "", field, RULES.reschedule);
  }

  /** Makes a scheduled task ready now; a ready task is left as it is (changed = false). */
  async runNow(id: string): Promise<WaitingChange> {
    return this.change(id, this.shardOf(id), "i0", "", "due.delayMs", RULES.runNow);
  }

  /** Sets the priority (0..1000) of a scheduled or ready task. */
  async setPriority(id: string, priority: number): Promise<WaitingChange> {
    const shard = this.shardOf(id);
    integerIn("priority", priority, 0, MAX_PRIORITY);
    return this.change(id, shard, "", String(priority), "priority", RULES.priority);
  }

  private async change(
    id: string,
    shard: number,
    due: string,
    priority: string,
    dueField: string,
    rule: string,
  ): Promise<WaitingChange> {
    const reply = await this.host.onShard(shard, async (engine): Promise<ChangeReply> => {
      const answer = replyArray(
        await this.run(
          shard,
          "changeWaiting",
          [engine.keys.epoch, engine.keys.events, engine.keys.shardBase],
          [
            engine.epoch,
            id,
            this.settings.eventsMaxLen,
            this.settings.maxHorizonMs,
            engine.keys.wakeChannel,
            due,
            priority,
          ],
          dueField,
        ),
      );
      const [outcome, state] = answer.map(replyString);
      if (outcome === "state") return { notWaiting: state ?? "" };
      return {
        changed: outcome === "changed",
        state: state === "ready" ? "ready" : "scheduled",
        dueAtMs: replyNumber(answer[2]),
        priority: replyNumber(answer[3]),
        topic: replyString(answer[4]),
      };
    });
    if ("notWaiting" in reply) throw await this.refused(id, reply.notWaiting, rule);
    // (An earlier due time wakes the shard's firing loop through the script's PUBLISH.)
    if (reply.changed && reply.state === "ready") this.host.notifyReady(shard, reply.topic);
    return reply;
  }

  /**
   * Deletes one dead task. `deleted` is false for a resend within the request-memo retention
   * (10 minutes); NOT_FOUND for an unknown task, FAILED_PRECONDITION for one that is not dead.
   */
  async deleteDead(id: string): Promise<{ deleted: boolean }> {
    const shard = this.shardOf(id);
    const keys = new ShardKeys(this.host.prefix, shard);
    const [outcome = "", state = ""] = await this.host.onShard(shard, async (engine) =>
      replyArray(
        await this.run(
          shard,
          "deleteDead",
          [
            engine.keys.epoch,
            keys.events,
            keys.dead,
            keys.counts,
            keys.task(id),
            keys.deletedDead(id),
          ],
          [engine.epoch, id, this.settings.eventsMaxLen, this.settings.leaseRequestRetentionMs],
        ),
      ).map(replyString),
    );
    if (outcome === "deleted") return { deleted: true };
    if (outcome === "already") return { deleted: false };
    // Not dead: a never-leased task has no hash, so "notfound" may still be a waiting task.
    throw await this.refused(id, outcome === "state" ? state : "", RULES.deleteDead);
  }

  /** The error for a task the script would not change: NOT_FOUND or FAILED_PRECONDITION. */
  private async refused(id: string, storedState: string, rule: string): Promise<DdqError> {
    let state: string = storedState;
    if (storedState === "" || storedState === "waiting") {
      try {
        state = (await this.get(id)).state;
      } catch (error) {
        if (error instanceof DdqError && error.code === "NOT_FOUND") return error;
        throw error;
      }
    }
    const message =
      rule === RULES.deleteDead
        ? `task ${id} is ${state}, not dead`
        : `task ${id} is ${state}: ${rule}`;
    return new DdqError("FAILED_PRECONDITION", message);
  }

  private async run(
    shard: number,
    name: "changeWaiting" | "deleteDead",
    keys: string[],
    args: (string | number)[],
    dueField = "due",
  ): Promise<unknown> {
    try {
      return await this.scripts.run(name, keys, args);
    } catch (error) {
      const mapped =
        (error instanceof Error ? horizonError(error.message, dueField) : undefined) ??
        mapScriptError(error, shard);
      if (isDdqError(mapped, "NOT_FOUND"))
        throw new DdqError(
          "NOT_FOUND",
          `task ${String(args[1])} not found (never existed, or its retention ended)`,
        );
      throw mapped;
    }
  }
}
