/** TaskService handlers (proto/ddq/v1/task_service.proto) over a Scheduler replica. */
import type { ServerWritableStream } from "@grpc/grpc-js";
import {
  CancelTaskResponse_Outcome,
  EventType,
  type CancelTaskRequest,
  type CancelTaskResponse,
  type CountTasksRequest,
  type CountTasksResponse,
  type EnqueueBatchRequest,
  type EnqueueBatchResponse,
  type EnqueueRequest,
  type EnqueueResponse,
  type Event,
  type GetTaskRequest,
  type GetTaskResponse,
  type ListDeadRequest,
  type ListDeadResponse,
  type ListTasksRequest,
  type ListTasksResponse,
  type PurgeDeadRequest,
  type PurgeDeadResponse,
  type RequeueDeadRequest,
  type RequeueDeadResponse,
  TaskServiceService,
  type EnqueueBatchRequest as PbEnqueueBatchRequest,
  type TaskServiceServer,
  type WatchEventsRequest,
  type WatchEventsResponse,
} from "../../proto/gen/ddq/v1/task_service.js";
import { DdqError, invalidArgument } from "../engine/errors.js";
import type { EnqueueResult, Task } from "../engine/model.js";
import type { LifecycleEvent, ListRequest, Scheduler } from "../scheduler.js";
import { DEADLINE_MARGIN_MS } from "../taskListing.js";
import { prepareTask, validateTopic } from "../engine/validation.js";
import type { CallContext, CallGuard } from "./callGuard.js";
import { listPageToken } from "./pageToken.js";
import { PeerRouter } from "./peerRouter.js";
import { taskChangeHandlers } from "./taskChangeService.js";
import { timestampMs } from "./protoTime.js";
import { checkMaxLength, MAX_OWNER_UID_LENGTH, MAX_WATCH_TOPICS } from "./requestFields.js";
import { resumePositions, watchStart } from "./watchRequest.js";
import {
  stateFromPb,
  stateToPb,
  taskSpecFromPb,
  taskSummaryToPb,
  taskToPb,
} from "./taskMessages.js";

const EVENT_TYPES: Record<string, EventType> = {
  scheduled: EventType.EVENT_TYPE_SCHEDULED,
  ready: EventType.EVENT_TYPE_READY,
  leased: EventType.EVENT_TYPE_LEASED,
  succeeded: EventType.EVENT_TYPE_SUCCEEDED,
  retrying: EventType.EVENT_TYPE_RETRYING,
  dead: EventType.EVENT_TYPE_DEAD,
  cancelled: EventType.EVENT_TYPE_CANCELLED,
  cancel_requested: EventType.EVENT_TYPE_CANCEL_REQUESTED,
  expired: EventType.EVENT_TYPE_EXPIRED,
  requeued: EventType.EVENT_TYPE_REQUEUED,
  purged: EventType.EVENT_TYPE_PURGED,
  rescheduled: EventType.EVENT_TYPE_RESCHEDULED,
  priority_changed: EventType.EVENT_TYPE_PRIORITY_CHANGED,
  missed: EventType.EVENT_TYPE_MISSED,
  skipped: EventType.EVENT_TYPE_SKIPPED,
};

/** Events per shard read per round of a watch, and the longest block between rounds. */
const WATCH_READ = 500;
const WATCH_BLOCK_MS = 5_000;
/** Pages scanned for one ListTasks answer when filtering by owner. */
const OWNER_SCAN_PAGES = 20;

/** The same error with its field named from the request's root (`topic` -> `task.topic`). */
function withFieldPrefix(error: unknown, prefix: string): unknown {
  if (!(error instanceof DdqError) || error.field === undefined) return error;
  return new DdqError(error.code, `${prefix}${error.message}`, `${prefix}${error.field}`);
}

function enqueueResultToPb(result: EnqueueResult): EnqueueResponse {
  return { task: taskSummaryToPb(result.task), created: result.created };
}

function eventToPb(event: LifecycleEvent): Event {
  const [entry = "0-0"] = event.eventId.split(".");
  return {
    eventId: `${event.shard}:${event.eventId}`,
    shard: event.shard,
    type: EVENT_TYPES[event.type] ?? EventType.EVENT_TYPE_UNSPECIFIED,
    taskId: event.taskId,
    topic: event.topic,
    attempt: event.attempt,
    time: new Date(Number(entry.split("-")[0] ?? "0")),
  };
}

function pageSize(value: number, field = "page_size"): number {
  if (value === 0) return 100;
  if (!Number.isSafeInteger(value) || value < 1 || value > 1000)
    throw invalidArgument(field, `must be from 1 to 1000, got ${value}`);
  return value;
}

async function writeEvents(
  call: ServerWritableStream<WatchEventsRequest, WatchEventsResponse>,
  response: WatchEventsResponse,
  signal: AbortSignal,
): Promise<void> {
  // An aborted call was answered already (e.g. UNAVAILABLE: Redis became unreachable); an aborted
  // signal fires no more "abort" events, and a cancelled call never drains.
  if (signal.aborted) return;
  if (call.write(response)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      signal.removeEventListener("abort", done);
      call.removeListener("drain", done);
      resolve();
    };
    call.once("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

export function taskServiceHandlers(
  scheduler: Scheduler,
  guard: CallGuard,
  router: PeerRouter,
): TaskServiceServer {
  /**
   * A batch split by where each task must be written: tasks with an idempotency key on their
   * key's shard (its leader), the rest on this replica's shards (or, if it leads none, shard
   * 0's leader). The whole batch is validated first, so errors name the caller's indexes.
   */
  const enqueueBatch = async (
    request: PbEnqueueBatchRequest,
    context: CallContext,
  ): Promise<EnqueueBatchResponse> => {
    if (request.tasks.length === 0) throw invalidArgument("tasks", "must not be empty");
    if (request.tasks.length > scheduler.limits.maxBatchSize) {
      throw new DdqError(
        "RESOURCE_EXHAUSTED",
        `tasks: a batch may hold at most ${scheduler.limits.maxBatchSize} tasks, got ${request.tasks.length}`,
        "tasks",
      );
    }
    const specs = request.tasks.map((t, i) => taskSpecFromPb(t, `tasks[${i}].`));
    specs.forEach((spec, i) =>
      prepareTask({ ...spec }, scheduler.limits, scheduler.defaults, `tasks[${i}].`),
    );
    const forwarded = PeerRouter.isForwarded(context);
    const local: number[] = [];
    const remote = new Map<number, number[]>();
    specs.forEach((spec, i) => {
      const shard =
        spec.idempotencyKey === undefined
          ? undefined
          : scheduler.shardOfIdempotencyKey(spec.idempotencyKey);
      const target = shard ?? (scheduler.ledShards().length > 0 ? undefined : 0);
      if (forwarded || target === undefined || scheduler.leads(target)) local.push(i);
      else remote.set(target, [...(remote.get(target) ?? []), i]);
    });
    const results = new Array<EnqueueResponse>(specs.length);
    const localWrite = async (): Promise<void> => {
      if (local.length === 0) return;
      const written = await scheduler.enqueueBatch(
        local.map((i) => specs[i] as (typeof specs)[number]),
      );
      written.forEach((r, j) => (results[local[j] ?? 0] = enqueueResultToPb(r)));
    };
    await Promise.all([
      localWrite(),
      ...[...remote.entries()].map(async ([shard, indexes]) => {
        const answer = await router.forward(
          shard,
          TaskServiceService.enqueueBatch,
          { tasks: indexes.map((i) => request.tasks[i] as (typeof request.tasks)[number]) },
          context,
        );
        answer.results.forEach((r, j) => (results[indexes[j] ?? 0] = r));
      }),
    ]);
    return { results };
  };

  const listTasks = async (
    request: ListTasksRequest,
    context: CallContext,
  ): Promise<ListTasksResponse> => {
    const limit = pageSize(request.pageSize);
    const query: ListRequest = {
      state: stateFromPb(request.state, "state"),
      limit,
      deadlineMs: context.deadlineMs,
      signal: context.signal,
    };
    if (request.topic !== "") query.topic = request.topic;
    const cursor = listPageToken(request.pageToken);
    if (cursor !== undefined) query.cursor = cursor;
    checkMaxLength("owner_uid", request.ownerUid, MAX_OWNER_UID_LENGTH);
    if (request.ownerUid === "") {
      const page = await scheduler.list(query);
      return { tasks: page.tasks.map(taskToPb), nextPageToken: page.nextCursor ?? "" };
    }
    // Owner filter: scan pages until the answer is full, the scan budget is spent or the
    // caller's deadline is near (then the page answers what it found, with a token to go on).
    const tasks: Task[] = [];
    let next = query.cursor;
    const stopAt = context.deadlineMs - DEADLINE_MARGIN_MS;
    for (let pages = 0; pages < OWNER_SCAN_PAGES && tasks.length < limit; pages += 1) {
      if (pages > 0 && Date.now() >= stopAt) break;
      const page = await scheduler.list({
        ...query,
        limit: limit - tasks.length,
        ...(next === undefined ? {} : { cursor: next }),
      });
      tasks.push(...page.tasks.filter((t) => t.owner?.uid === request.ownerUid));
      next = page.nextCursor;
      if (next === undefined) break;
    }
    return { tasks: tasks.map(taskToPb), nextPageToken: next ?? "" };
  };

  const watch = async (
    request: WatchEventsRequest,
    context: CallContext,
    call: ServerWritableStream<WatchEventsRequest, WatchEventsResponse>,
  ): Promise<void> => {
    const shards = scheduler.shardCount;
    const resumed = resumePositions(request.resumeAfter, shards);
    if (request.topics.length > MAX_WATCH_TOPICS) {
      throw invalidArgument(
        "topics",
        `must name at most ${MAX_WATCH_TOPICS} topics, got ${request.topics.length}`,
      );
    }
    request.topics.forEach((topic, i) => validateTopic(`topics[${i}]`, topic, scheduler.limits));
    const topics = new Set(request.topics);
    const start = watchStart(request.start);
    const heads = start === "now" ? await scheduler.eventHeads() : [];
    const positions: string[] = Array.from(
      { length: shards },
      (_, s) => resumed.get(s) ?? (start === "now" ? (heads[s] ?? "0-0") : "0-0"),
    );
    for (const [shard, position] of resumed) {
      const [entry = "0-0"] = position.split(".");
      if (await scheduler.eventGap(shard, entry)) {
        throw new DdqError(
          "OUT_OF_RANGE",
          `events of shard ${shard} after ${shard}:${position} were trimmed from the stream; resynchronise (list tasks) and watch from now`,
        );
      }
    }
    await writeEvents(
      call,
      { events: [], positions: positions.map((p, shard) => `${shard}:${p}`) },
      context.signal,
    );
    const { keys, tail } = scheduler.openEventTail();
    try {
      while (!context.signal.aborted) {
        const events: Event[] = [];
        for (let shard = 0; shard < shards; shard += 1) {
          const position = positions[shard] ?? "0-0";
          const read = await scheduler.readEvents(shard, position, WATCH_READ);
          const last = read.at(-1);
          if (last === undefined) continue;
          const [entry = "0-0"] = position.split(".");
          if (position !== "0-0" && (await scheduler.eventGap(shard, entry))) {
            throw new DdqError(
              "OUT_OF_RANGE",
              `this watch fell behind: shard ${shard}'s stream was trimmed past ${shard}:${position}`,
            );
          }
          positions[shard] = last.eventId;
          for (const event of read) {
            if (topics.size === 0 || topics.has(event.topic)) events.push(eventToPb(event));
          }
        }
        if (events.length > 0) {
          await writeEvents(call, { events, positions: [] }, context.signal);
          continue;
        }
        const entries = positions.map((p) => p.split(".")[0] ?? "0-0");
        const blockMs = Math.min(WATCH_BLOCK_MS, context.deadlineMs - Date.now());
        if (blockMs <= 0) return;
        await tail.wait(keys, entries, blockMs, context.signal);
      }
    } finally {
      tail.close();
    }
  };

  return {
    enqueue: guard.unary<EnqueueRequest, EnqueueResponse>("Enqueue", async (request, context) => {
      const spec = taskSpecFromPb(request.task, "task.");
      return router.singleShard(TaskServiceService.enqueue, request, context, async () => {
        try {
          return enqueueResultToPb(await scheduler.enqueue(spec));
        } catch (error) {
          throw withFieldPrefix(error, "task.");
        }
      });
    }),
    enqueueBatch: guard.unary<EnqueueBatchRequest, EnqueueBatchResponse>(
      "EnqueueBatch",
      enqueueBatch,
    ),
    getTask: guard.unary<GetTaskRequest, GetTaskResponse>("GetTask", async (request) => ({
      task: taskToPb(await scheduler.get(request.id)),
    })),
    cancelTask: guard.unary<CancelTaskRequest, CancelTaskResponse>(
      "CancelTask",
      (request, context) =>
        router.singleShard(TaskServiceService.cancelTask, request, context, async () => {
          const result = await scheduler.cancel(request.id);
          const outcome = {
            cancelled: CancelTaskResponse_Outcome.OUTCOME_CANCELLED,
            requested: CancelTaskResponse_Outcome.OUTCOME_REQUESTED,
            unchanged: CancelTaskResponse_Outcome.OUTCOME_UNCHANGED,
          }[result.outcome];
          return { outcome, state: stateToPb(result.state) };
        }),
    ),
    listTasks: guard.unary("ListTasks", listTasks),
    countTasks: guard.unary<CountTasksRequest, CountTasksResponse>(
      "CountTasks",
      async (request, context) => {
        if (request.topic !== "") validateTopic("topic", request.topic, scheduler.limits);
        const counts = await scheduler.counts(
          request.topic === "" ? undefined : request.topic,
          context.signal,
        );
        return {
          topics: [...counts.entries()]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([topic, c]) => ({ topic, ...c })),
        };
      },
    ),
    watchEvents: guard.serverStream("WatchEvents", watch),
    listDead: guard.unary<ListDeadRequest, ListDeadResponse>(
      "ListDead",
      async (request, context) => {
        const query: ListRequest = {
          state: "dead",
          limit: pageSize(request.pageSize),
          deadlineMs: context.deadlineMs,
          signal: context.signal,
        };
        if (request.topic !== "") query.topic = request.topic;
        const cursor = listPageToken(request.pageToken);
        if (cursor !== undefined) query.cursor = cursor;
        const page = await scheduler.list(query);
        return { tasks: page.tasks.map(taskToPb), nextPageToken: page.nextCursor ?? "" };
      },
    ),
    requeueDead: guard.unary<RequeueDeadRequest, RequeueDeadResponse>(
      "RequeueDead",
      (request, context) =>
        router.singleShard(TaskServiceService.requeueDead, request, context, async () => {
          const result = await scheduler.requeueDead(request.id);
          return { state: stateToPb(result.state), requeued: result.outcome === "requeued" };
        }),
    ),
    ...taskChangeHandlers(scheduler, guard, router),
    purgeDead: guard.unary<PurgeDeadRequest, PurgeDeadResponse>(
      "PurgeDead",
      async (request, context) => {
        const options: { topic?: string; diedAtOrBeforeMs?: number; signal: AbortSignal } = {
          signal: context.signal,
        };
        if (request.topic !== "") options.topic = request.topic;
        options.diedAtOrBeforeMs = timestampMs(request.diedBefore, "died_before") ?? Date.now();
        // Forwarded: this replica's shards only. Otherwise: this replica's, then each other
        // leader's (once per address); a shard without a known leader fails the call after
        // the others were purged (purging is idempotent: retry).
        const led = scheduler.ledShards();
        let purged = await scheduler.purgeDead({ ...options, shards: led });
        if (PeerRouter.isForwarded(context)) return { purged };
        const addresses = new Set<string>();
        for (let shard = 0; shard < scheduler.shardCount; shard += 1) {
          context.signal.throwIfAborted();
          if (!scheduler.leads(shard)) addresses.add(await router.addressOf(shard));
        }
        for (const address of addresses) {
          purged += (
            await router.forwardTo(address, TaskServiceService.purgeDead, request, context)
          ).purged;
        }
        return { purged };
      },
    ),
  };
}
