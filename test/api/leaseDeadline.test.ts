/**
 * Lease over gRPC: the topic limit, and no work left running after the caller's deadline, on
 * this replica or on a peer the lease was forwarded to. Script calls are counted with INFO
 * commandstats on a private redis-server (so the assertions do not depend on the machine's
 * speed, only on what runs after the deadline).
 */
import { randomBytes } from "node:crypto";
import { status as GrpcCode, type ServiceError } from "@grpc/grpc-js";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskSpec } from "../../proto/gen/ddq/v1/task.js";
import { readStatusDetails } from "../../scheduler/api/grpcStatus.js";
import { DEFAULT_LEASE_TIMING } from "../../scheduler/leadership/leaseBackend.js";
import type { LeaseRequest } from "../../scheduler/scheduler.js";
import { Worker } from "../../worker/worker.js";
import { freeLoopbackPort } from "../env/ports.js";
import { RedisServer } from "../env/redisServer.js";
import { testScratchDir } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { startTestApi, type TestApi } from "./support.js";

const SHARDS = 16;
/** The documented limit of topics per lease (docs/API.md, Limits). */
const MAX_TOPICS = 256;
/** Script calls other than the ones measured that may fall in a window (elections, loops). */
const NOISE = 30;

let server: RedisServer;
let stats: Redis;
let api: TestApi;

beforeAll(async () => {
  server = await RedisServer.start({ dir: testScratchDir("lease-deadline") });
  stats = new Redis(server.url);
  api = await startTestApi(server, {}, { shardCount: SHARDS, leaseTiming: DEFAULT_LEASE_TIMING });
  await waitFor(() => api.scheduler.ledShards().length === SHARDS, {
    description: `all ${SHARDS} shards led`,
    timeoutMs: 60_000,
  });
  await api.scheduler.lease({ topics: ["warm-up"], max: 1 });
});

afterAll(async () => {
  await api.close();
  stats.disconnect();
  await server.stop();
});

/** Script calls (EVALSHA and EVAL) the server has run so far. */
async function scriptCalls(): Promise<number> {
  const info = await stats.info("commandstats");
  const calls = (command: string): number =>
    Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? "0");
  return calls("evalsha") + calls("eval");
}

async function scriptCallsDuring(ms: number): Promise<number> {
  const before = await scriptCalls();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (await scriptCalls()) - before;
}

function topics(label: string, count = MAX_TOPICS): string[] {
  return Array.from({ length: count }, (_, i) => `${label}-${i}`);
}

async function statusOf(call: Promise<unknown>): Promise<ServiceError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e as ServiceError,
  );
  if (error === undefined) throw new Error("the call succeeded");
  return error;
}

describe("Lease limits", () => {
  it("refuses more topics than the limit with INVALID_ARGUMENT naming topics", async () => {
    const error = await statusOf(
      api.client().lease({ topics: topics("over", MAX_TOPICS + 1), max: 1 }),
    );
    expect(error.code).toBe(GrpcCode.INVALID_ARGUMENT);
    expect(readStatusDetails(error).fieldViolations.map((v) => v.field)).toEqual(["topics"]);
    expect(error.details).toContain(`at most ${MAX_TOPICS}`);
  });

  it("refuses a request_id over 128 characters, naming it", async () => {
    const error = await statusOf(
      api.client().lease({ topics: ["rid"], max: 1, requestId: "r".repeat(129) }),
    );
    expect(error.code).toBe(GrpcCode.INVALID_ARGUMENT);
    expect(readStatusDetails(error).fieldViolations.map((v) => v.field)).toEqual(["request_id"]);
  });
});

describe("the Worker runtime", () => {
  it("refuses more topics than a lease may name, before it leases", () => {
    expect(
      () =>
        new Worker({
          address: api.address,
          topics: topics("worker", MAX_TOPICS + 1),
          handler: () => Promise.resolve(undefined),
        }),
    ).toThrow(`at most ${MAX_TOPICS} topics`);
  });
});

describe("Lease and the caller's deadline", () => {
  it("leases over the most topics with a short deadline: bounded work, then idle", async () => {
    const idlePerSecond = await scriptCallsDuring(1_000);
    // Each lease names the most topics, never used: 256 x 16 script calls each before the fix,
    // which went on long after the deadline.
    const leases = 20;
    const client = api.client({ timeoutMs: 200 });
    const before = await scriptCalls();
    const started = Date.now();
    const answers = await Promise.allSettled(
      Array.from({ length: leases }, (_, i) =>
        client.lease({ topics: topics(`deadline-${i}`), max: 10 }),
      ),
    );
    for (const answer of answers) {
      if (answer.status === "fulfilled") expect(answer.value.tasks).toEqual([]);
      else expect((answer.reason as ServiceError).code).toBe(GrpcCode.DEADLINE_EXCEEDED);
    }
    // Every handler has returned: nothing of these leases runs any more.
    await waitFor(() => api.server.callsInFlight === 0, {
      description: "the lease handlers to return",
      timeoutMs: 60_000,
    });
    const elapsedSeconds = (Date.now() - started) / 1000;
    // Counted, not timed: one call per shard per lease, plus what the idle scheduler ran meanwhile.
    const spent = (await scriptCalls()) - before;
    expect(spent).toBeLessThanOrEqual(
      leases * SHARDS + idlePerSecond * (elapsedSeconds + 1) + NOISE,
    );
    // And the scheduler is as idle as before.
    expect(await scriptCallsDuring(1_000)).toBeLessThanOrEqual(idlePerSecond + NOISE);
  });

  it("a cancelled long-poll returns at once, and its tasks-to-be stay ready for others", async () => {
    const client = api.client();
    const controller = new AbortController();
    const polling = client.lease(
      { topics: ["cancelled"], max: 1, wait: { seconds: 30, nanos: 0 } },
      controller.signal,
    );
    await waitFor(() => api.server.callsInFlight === 1, { description: "the long-poll to park" });
    controller.abort();
    expect((await statusOf(polling)).code).toBe(GrpcCode.CANCELLED);
    await waitFor(() => api.server.callsInFlight === 0, {
      description: "the server to end the long-poll",
    });
    const { task } = await client.enqueue(TaskSpec.fromPartial({ topic: "cancelled" }));
    expect((await api.scheduler.get(task?.id ?? "")).state).toBe("ready");
  });
});

describe("a lease forwarded to a peer", () => {
  let a: TestApi;
  let b: TestApi;

  beforeAll(async () => {
    const prefix = `fwd${randomBytes(3).toString("hex")}`;
    const [portA, portB] = [await freeLoopbackPort(), await freeLoopbackPort()];
    a = await startTestApi(
      server,
      { listen: `127.0.0.1:${portA}` },
      { prefix, advertiseAddress: `127.0.0.1:${portA}` },
    );
    b = await startTestApi(
      server,
      { listen: `127.0.0.1:${portB}` },
      { prefix, advertiseAddress: `127.0.0.1:${portB}` },
    );
    await waitFor(
      async () =>
        a.scheduler.ledShards().length === 2 &&
        b.scheduler.ledShards().length === 2 &&
        (await a.scheduler.peerAddresses()).length === 1,
      { description: "shards split between the replicas", timeoutMs: 60_000 },
    );
  });

  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it("carries the caller's remaining deadline: the peer's lease ends with it", async () => {
    // The peer's lease runs until its call is aborted (as a slow Redis would make it).
    const seen: { request: LeaseRequest; startedAt: number; abortedAt?: number }[] = [];
    b.scheduler.lease = (request: LeaseRequest) => {
      const entry: (typeof seen)[number] = { request, startedAt: Date.now() };
      seen.push(entry);
      return new Promise((resolve) => {
        request.signal?.addEventListener("abort", () => {
          entry.abortedAt = Date.now();
          resolve([]);
        });
      });
    };
    const started = Date.now();
    const error = await statusOf(
      a.client({ timeoutMs: 1_000 }).lease({ topics: ["forwarded"], max: 1 }),
    );
    expect(error.code).toBe(GrpcCode.DEADLINE_EXCEEDED);
    const [peer] = await waitFor(
      () => seen.length === 1 && seen[0]?.abortedAt !== undefined && seen,
      {
        description: "the peer's lease to end",
        timeoutMs: 10_000,
      },
    );
    expect(peer?.request.waitMs).toBe(0);
    // Ended by the caller's deadline (1 s, plus scheduling slack), not by the 2 s cap of a peer
    // lease (which starts later than `started`), nor by a default deadline.
    expect(peer?.abortedAt).toBeLessThan(started + 1_950);
  });
});
