/**
 * Bad requests over every service, against a real server and Redis: each answers the exact gRPC
 * status, and INVALID_ARGUMENT names the request field (google.rpc.BadRequest) by its proto path.
 */
import type { CallOptions, Metadata, ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DdqClient, WatchOptions } from "../../client/ddqClient.js";
import {
  CatchUpMode,
  ConcurrencyPolicy,
  DstGapPolicy,
  ScheduleSpec,
  type UpsertScheduleRequest,
} from "../../proto/gen/ddq/v1/cron_service.js";
import { TaskSpec, TaskState, type LeasedTask } from "../../proto/gen/ddq/v1/task.js";
import type { ListTasksRequest } from "../../proto/gen/ddq/v1/task_service.js";
import {
  FailResponse_Outcome,
  type ExtendRequest,
  type LeaseRequest,
} from "../../proto/gen/ddq/v1/worker_service.js";
import { ShardKeys } from "../../scheduler/engine/keys.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import {
  ALL_METHODS,
  callError,
  expectStatus,
  GrpcCode,
  lengthDelimited,
  RawClient,
  rawError,
  secondsNanos,
  type RpcMethod,
} from "./grpcCalls.js";
import { startTestApi, type TestApi } from "./support.js";

const PAYLOAD_LIMIT = 4096;
const BATCH_LIMIT = 20;
const RECEIVE_LIMIT = 256 * 1024;
const PREFIX = `br${process.pid}`;

let db: RedisDatabase;
let api: TestApi;
let client: DdqClient;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  api = await startTestApi(
    db,
    { maxReceiveBytes: RECEIVE_LIMIT },
    { prefix: PREFIX, limits: { maxPayloadBytes: PAYLOAD_LIMIT, maxBatchSize: BATCH_LIMIT } },
  );
  client = api.client();
});

afterAll(async () => {
  await api.close();
  await db.close();
});

type Unary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => unknown;

/** A generated client method as a promise (requests the typed client has no helper for). */
function call<Req, Res>(method: Unary<Req, Res>, request: Req, timeoutMs = 10_000): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    method(request, client.metadata(), { deadline: Date.now() + timeoutMs }, (error, response) => {
      if (error === null) resolve(response);
      else reject(error);
    });
  });
}

const spec = (partial: Partial<TaskSpec>): TaskSpec => TaskSpec.fromPartial(partial);
const ms = (value: number): { seconds: number; nanos: number } => ({
  seconds: Math.floor(value / 1000),
  nanos: (value % 1000) * 1e6,
});
/** A well-formed task id that names no task. */
const UNKNOWN_TASK = "01ARZ3NDEKTSV4RRFFQ69G5FAV-1";

async function leaseOne(topic: string): Promise<LeasedTask> {
  await client.enqueue(spec({ topic }));
  const leased = await client.lease({ topics: [topic], max: 1, wait: ms(5_000) });
  const task = leased.tasks[0];
  if (task === undefined) throw new Error(`nothing leased from ${topic}`);
  return task;
}

function method(name: string): RpcMethod {
  const found = ALL_METHODS.find((m) => m.path.endsWith(`/${name}`));
  if (found === undefined) throw new Error(`no method ${name}`);
  return found;
}

describe("timestamps no Date can hold (sent as raw protobuf)", () => {
  const raw = (): RawClient => new RawClient(api.address);
  const enqueueWithDue = (seconds: bigint): Buffer =>
    lengthDelimited(
      1,
      Buffer.concat([
        TaskSpec.encode(spec({ topic: "br.raw" })).finish(),
        lengthDelimited(3, secondsNanos(seconds)),
      ]),
    );

  it.each<[string, string, string | undefined, () => Buffer]>([
    ["Enqueue", "due_time past year 275760", "task.due_time", () => enqueueWithDue(10n ** 15n)],
    ["Enqueue", "due_time seconds beyond 2^53", undefined, () => enqueueWithDue(2n ** 62n)],
    [
      "UpsertSchedule",
      "start_time past year 275760",
      "spec.start_time",
      () =>
        lengthDelimited(
          1,
          Buffer.concat([
            ScheduleSpec.encode(
              ScheduleSpec.fromPartial({
                id: "br-raw",
                schedules: ["@daily"],
                task: { topic: "x" },
              }),
            ).finish(),
            lengthDelimited(6, secondsNanos(-(10n ** 15n))),
          ]),
        ),
    ],
    [
      "PurgeDead",
      "died_before past year 275760",
      "died_before",
      () => lengthDelimited(2, secondsNanos(10n ** 14n)),
    ],
    [
      "Extend",
      "extend_by seconds beyond 2^53",
      undefined,
      () => lengthDelimited(4, secondsNanos(-(2n ** 60n))),
    ],
  ])("%s: %s -> INVALID_ARGUMENT %s", async (name, _what, field, body) => {
    const client = raw();
    try {
      const answer = await client.call(method(name), body(), { metadata: api.client().metadata() });
      const error = rawError(answer);
      expect(GrpcCode[error.code]).toBe("INVALID_ARGUMENT");
      expect(error.fields).toEqual(field === undefined ? [] : [field]);
      if (field === undefined) expect(error.message).toMatch(/not a valid \w+Request message/);
    } finally {
      client.close();
    }
  });
});

describe("TaskService", () => {
  const enqueue = (task: Partial<TaskSpec> | undefined): Promise<unknown> =>
    task === undefined
      ? call(client.tasks.enqueue.bind(client.tasks), {})
      : client.enqueue(spec(task));

  it.each<[string, Partial<TaskSpec> | undefined, string]>([
    ["no task", undefined, "task"],
    ["empty topic", { topic: "" }, "task.topic"],
    ["topic with a space", { topic: "bad topic" }, "task.topic"],
    ["topic over 128 characters", { topic: "t".repeat(129) }, "task.topic"],
    [
      "payload over the limit",
      { topic: "br", payload: Buffer.alloc(PAYLOAD_LIMIT + 1) },
      "task.payload",
    ],
    [
      "due_time before the epoch",
      { topic: "br", due: { $case: "dueTime", value: new Date(-5_000) } },
      "task.due_time",
    ],
    [
      "due_time beyond the horizon",
      { topic: "br", due: { $case: "dueTime", value: new Date("2999-01-01T00:00:00Z") } },
      "task.due_time",
    ],
    [
      "negative delay",
      { topic: "br", due: { $case: "delay", value: { seconds: -1, nanos: 0 } } },
      "task.delay",
    ],
    [
      "delay with nanos out of range",
      { topic: "br", due: { $case: "delay", value: { seconds: 1, nanos: 2e9 } } },
      "task.delay",
    ],
    [
      "delay beyond the horizon",
      { topic: "br", due: { $case: "delay", value: { seconds: 3 * 366 * 86_400, nanos: 0 } } },
      "task.delay",
    ],
    ["priority over 1000", { topic: "br", priority: 1001 }, "task.priority"],
    ["negative priority", { topic: "br", priority: -1 }, "task.priority"],
    ["max_attempts 0", { topic: "br", maxAttempts: 0 }, "task.max_attempts"],
    [
      "fixed backoff with a negative delay",
      {
        topic: "br",
        backoff: { policy: { $case: "fixed", value: { delay: { seconds: -3, nanos: 0 } } } },
      },
      "task.backoff.fixed.delay",
    ],
    [
      "exponential backoff with jitter 2",
      {
        topic: "br",
        backoff: {
          policy: {
            $case: "exponential",
            value: { initial: ms(100), max: ms(1000), jitter: 2 },
          },
        },
      },
      "task.backoff.exponential.jitter",
    ],
    [
      "exponential backoff with max below initial",
      {
        topic: "br",
        backoff: {
          policy: { $case: "exponential", value: { initial: ms(5000), max: ms(1000), jitter: 0 } },
        },
      },
      "task.backoff.exponential.max",
    ],
    ["lease_timeout of 10 ms", { topic: "br", leaseTimeout: ms(10) }, "task.lease_timeout"],
    [
      "idempotency key with a space",
      { topic: "br", idempotencyKey: "a key" },
      "task.idempotency_key",
    ],
    [
      "idempotency key over 256 characters",
      { topic: "br", idempotencyKey: "k".repeat(257) },
      "task.idempotency_key",
    ],
    ["malformed traceparent", { topic: "br", traceParent: "00-xyz" }, "task.trace_parent"],
    [
      "owner without a kind",
      { topic: "br", owner: { kind: "", namespace: "ns", name: "n", uid: "u" } },
      "task.owner.kind",
    ],
  ])("Enqueue: %s -> INVALID_ARGUMENT %s", async (_name, task, field) => {
    await expectStatus(enqueue(task), GrpcCode.INVALID_ARGUMENT, field);
  });

  it("Enqueue: an idempotency key reused with a different payload -> ALREADY_EXISTS", async () => {
    const first = await client.enqueue(
      spec({ topic: "br.idem", payload: Buffer.from("a"), idempotencyKey: "order-1" }),
    );
    const again = await client.enqueue(
      spec({ topic: "br.idem", payload: Buffer.from("a"), idempotencyKey: "order-1" }),
    );
    expect(again).toMatchObject({ created: false, task: { id: first.task?.id } });
    const error = await expectStatus(
      client.enqueue(
        spec({ topic: "br.idem", payload: Buffer.from("b"), idempotencyKey: "order-1" }),
      ),
      GrpcCode.ALREADY_EXISTS,
      "task.idempotency_key",
    );
    expect(error.message).toContain(first.task?.id);
  });

  it("EnqueueBatch: field paths name the item; over the batch limit -> RESOURCE_EXHAUSTED", async () => {
    const good = (): TaskSpec => spec({ topic: "br.batch" });
    await expectStatus(client.enqueueBatch([]), GrpcCode.INVALID_ARGUMENT, "tasks");
    await expectStatus(
      client.enqueueBatch([
        good(),
        good(),
        good(),
        spec({ topic: "br.batch", payload: Buffer.alloc(PAYLOAD_LIMIT + 1) }),
      ]),
      GrpcCode.INVALID_ARGUMENT,
      "tasks[3].payload",
    );
    await expectStatus(
      client.enqueueBatch([good(), good(), spec({ topic: "" })]),
      GrpcCode.INVALID_ARGUMENT,
      "tasks[2].topic",
    );
    await expectStatus(
      client.enqueueBatch([
        good(),
        spec({ topic: "br.batch", due: { $case: "dueTime", value: new Date("2999-01-01") } }),
      ]),
      GrpcCode.INVALID_ARGUMENT,
      "tasks[1].due_time",
    );
    await expectStatus(
      client.enqueueBatch([
        spec({ topic: "br.batch", idempotencyKey: "dup", payload: Buffer.from("1") }),
        spec({ topic: "br.batch", idempotencyKey: "dup", payload: Buffer.from("2") }),
      ]),
      GrpcCode.INVALID_ARGUMENT,
      "tasks[1].idempotency_key",
    );
    await expectStatus(
      client.enqueueBatch(Array.from({ length: BATCH_LIMIT + 1 }, good)),
      GrpcCode.RESOURCE_EXHAUSTED,
      "tasks",
    );
    // All-or-nothing: none of the refused batches left a task behind.
    const counts = await client.counts("br.batch");
    expect(counts.topics).toEqual([]);
    const ok = await client.enqueueBatch(Array.from({ length: BATCH_LIMIT }, good));
    expect(ok.results).toHaveLength(BATCH_LIMIT);
  });

  it("a request over the server's max receive size -> RESOURCE_EXHAUSTED (grpc-js)", async () => {
    const error = await expectStatus(
      client.enqueue(spec({ topic: "br", payload: Buffer.alloc(RECEIVE_LIMIT + 1024) })),
      GrpcCode.RESOURCE_EXHAUSTED,
    );
    expect(error.message).toMatch(/larger than max/i);
    // The connection and the server are fine afterwards.
    expect((await client.enqueue(spec({ topic: "br.after" }))).created).toBe(true);
  });

  it("GetTask / CancelTask / RequeueDead: malformed id, unknown id", async () => {
    await expectStatus(client.get(""), GrpcCode.INVALID_ARGUMENT, "id");
    await expectStatus(client.get("not-a-task-id"), GrpcCode.INVALID_ARGUMENT, "id");
    await expectStatus(
      client.get("01ARZ3NDEKTSV4RRFFQ69G5FAV-999"),
      GrpcCode.INVALID_ARGUMENT,
      "id",
    );
    await expectStatus(client.get(UNKNOWN_TASK), GrpcCode.NOT_FOUND);
    await expectStatus(client.cancel(UNKNOWN_TASK), GrpcCode.NOT_FOUND);
    await expectStatus(client.cancel("x"), GrpcCode.INVALID_ARGUMENT, "id");
    await expectStatus(client.requeueDead(UNKNOWN_TASK), GrpcCode.NOT_FOUND);
    await expectStatus(client.requeueDead(""), GrpcCode.INVALID_ARGUMENT, "id");
  });

  it("an error quoting a huge request value is cut short, and answers at once", async () => {
    const started = performance.now();
    const error = await expectStatus(
      client.get("x".repeat(100_000)),
      GrpcCode.INVALID_ARGUMENT,
      "id",
    );
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(error.message.length).toBeLessThan(1_000);
    expect(error.message).toMatch(/more characters\)$/);
    // The connection is still usable.
    await expectStatus(client.get(UNKNOWN_TASK), GrpcCode.NOT_FOUND);
  });

  it("CancelTask of a finished task and RequeueDead of a task that is not dead -> FAILED_PRECONDITION", async () => {
    const leased = await leaseOne("br.finished");
    await client.ack([
      {
        id: leased.id,
        topic: leased.topic,
        leaseToken: leased.leaseToken,
        result: Buffer.alloc(0),
      },
    ]);
    expect((await client.get(leased.id)).state).toBe(TaskState.TASK_STATE_SUCCEEDED);
    await expectStatus(client.cancel(leased.id), GrpcCode.FAILED_PRECONDITION);
    await expectStatus(client.requeueDead(leased.id), GrpcCode.FAILED_PRECONDITION);
    const running = await leaseOne("br.running");
    await expectStatus(client.requeueDead(running.id), GrpcCode.FAILED_PRECONDITION);
    const { task: ready } = await client.enqueue(spec({ topic: "br.ready" }));
    const never = await expectStatus(
      client.requeueDead(ready?.id ?? ""),
      GrpcCode.FAILED_PRECONDITION,
    );
    expect(never.message).toContain("is ready, not dead");
    // Cancelling twice is not an error: the second answers UNCHANGED.
    const { task } = await client.enqueue(
      spec({ topic: "br.cancel", due: { $case: "delay", value: ms(60_000) } }),
    );
    await client.cancel(task?.id ?? "");
    const again = await client.cancel(task?.id ?? "");
    expect(again.state).toBe(TaskState.TASK_STATE_CANCELLED);
  });

  it.each<[string, Partial<ListTasksRequest>, string]>([
    ["state unspecified", { state: TaskState.TASK_STATE_UNSPECIFIED, topic: "br" }, "state"],
    ["unknown state number", { state: TaskState.UNRECOGNIZED, topic: "br" }, "state"],
    ["ready without a topic", { state: TaskState.TASK_STATE_READY }, "topic"],
    ["bad topic", { state: TaskState.TASK_STATE_DEAD, topic: "no spaces" }, "topic"],
    ["page_size over 1000", { state: TaskState.TASK_STATE_DEAD, pageSize: 1001 }, "page_size"],
    ["negative page_size", { state: TaskState.TASK_STATE_DEAD, pageSize: -5 }, "page_size"],
    [
      "garbage page_token",
      { state: TaskState.TASK_STATE_DEAD, pageToken: "garbage!" },
      "page_token",
    ],
    [
      "page_token naming a shard that does not exist",
      { state: TaskState.TASK_STATE_DEAD, pageToken: Buffer.from("99:0").toString("base64url") },
      "page_token",
    ],
  ])("ListTasks: %s -> INVALID_ARGUMENT %s", async (_name, request, field) => {
    await expectStatus(
      client.list({ state: TaskState.TASK_STATE_UNSPECIFIED, ...request }),
      GrpcCode.INVALID_ARGUMENT,
      field,
    );
  });

  it("ListDead and PurgeDead: bad page_token, page_size, topic, died_before", async () => {
    await expectStatus(client.listDead("", 0, "%%%"), GrpcCode.INVALID_ARGUMENT, "page_token");
    await expectStatus(client.listDead("", 5000), GrpcCode.INVALID_ARGUMENT, "page_size");
    await expectStatus(client.listDead("a b"), GrpcCode.INVALID_ARGUMENT, "topic");
    await expectStatus(client.purgeDead("a b"), GrpcCode.INVALID_ARGUMENT, "topic");
  });

  it("WatchEvents: bad resume_after and topics -> INVALID_ARGUMENT; a trimmed position -> OUT_OF_RANGE", async () => {
    const watchError = async (request: WatchOptions): Promise<unknown> => {
      const stream = client.watchOnce(request);
      try {
        return await stream.next();
      } finally {
        await stream.return(undefined);
      }
    };
    await expectStatus(
      watchError({ resumeAfter: ["garbage"] }),
      GrpcCode.INVALID_ARGUMENT,
      "resume_after[0]",
    );
    await expectStatus(
      watchError({ resumeAfter: ["0:1-0", "7:1-0"] }),
      GrpcCode.INVALID_ARGUMENT,
      "resume_after[1]",
    );
    await expectStatus(
      watchError({ resumeAfter: ["1:1-0", "1:2-0"] }),
      GrpcCode.INVALID_ARGUMENT,
      "resume_after[1]",
    );
    await expectStatus(watchError({ topics: ["ok", ""] }), GrpcCode.INVALID_ARGUMENT, "topics[1]");
    // A real position, then the stream trimmed past it (what MAXLEN does to a slow reader).
    const { task } = await client.enqueue(spec({ topic: "br.trim" }));
    const shard = task?.shard ?? 0;
    const key = new ShardKeys(PREFIX, shard).events;
    const firstId = (await db.client.xrange(key, "-", "+", "COUNT", 1))[0]?.[0] ?? "";
    await client.enqueueBatch(Array.from({ length: 3 }, () => spec({ topic: "br.trim" })));
    await db.client.xtrim(key, "MAXLEN", 1);
    const error = await expectStatus(
      watchError({ resumeAfter: [`${shard}:${firstId}.0`] }),
      GrpcCode.OUT_OF_RANGE,
    );
    expect(error.message).toContain("trimmed");
  });
});

describe("CronService", () => {
  const upsert = (partial: Partial<ScheduleSpec> | undefined): Promise<unknown> => {
    const request: UpsertScheduleRequest =
      partial === undefined
        ? {}
        : {
            spec: ScheduleSpec.fromPartial({
              id: "br-cron",
              schedules: ["*/5 * * * *"],
              task: { topic: "br.cron" },
              ...partial,
            }),
          };
    return call(client.cron.upsertSchedule.bind(client.cron), request);
  };

  it.each<[string, Partial<ScheduleSpec> | undefined, string]>([
    ["no spec", undefined, "spec"],
    ["empty id", { id: "" }, "spec.id"],
    ["id with a slash", { id: "a/b" }, "spec.id"],
    ["no schedules", { schedules: [] }, "spec.schedules"],
    ["an expression that is not cron", { schedules: ["not a cron"] }, "spec.schedules[0]"],
    ["a bad second expression", { schedules: ["@hourly", "61 * * * *"] }, "spec.schedules[1]"],
    ["@every below 1s", { schedules: ["@every 10ms"] }, "spec.schedules[0]"],
    ["unknown time zone", { timeZone: "Mars/Olympus_Mons" }, "spec.time_zone"],
    ["unknown dst_gap", { dstGap: DstGapPolicy.UNRECOGNIZED }, "spec.dst_gap"],
    [
      "unknown concurrency policy",
      { concurrencyPolicy: ConcurrencyPolicy.UNRECOGNIZED },
      "spec.concurrency_policy",
    ],
    ["unknown catch-up mode", { catchUp: CatchUpMode.UNRECOGNIZED }, "spec.catch_up"],
    [
      "end before start",
      { startTime: new Date("2030-01-02"), endTime: new Date("2030-01-01") },
      "spec.end_time",
    ],
    [
      "starting_deadline not whole seconds",
      { startingDeadline: ms(1500) },
      "spec.starting_deadline",
    ],
    ["negative jitter", { jitter: { seconds: -1, nanos: 0 } }, "spec.jitter"],
    ["no task", { task: undefined }, "spec.task"],
    ["task without a topic", { task: TaskSpec.fromPartial({ topic: "" }) }, "spec.task.topic"],
    [
      "task with a delay",
      { task: TaskSpec.fromPartial({ topic: "x", due: { $case: "delay", value: ms(1000) } }) },
      "spec.task.delay",
    ],
    [
      "task with a due time",
      { task: TaskSpec.fromPartial({ topic: "x", due: { $case: "dueTime", value: new Date() } }) },
      "spec.task.due_time",
    ],
    [
      "task with an idempotency key",
      { task: TaskSpec.fromPartial({ topic: "x", idempotencyKey: "k" }) },
      "spec.task.idempotency_key",
    ],
    [
      "task payload over the limit",
      { task: TaskSpec.fromPartial({ topic: "x", payload: Buffer.alloc(PAYLOAD_LIMIT + 1) }) },
      "spec.task.payload",
    ],
  ])("UpsertSchedule: %s -> INVALID_ARGUMENT %s", async (_name, partial, field) => {
    await expectStatus(upsert(partial), GrpcCode.INVALID_ARGUMENT, field);
  });

  it("unknown schedules -> NOT_FOUND; malformed ids, count and page_size -> INVALID_ARGUMENT", async () => {
    const missing = "no-such-schedule";
    await expectStatus(client.getSchedule(missing), GrpcCode.NOT_FOUND);
    // Safe to resend: deleting what is not there answers OK, deleted = false.
    expect(await client.deleteSchedule(missing)).toEqual({ deleted: false });
    await expectStatus(client.pauseSchedule(missing), GrpcCode.NOT_FOUND);
    await expectStatus(client.resumeSchedule(missing), GrpcCode.NOT_FOUND);
    await expectStatus(client.triggerSchedule(missing), GrpcCode.NOT_FOUND);
    await expectStatus(client.previewSchedule(missing), GrpcCode.NOT_FOUND);
    for (const bad of ["", "-leading-dash", "x".repeat(201)]) {
      await expectStatus(client.getSchedule(bad), GrpcCode.INVALID_ARGUMENT, "id");
      await expectStatus(client.triggerSchedule(bad), GrpcCode.INVALID_ARGUMENT, "id");
    }
    await expectStatus(client.listSchedules(1001), GrpcCode.INVALID_ARGUMENT, "page_size");
    await expectStatus(client.listSchedules(-1), GrpcCode.INVALID_ARGUMENT, "page_size");
    await client.upsertSchedule(
      ScheduleSpec.fromPartial({
        id: "br-preview",
        schedules: ["@daily"],
        task: { topic: "br.cron" },
      }),
    );
    await expectStatus(
      client.previewSchedule("br-preview", 1001),
      GrpcCode.INVALID_ARGUMENT,
      "count",
    );
    await expectStatus(
      client.previewSchedule("br-preview", -2),
      GrpcCode.INVALID_ARGUMENT,
      "count",
    );
    expect((await client.previewSchedule("br-preview", 3)).fires).toHaveLength(3);
  });

  it("TriggerSchedule of a Forbid schedule while an occurrence runs -> FAILED_PRECONDITION", async () => {
    await client.upsertSchedule(
      ScheduleSpec.fromPartial({
        id: "br-forbid",
        schedules: ["@yearly"],
        concurrencyPolicy: ConcurrencyPolicy.CONCURRENCY_POLICY_FORBID,
        task: { topic: "br.forbid" },
      }),
    );
    await client.triggerSchedule("br-forbid");
    await waitFor(
      async () => (await client.getSchedule("br-forbid")).schedule?.status?.active.length === 1,
      {
        description: "the first occurrence is active",
      },
    );
    await expectStatus(client.triggerSchedule("br-forbid"), GrpcCode.FAILED_PRECONDITION);
    // A resend of the first call (same request id) is not a second run: it gets its occurrence.
    await client.upsertSchedule(
      ScheduleSpec.fromPartial({
        id: "br-forbid-resend",
        schedules: ["@yearly"],
        concurrencyPolicy: ConcurrencyPolicy.CONCURRENCY_POLICY_FORBID,
        task: { topic: "br.forbid" },
      }),
    );
    const first = await client.triggerSchedule("br-forbid-resend", "deploy-1");
    const resent = await client.triggerSchedule("br-forbid-resend", "deploy-1");
    expect(resent.occurrenceId).toBe(first.occurrenceId);
    await expectStatus(
      client.triggerSchedule("br-forbid-resend", "deploy-2"),
      GrpcCode.FAILED_PRECONDITION,
    );
  });

  it("TriggerSchedule with a request id over 128 characters -> INVALID_ARGUMENT request_id", async () => {
    await client.upsertSchedule(
      ScheduleSpec.fromPartial({
        id: "br-trigger-id",
        schedules: ["@yearly"],
        task: { topic: "t" },
      }),
    );
    await expectStatus(
      client.triggerSchedule("br-trigger-id", "r".repeat(129)),
      GrpcCode.INVALID_ARGUMENT,
      "request_id",
    );
  });
});

describe("WorkerService", () => {
  const lease = (request: Partial<LeaseRequest>, timeoutMs = 10_000): Promise<unknown> =>
    call(
      client.worker.lease.bind(client.worker),
      { topics: ["br.w"], max: 1, requestId: "", ...request },
      timeoutMs,
    );

  it.each<[string, Partial<LeaseRequest>, string]>([
    ["no topics", { topics: [] }, "topics"],
    ["a bad topic", { topics: ["ok", "not ok"] }, "topics[1]"],
    ["max 0", { max: 0 }, "max"],
    ["negative max", { max: -1 }, "max"],
    ["max over the batch limit", { max: BATCH_LIMIT + 1 }, "max"],
    ["wait over 60 s", { wait: { seconds: 61, nanos: 0 } }, "wait"],
    ["negative wait", { wait: { seconds: -1, nanos: 0 } }, "wait"],
    ["wait with nanos out of range", { wait: { seconds: 0, nanos: -2e9 } }, "wait"],
    ["lease_timeout of 10 ms", { leaseTimeout: ms(10) }, "lease_timeout"],
    [
      "lease_timeout over 12 h",
      { leaseTimeout: { seconds: 13 * 3600, nanos: 0 } },
      "lease_timeout",
    ],
  ])("Lease: %s -> INVALID_ARGUMENT %s", async (_name, request, field) => {
    await expectStatus(lease(request), GrpcCode.INVALID_ARGUMENT, field);
  });

  it("Extend: extend_by missing or out of range, malformed id; stale lease token -> FAILED_PRECONDITION", async () => {
    const task = await leaseOne("br.extend");
    const extend = (request: Partial<ExtendRequest>): Promise<unknown> =>
      call(client.worker.extend.bind(client.worker), {
        id: task.id,
        topic: task.topic,
        leaseToken: task.leaseToken,
        ...request,
      });
    await expectStatus(extend({}), GrpcCode.INVALID_ARGUMENT, "extend_by");
    await expectStatus(extend({ extendBy: ms(50) }), GrpcCode.INVALID_ARGUMENT, "extend_by");
    await expectStatus(
      extend({ extendBy: { seconds: 13 * 3600, nanos: 0 } }),
      GrpcCode.INVALID_ARGUMENT,
      "extend_by",
    );
    await expectStatus(
      extend({ id: "bogus", extendBy: ms(1000) }),
      GrpcCode.INVALID_ARGUMENT,
      "id",
    );
    await expectStatus(extend({ id: UNKNOWN_TASK, extendBy: ms(1000) }), GrpcCode.NOT_FOUND);
    await expectStatus(extend({ topic: "br.other", extendBy: ms(1000) }), GrpcCode.NOT_FOUND);
    await expectStatus(
      extend({ leaseToken: "stale-token", extendBy: ms(1000) }),
      GrpcCode.FAILED_PRECONDITION,
      "lease_token",
    );
    // The real token still works.
    const ok = await client.extend(task.id, task.topic, task.leaseToken, 1_000);
    expect(ok.cancelRequested).toBe(false);
  });

  it("Ack: empty, over the batch limit, result over the limit, malformed id; a stale token answers per item", async () => {
    const task = await leaseOne("br.ack");
    const item = {
      id: task.id,
      topic: task.topic,
      leaseToken: task.leaseToken,
      result: Buffer.alloc(0),
    };
    await expectStatus(client.ack([]), GrpcCode.INVALID_ARGUMENT, "items");
    await expectStatus(
      client.ack(Array.from({ length: BATCH_LIMIT + 1 }, () => item)),
      GrpcCode.INVALID_ARGUMENT,
      "items",
    );
    await expectStatus(
      client.ack([{ ...item, result: Buffer.alloc(64 * 1024 + 1) }]),
      GrpcCode.INVALID_ARGUMENT,
      "items[0].result",
    );
    await expectStatus(
      client.ack([{ ...item, id: "bogus" }]),
      GrpcCode.INVALID_ARGUMENT,
      "items[0].id",
    );
    await expectStatus(
      client.ack([item, { ...item, id: "bogus" }]),
      GrpcCode.INVALID_ARGUMENT,
      "items[1].id",
    );
    const stale = await client.ack([
      { ...item, leaseToken: "stale-token" },
      { ...item, id: UNKNOWN_TASK },
    ]);
    expect(stale.results.map((r) => GrpcCode[r.code])).toEqual([
      "FAILED_PRECONDITION",
      "NOT_FOUND",
    ]);
    expect(stale.results[0]?.message).toContain("lease token");
    const ok = await client.ack([item]);
    expect(ok.results).toEqual([{ code: GrpcCode.OK, message: "" }]);
  });

  it("Fail: unknown task -> NOT_FOUND; a stale lease token -> FAILED_PRECONDITION lease_token; a resend answers the same outcome", async () => {
    const task = await leaseOne("br.fail");
    await expectStatus(
      client.fail(task.id, task.topic, "stale-token", "boom"),
      GrpcCode.FAILED_PRECONDITION,
      "lease_token",
    );
    await expectStatus(
      client.fail("bogus", task.topic, task.leaseToken, "boom"),
      GrpcCode.INVALID_ARGUMENT,
      "id",
    );
    await expectStatus(
      client.fail(UNKNOWN_TASK, task.topic, task.leaseToken, "boom"),
      GrpcCode.NOT_FOUND,
    );
    await expectStatus(
      client.fail(task.id, "br.other", task.leaseToken, "boom"),
      GrpcCode.NOT_FOUND,
    );
    const outcome = await client.fail(task.id, task.topic, task.leaseToken, "boom", false);
    expect(outcome.outcome).toBe(FailResponse_Outcome.OUTCOME_DEAD);
    // A resent Fail of the same lease answers the same outcome (safe to retry)...
    expect((await client.fail(task.id, task.topic, task.leaseToken, "boom")).outcome).toBe(
      FailResponse_Outcome.OUTCOME_DEAD,
    );
    // ...but the lease is over: heartbeats and other tokens are refused.
    await expectStatus(
      client.fail(task.id, task.topic, "another-token", "boom"),
      GrpcCode.FAILED_PRECONDITION,
      "lease_token",
    );
    await expectStatus(
      client.extend(task.id, task.topic, task.leaseToken, 1_000),
      GrpcCode.FAILED_PRECONDITION,
      "lease_token",
    );
  });

  it("a long-poll with a short deadline answers an empty batch before the deadline; the server stays healthy", async () => {
    for (const deadlineMs of [800, 150]) {
      const started = performance.now();
      const answer = await lease({ topics: ["br.empty"], wait: ms(30_000) }, deadlineMs).then(
        (response) => ({ response, error: undefined }),
        (error: unknown) => ({ response: undefined, error: callError(error) }),
      );
      const elapsed = performance.now() - started;
      if (deadlineMs > 250) {
        // The server answers DEADLINE_MARGIN_MS (250 ms) before the deadline: an empty batch.
        expect(answer.error).toBeUndefined();
        expect(answer.response).toEqual({ tasks: [] });
        expect(elapsed).toBeLessThan(deadlineMs);
        expect(elapsed).toBeGreaterThanOrEqual(deadlineMs - 250 - 100);
      } else {
        // Shorter than the margin: the lease does not wait at all.
        expect(answer.error).toBeUndefined();
        expect(answer.response).toEqual({ tasks: [] });
        expect(elapsed).toBeLessThan(deadlineMs);
      }
    }
    expect(api.server.callsInFlight).toBe(0);
    expect((await client.enqueue(spec({ topic: "br.empty" }))).created).toBe(true);
    const got = (await client.lease({ topics: ["br.empty"], max: 1 })).tasks;
    expect(got).toHaveLength(1);
  });
});

describe("no request answered INTERNAL", () => {
  it("the server counted no INTERNAL answer during this file", () => {
    const internal = [...api.server.callsAnswered.entries()].filter(([key]) =>
      key.endsWith(` ${GrpcCode.INTERNAL}`),
    );
    expect(internal).toEqual([]);
  });
});
