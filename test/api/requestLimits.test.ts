/**
 * The sweep of every request message for fields taken as they came (issue 12): topics, tokens,
 * request ids, filters, enum values and stream positions each have a documented bound
 * (docs/API.md "Limits") and answer INVALID_ARGUMENT naming the field, never INTERNAL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DdqClient } from "../../client/ddqClient.js";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { ScheduleSpec } from "../../proto/gen/ddq/v1/cron_service.js";
import { TaskSpec, TaskState } from "../../proto/gen/ddq/v1/task.js";
import { WatchEventsRequest } from "../../proto/gen/ddq/v1/task_service.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import {
  ALL_METHODS,
  expectStatus,
  GrpcCode,
  RawClient,
  rawError,
  type RpcMethod,
} from "./grpcCalls.js";
import { startTestApi, type TestApi } from "./support.js";

let db: RedisDatabase;
let api: TestApi;
let client: DdqClient;
let raw: RawClient;
/** A task id of this server's shape (its shards). */
let taskId: string;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  api = await startTestApi(db, {}, { prefix: `rl${process.pid}` });
  client = api.client();
  raw = new RawClient(api.address);
  taskId = (await client.enqueue(TaskSpec.fromPartial({ topic: "rl.t" }))).task?.id ?? "";
});

afterAll(async () => {
  raw.close();
  await api.close();
  await db.close();
});

function method(name: string): RpcMethod {
  const found = ALL_METHODS.find((m) => m.path.endsWith(`/${name}`));
  if (found === undefined) throw new Error(`no method ${name}`);
  return found;
}

const TOKEN = "0123456789abcdef0123456789abcdef.1";

describe("WorkerService fields", () => {
  it.each<[string, () => Promise<unknown>, string]>([
    ["Extend topic", () => client.extend(taskId, "not a topic", TOKEN, 1_000), "topic"],
    ["Extend empty token", () => client.extend(taskId, "rl.t", "", 1_000), "lease_token"],
    [
      "Extend long token",
      () => client.extend(taskId, "rl.t", "t".repeat(129), 1_000),
      "lease_token",
    ],
    ["Fail topic", () => client.fail(taskId, "x".repeat(129), TOKEN, "e"), "topic"],
    ["Fail empty token", () => client.fail(taskId, "rl.t", "", "e"), "lease_token"],
    ["Fail long token", () => client.fail(taskId, "rl.t", "t".repeat(129), "e"), "lease_token"],
    [
      "Ack topic",
      () =>
        client.ack([
          { id: taskId, topic: "rl.t", leaseToken: TOKEN, result: Buffer.alloc(0) },
          { id: taskId, topic: "", leaseToken: TOKEN, result: Buffer.alloc(0) },
        ]),
      "items[1].topic",
    ],
    [
      "Ack token",
      () => client.ack([{ id: taskId, topic: "rl.t", leaseToken: "", result: Buffer.alloc(0) }]),
      "items[0].lease_token",
    ],
    [
      "Lease request id",
      () => client.lease({ topics: ["rl.t"], max: 1, requestId: "r".repeat(129) }),
      "request_id",
    ],
  ])("%s", async (_name, call, field) => {
    await expectStatus(call(), GrpcCode.INVALID_ARGUMENT, field);
  });

  it("a lease token at the limit is only stale, not malformed", async () => {
    await client.enqueue(TaskSpec.fromPartial({ topic: "rl.l" }));
    const [leased] = (
      await client.lease({ topics: ["rl.l"], max: 1, wait: { seconds: 10, nanos: 0 } })
    ).tasks;
    await expectStatus(
      client.fail(leased?.id ?? "", "rl.l", "t".repeat(128), "e"),
      GrpcCode.FAILED_PRECONDITION,
      "lease_token",
    );
  });
});

describe("TaskService fields", () => {
  it("ListTasks owner_uid is bounded", async () => {
    await expectStatus(
      client.list({ state: TaskState.TASK_STATE_SUCCEEDED, ownerUid: "u".repeat(254) }),
      GrpcCode.INVALID_ARGUMENT,
      "owner_uid",
    );
    const ok = await client.list({
      state: TaskState.TASK_STATE_SUCCEEDED,
      ownerUid: "u".repeat(253),
    });
    expect(ok.tasks).toEqual([]);
  });

  it("CountTasks topic must be a topic", async () => {
    await expectStatus(client.counts("not a topic"), GrpcCode.INVALID_ARGUMENT, "topic");
  });

  it("WatchEvents bounds its topic filter and its resume positions", async () => {
    const watch = async (request: Partial<WatchEventsRequest>): Promise<string[]> => {
      const error = rawError(
        await raw.call(
          method("WatchEvents"),
          Buffer.from(WatchEventsRequest.encode(WatchEventsRequest.fromPartial(request)).finish()),
        ),
      );
      expect(GrpcCode[error.code]).toBe("INVALID_ARGUMENT");
      return error.fields;
    };
    expect(await watch({ topics: Array.from({ length: 1001 }, (_, i) => `t${i}`) })).toEqual([
      "topics",
    ]);
    // Stream ids are two 64-bit numbers: beyond them, no position (not a Redis error: INTERNAL).
    expect(await watch({ resumeAfter: ["0:99999999999999999999999-0"] })).toEqual([
      "resume_after[0]",
    ]);
    expect(await watch({ resumeAfter: ["0:18446744073709551616-0"] })).toEqual(["resume_after[0]"]);
  });
});

describe("CronService fields", () => {
  const schedule = (partial: Partial<ScheduleSpec>): ScheduleSpec =>
    ScheduleSpec.fromPartial({
      id: "rl-s",
      schedules: ["@daily"],
      task: { topic: "x" },
      ...partial,
    });

  /** The spec with an enum field (by number) set to a value the proto does not declare. */
  const withEnum = (field: number, value: number): ScheduleSpec =>
    ScheduleSpec.decode(
      Buffer.concat([
        ScheduleSpec.encode(schedule({})).finish(),
        new BinaryWriter()
          .uint32((field << 3) | 0)
          .int32(value)
          .finish(),
      ]),
    );

  it("UpsertSchedule refuses a time zone over 64 characters", async () => {
    await expectStatus(
      client.upsertSchedule(schedule({ timeZone: "Europe/".padEnd(65, "x") })),
      GrpcCode.INVALID_ARGUMENT,
      "spec.time_zone",
    );
  });

  it.each<[number, number, string]>([
    [4, 9, "spec.dst_gap"],
    [5, -3, "spec.dst_fold"],
    [10, 4, "spec.concurrency_policy"],
    [12, 77, "spec.catch_up"],
  ])("UpsertSchedule refuses enum field %i = %i (%s)", async (field, value, path) => {
    await expectStatus(
      client.upsertSchedule(withEnum(field, value)),
      GrpcCode.INVALID_ARGUMENT,
      path,
    );
  });

  it("PreviewSchedule count and TriggerSchedule request_id are bounded", async () => {
    await client.upsertSchedule(schedule({ suspend: true }));
    await expectStatus(client.previewSchedule("rl-s", 1001), GrpcCode.INVALID_ARGUMENT, "count");
    await expectStatus(client.previewSchedule("rl-s", -1), GrpcCode.INVALID_ARGUMENT, "count");
    await expectStatus(
      client.triggerSchedule("rl-s", "r".repeat(129)),
      GrpcCode.INVALID_ARGUMENT,
      "request_id",
    );
  });
});
