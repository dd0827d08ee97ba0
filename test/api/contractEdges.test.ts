/**
 * Contract edges a client generated from the protos (not ddq's own) found (issue 12): a stale
 * lease token on Fail, unchecked page tokens, a misnamed field, an empty oneof, unchecked
 * WatchEvents fields, Timestamp/Duration fields out of their message's rules, a resent
 * DeleteSchedule. Against a real server and Redis.
 */
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DdqClient } from "../../client/ddqClient.js";
import { ScheduleSpec } from "../../proto/gen/ddq/v1/cron_service.js";
import { TaskSpec, TaskState, type LeasedTask } from "../../proto/gen/ddq/v1/task.js";
import { WatchEventsRequest } from "../../proto/gen/ddq/v1/task_service.js";
import { FailResponse_Outcome } from "../../proto/gen/ddq/v1/worker_service.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import {
  ALL_METHODS,
  expectStatus,
  GrpcCode,
  lengthDelimited,
  RawClient,
  rawError,
  secondsNanos,
  type RpcMethod,
} from "./grpcCalls.js";
import { startTestApi, type TestApi } from "./support.js";

let db: RedisDatabase;
let api: TestApi;
let client: DdqClient;
let raw: RawClient;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  api = await startTestApi(db, {}, { prefix: `ce${process.pid}` });
  client = api.client();
  raw = new RawClient(api.address);
});

afterAll(async () => {
  raw.close();
  await api.close();
  await db.close();
});

const spec = (partial: Partial<TaskSpec>): TaskSpec => TaskSpec.fromPartial(partial);
const wait = { seconds: 10, nanos: 0 };

function method(name: string): RpcMethod {
  const found = ALL_METHODS.find((m) => m.path.endsWith(`/${name}`));
  if (found === undefined) throw new Error(`no method ${name}`);
  return found;
}

async function leaseOne(topic: string): Promise<LeasedTask> {
  const { tasks } = await client.lease({ topics: [topic], max: 1, wait });
  const task = tasks[0];
  if (task === undefined) throw new Error(`nothing leased from ${topic}`);
  return task;
}

describe("Fail with a stale lease token", () => {
  it("is FAILED_PRECONDITION naming lease_token once the task was leased again or succeeded", async () => {
    const topic = "ce.stale";
    await client.enqueue(
      spec({
        topic,
        maxAttempts: 3,
        backoff: { policy: { $case: "fixed", value: { delay: { seconds: 0, nanos: 0 } } } },
      }),
    );
    const first = await leaseOne(topic);
    const failed = await client.fail(first.id, topic, first.leaseToken, "boom");
    expect(failed.outcome).toBe(FailResponse_Outcome.OUTCOME_RETRYING);
    // A true resend still answers as the first time.
    expect(await client.fail(first.id, topic, first.leaseToken, "boom")).toEqual(failed);

    const second = await leaseOne(topic);
    expect(second).toMatchObject({ id: first.id, attempt: 2 });
    const refused = await expectStatus(
      client.fail(first.id, topic, first.leaseToken, "boom"),
      GrpcCode.FAILED_PRECONDITION,
      "lease_token",
    );
    expect(refused.message).toContain("task state: leased");

    const [acked] = (
      await client.ack([
        { id: second.id, topic, leaseToken: second.leaseToken, result: Buffer.alloc(0) },
      ])
    ).results;
    expect(acked?.code).toBe(GrpcCode.OK);
    await expectStatus(
      client.fail(first.id, topic, first.leaseToken, "boom"),
      GrpcCode.FAILED_PRECONDITION,
      "lease_token",
    );
    expect((await client.get(first.id)).state).toBe(TaskState.TASK_STATE_SUCCEEDED);
  });
});

describe("page tokens that no list returned", () => {
  it("ListSchedules refuses them (INVALID_ARGUMENT page_token) and pages with its own", async () => {
    for (const id of ["ce-a", "ce-b", "ce-c"]) {
      await client.upsertSchedule(
        ScheduleSpec.fromPartial({
          id,
          schedules: ["@daily"],
          suspend: true,
          task: { topic: "x" },
        }),
      );
    }
    const first = await client.listSchedules(2);
    expect(first.schedules.map((s) => s.spec?.id)).toEqual(["ce-a", "ce-b"]);
    const second = await client.listSchedules(2, first.nextPageToken);
    expect(second.schedules.map((s) => s.spec?.id)).toEqual(["ce-c"]);
    expect(second.nextPageToken).toBe("");
    for (const token of ["!!!", "A".repeat(5_000), "é", "garbage", `${first.nextPageToken}=`]) {
      await expectStatus(client.listSchedules(2, token), GrpcCode.INVALID_ARGUMENT, "page_token");
    }
  });

  it("ListTasks and ListDead refuse over-long and non-canonical tokens", async () => {
    const long = await expectStatus(
      client.listDead("", 10, "A".repeat(5_000)),
      GrpcCode.INVALID_ARGUMENT,
      "page_token",
    );
    expect(long.message).toContain("at most 512 characters");
    // "MDow" is a valid position ("0:0"); with padding or a stray character it is not a token.
    expect((await client.listDead("", 10, "MDow")).tasks).toEqual([]);
    for (const token of ["MDow=", "MDow!", "MDo w"]) {
      await expectStatus(
        client.list({ state: TaskState.TASK_STATE_SUCCEEDED, pageToken: token }),
        GrpcCode.INVALID_ARGUMENT,
        "page_token",
      );
    }
  });
});

describe("smaller contract breaks", () => {
  it("UpsertSchedule names spec.task.delay when the template sets a delay", async () => {
    await expectStatus(
      client.upsertSchedule(
        ScheduleSpec.fromPartial({
          id: "ce-delay",
          schedules: ["@daily"],
          task: { topic: "x", due: { $case: "delay", value: { seconds: 5, nanos: 0 } } },
        }),
      ),
      GrpcCode.INVALID_ARGUMENT,
      "spec.task.delay",
    );
  });

  it("an empty Backoff (its oneof unset) is refused", async () => {
    await expectStatus(
      client.enqueue(spec({ topic: "ce.backoff", backoff: {} })),
      GrpcCode.INVALID_ARGUMENT,
      "task.backoff",
    );
    await expectStatus(
      client.upsertSchedule(
        ScheduleSpec.fromPartial({
          id: "ce-backoff",
          schedules: ["@daily"],
          task: { topic: "x", backoff: {} },
        }),
      ),
      GrpcCode.INVALID_ARGUMENT,
      "spec.task.backoff",
    );
  });

  it("WatchEvents refuses a malformed topic filter and an unknown start", async () => {
    const watch = (request: Partial<WatchEventsRequest>, start?: number) =>
      raw.call(
        method("WatchEvents"),
        Buffer.concat([
          WatchEventsRequest.encode(WatchEventsRequest.fromPartial(request)).finish(),
          // `start` (field 2) as a number the enum does not declare.
          start === undefined
            ? Buffer.alloc(0)
            : new BinaryWriter().uint32(16).int32(start).finish(),
        ]),
      );
    const cases: [Partial<WatchEventsRequest>, string, number?][] = [
      [{ topics: ["ok", "not a topic"] }, "topics[1]"],
      [{ topics: [""] }, "topics[0]"],
      [{ topics: ["x".repeat(129)] }, "topics[0]"],
      [{}, "start", 7],
      [{}, "start", -1],
    ];
    for (const [request, field, start] of cases) {
      const error = rawError(await watch(request, start));
      expect({ code: GrpcCode[error.code], fields: error.fields }).toEqual({
        code: "INVALID_ARGUMENT",
        fields: [field],
      });
    }
  });

  it("DeleteSchedule is safe to resend: OK, and deleted says whether this call deleted it", async () => {
    await client.upsertSchedule(
      ScheduleSpec.fromPartial({
        id: "ce-del",
        schedules: ["@daily"],
        suspend: true,
        task: { topic: "x" },
      }),
    );
    expect(await client.deleteSchedule("ce-del")).toEqual({ deleted: true });
    expect(await client.deleteSchedule("ce-del")).toEqual({ deleted: false });
    await expectStatus(client.getSchedule("ce-del"), GrpcCode.NOT_FOUND);
  });
});

describe("Timestamp and Duration fields out of their message's rules", () => {
  const nowSeconds = BigInt(Math.floor(Date.now() / 1000));
  const taskWith = (field: number, time: Buffer): Buffer =>
    Buffer.concat([
      TaskSpec.encode(spec({ topic: "ce.time" })).finish(),
      lengthDelimited(field, time),
    ]);
  const scheduleWith = (field: number, time: Buffer): Buffer =>
    Buffer.concat([
      ScheduleSpec.encode(
        ScheduleSpec.fromPartial({ id: "ce-time", schedules: ["@daily"], task: { topic: "x" } }),
      ).finish(),
      lengthDelimited(field, time),
    ]);

  it.each<[string, string, () => Buffer]>([
    [
      "Enqueue",
      "task.due_time",
      () => lengthDelimited(1, taskWith(3, secondsNanos(nowSeconds, 1_500_000_000))),
    ],
    [
      "Enqueue",
      "task.due_time",
      () => lengthDelimited(1, taskWith(3, secondsNanos(nowSeconds, -1))),
    ],
    [
      "Enqueue",
      "task.due_time",
      () => lengthDelimited(1, taskWith(3, secondsNanos(253_402_300_800n, 0))),
    ],
    [
      "EnqueueBatch",
      "tasks[1].due_time",
      () =>
        Buffer.concat([
          lengthDelimited(1, taskWith(3, secondsNanos(nowSeconds, 0))),
          lengthDelimited(1, taskWith(3, secondsNanos(nowSeconds, 1_000_000_000))),
        ]),
    ],
    ["Enqueue", "task.delay", () => lengthDelimited(1, taskWith(4, secondsNanos(1n, -1)))],
    [
      "Enqueue",
      "task.delay",
      () => lengthDelimited(1, taskWith(4, secondsNanos(0n, 1_000_000_000))),
    ],
    [
      "UpsertSchedule",
      "spec.start_time",
      () => lengthDelimited(1, scheduleWith(6, secondsNanos(nowSeconds, 1_500_000_000))),
    ],
    [
      "UpsertSchedule",
      "spec.end_time",
      () => lengthDelimited(1, scheduleWith(7, secondsNanos(nowSeconds, -5))),
    ],
    ["PurgeDead", "died_before", () => lengthDelimited(2, secondsNanos(nowSeconds, -1))],
    [
      "Lease",
      "wait",
      () =>
        Buffer.concat([
          lengthDelimited(1, Buffer.from("ce.time")),
          Buffer.from([0x10, 0x01]), // max = 1
          lengthDelimited(3, secondsNanos(-1n, 5)),
        ]),
    ],
  ])("%s refuses %s", async (name, field, body) => {
    const error = rawError(await raw.call(method(name), body()));
    expect({ code: GrpcCode[error.code], fields: error.fields }).toEqual({
      code: "INVALID_ARGUMENT",
      fields: [field],
    });
  });

  it("a Timestamp with 0 <= nanos < 1e9 is accepted as its exact instant", async () => {
    const dueSeconds = nowSeconds + 3_600n;
    const answer = await raw.call(
      method("Enqueue"),
      lengthDelimited(1, taskWith(3, secondsNanos(dueSeconds, 999_000_000))),
    );
    expect(GrpcCode[answer.code]).toBe("OK");
  });
});
