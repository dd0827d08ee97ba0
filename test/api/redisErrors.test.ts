/**
 * The errors a Redis client raises when Redis is unreachable or cannot serve answer UNAVAILABLE
 * with RetryInfo, never INTERNAL (issue 12 item 5: a stall over ~10 s answered INTERNAL from
 * ioredis' MaxRetriesPerRequestError). The errors are the real ones, from a real client.
 */
import { status as GrpcCode } from "@grpc/grpc-js";
import { Redis, ReplyError } from "ioredis";
import { describe, expect, it } from "vitest";
import { readStatusDetails, toServiceError } from "../../scheduler/api/grpcStatus.js";
import { freeLoopbackPort } from "../env/ports.js";

/** ioredis' ReplyError (a Redis error reply), typed. */
const replyError = (message: string): Error =>
  new (ReplyError as unknown as new (text: string) => Error)(message);

async function rejectionOf(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (error) {
    return error;
  }
  throw new Error("the command did not fail");
}

function expectUnavailable(error: unknown): void {
  const status = toServiceError(error);
  expect({ code: GrpcCode[status.code], message: status.details }).toMatchObject({
    code: "UNAVAILABLE",
  });
  expect(readStatusDetails(status).retryAfterMs).toBe(1_000);
}

describe("Redis errors on the wire", () => {
  it("a client that cannot connect: retries per request exhausted, offline queue off, closed", async () => {
    const port = await freeLoopbackPort();
    const retrying = new Redis({ port, maxRetriesPerRequest: 1, retryStrategy: () => 10 });
    retrying.on("error", () => undefined);
    try {
      const exhausted = await rejectionOf(retrying.get("k"));
      expect((exhausted as Error).name).toBe("MaxRetriesPerRequestError");
      expectUnavailable(exhausted);
    } finally {
      retrying.disconnect();
    }
    const offline = new Redis({ port, enableOfflineQueue: false, lazyConnect: true });
    offline.on("error", () => undefined);
    try {
      expectUnavailable(await rejectionOf(offline.get("k")));
    } finally {
      offline.disconnect();
    }
    const closed = new Redis({ port, lazyConnect: true, retryStrategy: () => null });
    closed.on("error", () => undefined);
    expectUnavailable(await rejectionOf(closed.connect()));
  });

  it("replies a retry later can succeed after: LOADING, READONLY, CLUSTERDOWN, TRYAGAIN, MASTERDOWN, BUSY", () => {
    for (const reply of [
      "LOADING Redis is loading the dataset in memory",
      "READONLY You can't write against a read only replica.",
      "CLUSTERDOWN The cluster is down",
      "TRYAGAIN Multiple keys request during rehashing of slot",
      "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
      "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
      "ERR Error running script (call to f_0123): @user_script:12: -READONLY You can't write against a read only replica.",
    ]) {
      expectUnavailable(replyError(reply));
    }
    for (const code of ["ECONNRESET", "ETIMEDOUT", "ECONNREFUSED", "EPIPE"]) {
      expectUnavailable(Object.assign(new Error(`read ${code}`), { code }));
    }
  });

  it("anything else stays INTERNAL with a generic message", () => {
    for (const error of [replyError("ERR wrong number of arguments"), new Error("a bug")]) {
      const status = toServiceError(error);
      expect(status.code).toBe(GrpcCode.INTERNAL);
      expect(status.details).toBe("internal error (logged by the scheduler)");
    }
  });
});
