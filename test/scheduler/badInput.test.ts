import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DdqError, type DdqErrorCode } from "../../scheduler/engine/errors.js";
import type { TaskSpec } from "../../scheduler/engine/model.js";
import type { Scheduler } from "../../scheduler/scheduler.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { bytes, startTestScheduler } from "./support.js";

let db: RedisDatabase;
let scheduler: Scheduler;
beforeAll(async () => {
  db = await useFreshRedisDatabase();
  scheduler = await startTestScheduler(db, {
    limits: { maxPayloadBytes: 1024, maxHorizonMs: 3_600_000 },
  });
  await scheduler.enqueue({ topic: "dup", payload: bytes("first"), idempotencyKey: "k1" });
});
afterAll(async () => {
  await scheduler.stop();
  await db.close();
});

async function errorOf(action: () => Promise<unknown>): Promise<DdqError> {
  try {
    await action();
  } catch (error) {
    if (error instanceof DdqError) return error;
    throw error;
  }
  throw new Error("expected an error");
}

const cases: {
  name: string;
  spec: TaskSpec;
  code: DdqErrorCode;
  field: string;
  message: RegExp;
}[] = [
  {
    name: "empty topic",
    spec: { topic: "" },
    code: "INVALID_ARGUMENT",
    field: "topic",
    message: /must not be empty/,
  },
  {
    name: "topic with a colon",
    spec: { topic: "a:b" },
    code: "INVALID_ARGUMENT",
    field: "topic",
    message: /letters, digits/,
  },
  {
    name: "oversize payload",
    spec: { topic: "t", payload: new Uint8Array(1025) },
    code: "INVALID_ARGUMENT",
    field: "payload",
    message: /1025 bytes, more than the limit of 1024/,
  },
  {
    name: "due beyond the horizon",
    spec: { topic: "t", due: { atMs: Date.now() + 2 * 3_600_000 } },
    code: "INVALID_ARGUMENT",
    field: "due",
    message: /beyond the scheduling horizon/,
  },
  {
    name: "delay beyond the horizon",
    spec: { topic: "t", due: { delayMs: 3_600_001 } },
    code: "INVALID_ARGUMENT",
    field: "due.delayMs",
    message: /between 0 and 3600000/,
  },
  {
    name: "negative delay",
    spec: { topic: "t", due: { delayMs: -5 } },
    code: "INVALID_ARGUMENT",
    field: "due.delayMs",
    message: /must not be negative/,
  },
  {
    name: "priority out of range",
    spec: { topic: "t", priority: 1001 },
    code: "INVALID_ARGUMENT",
    field: "priority",
    message: /between 0 and 1000/,
  },
  {
    name: "zero max attempts",
    spec: { topic: "t", maxAttempts: 0 },
    code: "INVALID_ARGUMENT",
    field: "maxAttempts",
    message: /between 1/,
  },
  {
    name: "backoff cap below its start",
    spec: { topic: "t", backoff: { kind: "exponential", initialMs: 1000, maxMs: 10, jitter: 0 } },
    code: "INVALID_ARGUMENT",
    field: "backoff.maxMs",
    message: /between 1000/,
  },
  {
    name: "bad traceparent",
    spec: { topic: "t", traceParent: "nope" },
    code: "INVALID_ARGUMENT",
    field: "traceParent",
    message: /W3C/,
  },
  {
    name: "idempotency key reused with a different payload",
    spec: { topic: "dup", payload: bytes("second"), idempotencyKey: "k1" },
    code: "ALREADY_EXISTS",
    field: "idempotencyKey",
    message: /already used by task .+-\d+ with a different topic or payload/,
  },
];

describe("bad input gets a typed error naming the field", () => {
  it.each(cases)("$name", async ({ spec, code, field, message }) => {
    const error = await errorOf(() => scheduler.enqueue(spec));
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it("names the batch position of a bad task, and writes none of the batch", async () => {
    const error = await errorOf(() =>
      scheduler.enqueueBatch([{ topic: "batch" }, { topic: "batch", priority: -1 }]),
    );
    expect(error.field).toBe("tasks[1].priority");
    expect((await scheduler.counts("batch")).size).toBe(0);
  });

  it("rejects a batch over the size limit", async () => {
    const error = await errorOf(() =>
      scheduler.enqueueBatch(Array.from({ length: 10_001 }, () => ({ topic: "t" }))),
    );
    expect(error.code).toBe("RESOURCE_EXHAUSTED");
  });

  it("answers NOT_FOUND for an unknown task id and INVALID_ARGUMENT for a malformed one", async () => {
    expect((await errorOf(() => scheduler.get("01KAKJ6Y0P4X8Z6W6E9B7M2N3Q-1"))).code).toBe(
      "NOT_FOUND",
    );
    expect((await errorOf(() => scheduler.cancel("01KAKJ6Y0P4X8Z6W6E9B7M2N3Q-2"))).code).toBe(
      "NOT_FOUND",
    );
    const malformed = await errorOf(() => scheduler.get("not-an-id"));
    expect(malformed.code).toBe("INVALID_ARGUMENT");
    expect(malformed.field).toBe("id");
  });

  it("rejects ack with a token that is not the current lease", async () => {
    const { task } = await scheduler.enqueue({ topic: "tok" });
    await scheduler.lease({ topics: ["tok"], max: 1 });
    const error = await errorOf(() => scheduler.ack(task.id, "tok", "forged.1"));
    expect(error.code).toBe("FAILED_PRECONDITION");
    expect(error.field).toBe("leaseToken");
  });
});
