/**
 * The worker runtime as its own process (`ddq worker`): a worker killed with SIGKILL mid-task
 * loses nothing (the lease expires and another worker gets the task, attempt + 1), and a worker
 * told to stop with SIGTERM drains: running tasks finish or are handed back, none is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskSpec, TaskState } from "../../proto/gen/ddq/v1/task.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import {
  killAllCli,
  startCli,
  startHttpTarget,
  startTestApi,
  waitReady,
  type TestApi,
  LOOPBACK_OBSERVABILITY,
} from "./support.js";

let db: RedisDatabase;
let api: TestApi;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  api = await startTestApi(db);
});

afterAll(async () => {
  killAllCli();
  await api.close();
  await db.close();
});

function workerArgs(topic: string, url: string, extra: string[] = []): string[] {
  return [
    "worker",
    "--address",
    api.address,
    "--topics",
    topic,
    "--handler",
    "http",
    "--http-url",
    url,
    ...LOOPBACK_OBSERVABILITY,
    ...extra,
  ];
}

describe("ddq worker process", () => {
  it("kill -9 mid-task: the task is redelivered after its lease expires and succeeds once", async () => {
    const topic = "proc.kill";
    const started: string[] = [];
    let releaseFirst: () => void = () => undefined;
    const firstHangs = new Promise<void>((resolve) => (releaseFirst = resolve));
    const target = await startHttpTarget(async (request) => {
      started.push(request.headers["ddq-attempt"] as string);
      if (request.headers["ddq-attempt"] === "1") await firstHangs;
      return { status: 200, body: "ok" };
    });
    const client = api.client();
    try {
      const { task } = await client.enqueue(
        TaskSpec.fromPartial({
          topic,
          payload: Buffer.from("{}"),
          leaseTimeout: { seconds: 2, nanos: 0 },
        }),
      );
      const id = task?.id ?? "";
      const first = startCli(workerArgs(topic, target.url));
      await waitReady(first);
      await waitFor(() => started.length === 1, {
        description: "first delivery reached the target",
      });
      first.child.kill("SIGKILL");
      expect(await first.exited).toBe("SIGKILL");
      releaseFirst();
      // The task is still leased by the dead worker; a new worker gets it when the lease expires.
      const second = startCli(workerArgs(topic, target.url));
      await waitReady(second);
      const done = await waitFor(
        async () => {
          const t = await client.get(id);
          return t.state === TaskState.TASK_STATE_SUCCEEDED ? t : undefined;
        },
        { description: "redelivered task succeeded", timeoutMs: 20_000 },
      );
      expect(done.attempt).toBe(2);
      expect(started).toEqual(["1", "2"]);
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    } finally {
      releaseFirst();
      await target.close();
    }
  });

  it("SIGTERM drains: in-flight tasks finish or are handed back, and every task succeeds", async () => {
    const topic = "proc.drain";
    const target = await startHttpTarget(async () => {
      await new Promise((resolve) => setTimeout(resolve, 400));
      return { status: 200, body: "ok" };
    });
    const client = api.client();
    try {
      const total = 40;
      const { results } = await client.enqueueBatch(
        Array.from({ length: total }, (_, i) =>
          TaskSpec.fromPartial({ topic, payload: Buffer.from(`${i}`) }),
        ),
      );
      const ids = results.map((r) => r.task?.id ?? "");
      // Worker 1: 8 at a time, a drain grace shorter than some tasks will need once SIGTERM lands.
      const first = startCli(
        workerArgs(topic, target.url, ["--concurrency", "8", "--drain-seconds", "0"]),
      );
      await waitReady(first);
      await waitFor(() => target.requests.length >= 8, { description: "worker 1 busy" });
      first.child.kill("SIGTERM");
      expect(await first.exited).toBe(0);
      const second = startCli(workerArgs(topic, target.url, ["--concurrency", "16"]));
      await waitReady(second);
      const finished = await waitFor(
        async () => {
          const tasks = await Promise.all(ids.map((id) => client.get(id)));
          return tasks.every((t) => t.state === TaskState.TASK_STATE_SUCCEEDED) ? tasks : undefined;
        },
        { description: "all tasks succeeded", timeoutMs: 30_000 },
      );
      expect(finished).toHaveLength(total);
      // Handed-back tasks were redelivered at once (lease shortened), not after 30 s of timeout.
      expect(finished.every((t) => t.attempt <= 2)).toBe(true);
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);
      expect(first.stderr()).toMatch(/draining/);
    } finally {
      await target.close();
    }
  });
});
