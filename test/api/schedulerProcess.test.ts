/**
 * `ddq scheduler` as its own process, started before Redis and stopped after it (issue 12 item
 * 10): it serves its health port at once (readiness NOT_SERVING, liveness SERVING), waits for
 * Redis with backoff saying what it waits for, starts when Redis comes, and on SIGTERM exits 0
 * within its drain time even when Redis is gone (or was never reached), on the first signal.
 */
import { afterAll, describe, expect, it } from "vitest";
import { TaskSpec } from "../../proto/gen/ddq/v1/task.js";
import { DdqClient } from "../../client/ddqClient.js";
import { healthCheck, NOT_SERVING, SERVING } from "../env/grpcHealth.js";
import { freeLoopbackPort } from "../env/ports.js";
import { RedisServer } from "../env/redisServer.js";
import { testScratchDir } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { killAllCli, LOOPBACK_LISTENERS, startCli, waitReady, type CliProcess } from "./support.js";

const DRAIN_SECONDS = 4;
const cleanup: (() => Promise<void>)[] = [];

afterAll(async () => {
  killAllCli();
  for (const step of cleanup.reverse()) await step();
});

function startScheduler(redisPort: number): CliProcess {
  return startCli([
    "scheduler",
    "--auth-disabled",
    "--redis-url",
    `redis://127.0.0.1:${redisPort}/0`,
    "--prefix",
    `proc${redisPort}`,
    "--shards",
    "4",
    "--drain-seconds",
    String(DRAIN_SECONDS),
    ...LOOPBACK_LISTENERS,
  ]);
}

/** The `{"listening":true,...}` line: the ports are bound (Redis may not be reached yet). */
async function waitListening(proc: CliProcess): Promise<{ healthPort: number; grpcPort: number }> {
  const line = await waitFor(
    () =>
      proc
        .stdout()
        .split("\n")
        .find((l) => l.startsWith('{"listening":true')),
    {
      description: "the scheduler's listening line",
      timeoutMs: 30_000,
      abortIf: () =>
        proc.child.exitCode === null
          ? undefined
          : new Error(`the scheduler exited (${proc.child.exitCode}):\n${proc.stderr()}`),
    },
  );
  return JSON.parse(line) as { healthPort: number; grpcPort: number };
}

/** Sends SIGTERM once; resolves with the exit code and how long the exit took. */
async function terminate(proc: CliProcess): Promise<{ code: number | string; ms: number }> {
  const started = Date.now();
  proc.child.kill("SIGTERM");
  const timeout = new Promise<string>((resolve) =>
    setTimeout(() => {
      resolve("still running");
    }, 30_000),
  );
  const code = await Promise.race([proc.exited, timeout]);
  return { code, ms: Date.now() - started };
}

describe("ddq scheduler process and Redis start-up order", () => {
  it("waits for Redis not yet up (not ready), starts when it comes, and stops within its drain time once Redis is gone", async () => {
    const redisPort = await freeLoopbackPort();
    const proc = startScheduler(redisPort);
    const { healthPort, grpcPort } = await waitListening(proc);
    const health = `127.0.0.1:${healthPort}`;
    expect(await healthCheck(health)).toEqual({ code: 0, status: NOT_SERVING });
    expect(await healthCheck(health, "liveness")).toEqual({ code: 0, status: SERVING });
    await waitFor(
      () => proc.stderr().includes(`waiting for Redis at redis://127.0.0.1:${redisPort}`),
      {
        description: "the scheduler to say what it waits for",
        timeoutMs: 20_000,
      },
    );
    // A while later it is still there, still waiting.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(proc.child.exitCode).toBeNull();

    const redis = await RedisServer.start({ dir: testScratchDir("late-redis"), port: redisPort });
    cleanup.push(() => redis.stop());
    await waitReady(proc, 60_000);
    await waitFor(async () => (await healthCheck(health)).status === SERVING, {
      description: "readiness SERVING once Redis answers",
      timeoutMs: 30_000,
    });
    const client = new DdqClient({ address: `127.0.0.1:${grpcPort}`, timeoutMs: 10_000 });
    try {
      await waitFor(
        async () =>
          (await client.enqueue(TaskSpec.fromPartial({ topic: "late.redis" }))).task !== undefined,
        { description: "an enqueue to succeed", timeoutMs: 30_000 },
      );
    } finally {
      client.close();
    }

    // Redis goes away; then the pod is told to stop: one signal, an exit within the drain time.
    await redis.kill9();
    await waitFor(async () => (await healthCheck(health)).status === NOT_SERVING, {
      description: "readiness NOT_SERVING once Redis is gone",
      timeoutMs: 20_000,
    });
    const { code, ms } = await terminate(proc);
    expect({ code, stderr: code === 0 ? "" : proc.stderr() }).toEqual({ code: 0, stderr: "" });
    expect(ms).toBeLessThan(DRAIN_SECONDS * 1000 + 3_000);
  });

  it("a SIGTERM while still waiting for Redis exits 0 at once", async () => {
    const proc = startScheduler(await freeLoopbackPort());
    await waitListening(proc);
    await waitFor(() => proc.stderr().includes("waiting for Redis"), {
      description: "the scheduler to wait for Redis",
      timeoutMs: 20_000,
    });
    const { code, ms } = await terminate(proc);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(DRAIN_SECONDS * 1000 + 3_000);
  });
});
