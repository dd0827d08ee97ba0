/**
 * One error style: every error that concerns a request field names it in a google.rpc.BadRequest
 * field violation in the `grpc-status-details-bin` trailer, whatever its code (reason: the code's
 * name); codes other than INVALID_ARGUMENT keep the older `ddq-field` trailer, and Ack items keep
 * their numeric code and carry the same status in `AckResult.status`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ackItemError, type DdqClient } from "../../client/ddqClient.js";
import { TaskSpec } from "../../proto/gen/ddq/v1/task.js";
import { readDetails, readStatusDetails } from "../../scheduler/api/grpcStatus.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { expectStatus, GrpcCode } from "./grpcCalls.js";
import { startTestApi, type TestApi } from "./support.js";

const BATCH_LIMIT = 5;

let db: RedisDatabase;
let api: TestApi;
let client: DdqClient;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  api = await startTestApi(
    db,
    {},
    { prefix: `es${process.pid}`, limits: { maxBatchSize: BATCH_LIMIT } },
  );
  client = api.client();
});

afterAll(async () => {
  await api.close();
  await db.close();
});

const spec = (partial: Partial<TaskSpec>): TaskSpec => TaskSpec.fromPartial(partial);

describe("field errors of every code carry a BadRequest", () => {
  it("FAILED_PRECONDITION: a stale lease token (Extend, Fail)", async () => {
    const topic = "es.stale";
    await client.enqueue(spec({ topic }));
    const [task] = (
      await client.lease({ topics: [topic], max: 1, wait: { seconds: 10, nanos: 0 } })
    ).tasks;
    if (task === undefined) throw new Error("nothing leased");
    await client.fail(task.id, topic, task.leaseToken, "boom", false);
    const error = await expectStatus(
      client.extend(task.id, topic, task.leaseToken, 1_000),
      GrpcCode.FAILED_PRECONDITION,
      "lease_token",
    );
    expect(error.message).toContain("lease token is not the task's current lease");
    await expectStatus(
      client.fail(task.id, topic, `${task.leaseToken}x`, "boom"),
      GrpcCode.FAILED_PRECONDITION,
      "lease_token",
    );
  });

  it("ALREADY_EXISTS: an idempotency key reused with another payload", async () => {
    await client.enqueue(spec({ topic: "es.key", idempotencyKey: "es-k1" }));
    await expectStatus(
      client.enqueue(
        spec({ topic: "es.key", idempotencyKey: "es-k1", payload: Buffer.from("other") }),
      ),
      GrpcCode.ALREADY_EXISTS,
      "task.idempotency_key",
    );
  });

  it("RESOURCE_EXHAUSTED: a batch over the limit", async () => {
    await expectStatus(
      client.enqueueBatch(
        Array.from({ length: BATCH_LIMIT + 1 }, () => spec({ topic: "es.batch" })),
      ),
      GrpcCode.RESOURCE_EXHAUSTED,
      "tasks",
    );
  });

  it("INVALID_ARGUMENT keeps its BadRequest (reason INVALID_ARGUMENT) and no ddq-field", async () => {
    const error = await expectStatus(
      client.enqueue(spec({ topic: "" })),
      GrpcCode.INVALID_ARGUMENT,
      "task.topic",
    );
    expect(error).toMatchObject({ reasons: ["INVALID_ARGUMENT"], ddqField: undefined });
  });
});

describe("Ack items", () => {
  it("keep their numeric code and carry the status with a BadRequest naming the item's field", async () => {
    const topic = "es.ack";
    await client.enqueueBatch([spec({ topic }), spec({ topic })]);
    const { tasks } = await client.lease({
      topics: [topic],
      max: 2,
      wait: { seconds: 10, nanos: 0 },
    });
    const [good, stale] = tasks;
    if (good === undefined || stale === undefined) throw new Error("two tasks not leased");
    const { results } = await client.ack([
      { id: good.id, topic, leaseToken: good.leaseToken, result: Buffer.alloc(0) },
      { id: stale.id, topic, leaseToken: `${stale.leaseToken}x`, result: Buffer.alloc(0) },
    ]);
    expect(results[0]).toMatchObject({ code: GrpcCode.OK });
    expect(results[0]?.status).toBeUndefined();
    const refused = results[1];
    expect(refused?.code).toBe(GrpcCode.FAILED_PRECONDITION);
    expect(refused?.status).toMatchObject({
      code: GrpcCode.FAILED_PRECONDITION,
      message: refused?.message,
    });
    expect(readDetails(refused?.status ?? { details: [] }).fieldViolations).toEqual([
      expect.objectContaining({ field: "lease_token", reason: "FAILED_PRECONDITION" }),
    ]);
    // The client reads an item's refusal like any call's error.
    const error = ackItemError(refused ?? { code: 0, message: "" });
    if (error === undefined) throw new Error("the refused item has no error");
    expect(error.code).toBe(GrpcCode.FAILED_PRECONDITION);
    expect(readStatusDetails(error).fieldViolations).toEqual([
      expect.objectContaining({ field: "lease_token" }),
    ]);
    expect(ackItemError(results[0] ?? { code: 0, message: "" })).toBeUndefined();
  });
});
