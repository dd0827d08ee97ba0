/**
 * The `ddq` CLI against a running `ddq scheduler` process (real Redis, real sockets): client
 * commands with `-o json`, and exit codes as cli/exitCodes.ts defines them. Each spawn costs a
 * tsx start (~1 s), so independent commands run concurrently.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DdqClient } from "../../client/ddqClient.js";
import { EXIT } from "../../cli/exitCodes.js";
import { TaskSpec, TaskState } from "../../proto/gen/ddq/v1/task.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { freeLoopbackPort } from "../env/ports.js";
import { testScratchDir, useFreshRedisDatabase } from "../env/testContext.js";
import {
  killAllCli,
  runCli,
  startCli,
  waitReady,
  type CliProcess,
  LOOPBACK_LISTENERS,
} from "./support.js";

const TOKEN = "cli-test-token-0123456789";
const UNKNOWN_TASK = "01ARZ3NDEKTSV4RRFFQ69G5FAV-1";

let db: RedisDatabase;
let dir: string;
let scheduler: CliProcess;
let address: string;
let client: DdqClient;
let env: Record<string, string>;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  dir = testScratchDir("api-cli");
  const tokens = join(dir, "tokens.csv");
  writeFileSync(tokens, `${TOKEN},cli-tests\n`);
  scheduler = startCli([
    "scheduler",
    "--auth-tokens-file",
    tokens,
    ...LOOPBACK_LISTENERS,
    "--redis-url",
    db.url,
    "--prefix",
    "cli",
    "--shards",
    "4",
    "--log-format",
    "text",
  ]);
  const ready = await waitReady(scheduler);
  expect(ready.grpcPort).toEqual(expect.any(Number));
  address = `127.0.0.1:${String(ready.grpcPort)}`;
  client = new DdqClient({ address, token: TOKEN });
  // Client commands find the scheduler and the token in the environment.
  env = { DDQ_ADDRESS: address, DDQ_TOKEN: TOKEN };
});

afterAll(async () => {
  client.close();
  killAllCli();
  await db.close();
});

/** Runs `ddq <args>`; parses stdout as JSON when asked. */
async function ddq(
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ code: number | string; stdout: string; stderr: string; json: () => unknown }> {
  const result = await runCli(args, { ...env, ...extraEnv });
  return { ...result, json: () => JSON.parse(result.stdout) as unknown };
}

function expectExit(
  result: { code: number | string; stderr: string; stdout: string },
  code: number,
): void {
  expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code });
}

async function deadTask(topic: string): Promise<string> {
  await client.enqueue(TaskSpec.fromPartial({ topic, maxAttempts: 1 }));
  const [leased] = (await client.lease({ topics: [topic], max: 1, wait: { seconds: 5, nanos: 0 } }))
    .tasks;
  if (leased === undefined) throw new Error("nothing leased");
  await client.fail(leased.id, topic, leased.leaseToken, "broken", false);
  return leased.id;
}

async function succeededTask(topic: string): Promise<string> {
  await client.enqueue(TaskSpec.fromPartial({ topic }));
  const [leased] = (await client.lease({ topics: [topic], max: 1, wait: { seconds: 5, nanos: 0 } }))
    .tasks;
  if (leased === undefined) throw new Error("nothing leased");
  await client.ack([
    { id: leased.id, topic, leaseToken: leased.leaseToken, result: Buffer.alloc(0) },
  ]);
  return leased.id;
}

describe("ddq scheduler", () => {
  it("refuses to start without any authentication configured (exit 2, clear message)", async () => {
    const result = await ddq(["scheduler", "--grpc-listen", "127.0.0.1:0", "--redis-url", db.url]);
    expectExit(result, EXIT.usage);
    expect(result.stderr).toContain("no authentication configured");
    expect(result.stderr).toContain("--auth-tokens-file");
  });
});

describe("task commands", () => {
  it("enqueue, get, ls, cancel, watch with -o json; dead ls and dead requeue", async () => {
    const deadId = await deadTask("cli.dead");
    const doneId = await succeededTask("cli.done");
    const [enqueued, watched, deadList] = await Promise.all([
      ddq([
        "enqueue",
        "--topic",
        "cli.a",
        "--payload",
        "hello",
        "--delay",
        "1h",
        "--priority",
        "7",
        "--max-attempts",
        "3",
        "-o",
        "json",
      ]),
      ddq(["watch", "--from", "oldest", "--topic", "cli.dead", "--count", "3", "-o", "json"]),
      ddq(["dead", "ls", "--topic", "cli.dead", "-o", "json"]),
    ]);
    expectExit(enqueued, EXIT.ok);
    const created = enqueued.json() as { created: boolean; task: Record<string, unknown> };
    expect(created).toMatchObject({
      created: true,
      task: { topic: "cli.a", state: "TASK_STATE_SCHEDULED" },
    });
    const id = String(created.task.id);
    expect(id).toMatch(/^[0-9A-Z]{26}-\d+$/);

    expectExit(watched, EXIT.ok);
    const events = watched.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.map((e) => e.type)).toEqual([
      "EVENT_TYPE_READY",
      "EVENT_TYPE_LEASED",
      "EVENT_TYPE_DEAD",
    ]);
    expect(events.every((e) => e.taskId === deadId && e.topic === "cli.dead")).toBe(true);
    expect(events[0]?.eventId).toMatch(/^\d+:\d+-\d+\.\d+$/);

    expectExit(deadList, EXIT.ok);
    expect(deadList.json()).toMatchObject({
      tasks: [{ id: deadId, state: "TASK_STATE_DEAD", lastError: "broken" }],
    });

    const [got, listed, counts, cancelled, requeued] = await Promise.all([
      ddq(["get", id, "-o", "json"]),
      ddq(["ls", "--state", "scheduled", "--topic", "cli.a", "-o", "json"]),
      ddq(["ls", "-o", "json"]),
      ddq(["cancel", id, "-o", "json"]),
      ddq(["dead", "requeue", deadId, "-o", "json"]),
    ]);
    expectExit(got, EXIT.ok);
    expect(got.json()).toMatchObject({
      id,
      topic: "cli.a",
      priority: 7,
      maxAttempts: 3,
      payload: Buffer.from("hello").toString("base64"),
    });
    expectExit(listed, EXIT.ok);
    // `ls` and `cancel` ran concurrently: the task is listed unless the cancel came first.
    const listedIds = (listed.json() as { tasks: { id: string }[] }).tasks.map((t) => t.id);
    expect(listedIds.filter((t) => t !== id)).toEqual([]);
    expectExit(counts, EXIT.ok);
    expect(counts.json()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ topic: "cli.done", succeeded: 1 }),
        expect.objectContaining({ topic: "cli.dead" }),
      ]),
    );
    expectExit(cancelled, EXIT.ok);
    expect(cancelled.json()).toEqual({ id, outcome: "cancelled", state: "cancelled" });
    expectExit(requeued, EXIT.ok);
    expect(requeued.json()).toEqual([{ id: deadId, state: "ready", requeued: true }]);
    expect((await client.get(id)).state).toBe(TaskState.TASK_STATE_CANCELLED);
    expect((await client.get(deadId)).state).toBe(TaskState.TASK_STATE_READY);

    // Conflicts: a finished task cannot be cancelled, nor a task that is not dead requeued;
    // an idempotency key reused with another payload.
    await client.enqueue(
      TaskSpec.fromPartial({ topic: "cli.idem", idempotencyKey: "k1", payload: Buffer.from("1") }),
    );
    const [cancelAgain, cancelDone, requeueDone, idempotency] = await Promise.all([
      ddq(["cancel", id]),
      ddq(["cancel", doneId]),
      ddq(["dead", "requeue", doneId]),
      ddq(["enqueue", "--topic", "cli.idem", "--idempotency-key", "k1", "--payload", "2"]),
    ]);
    expectExit(cancelAgain, EXIT.ok);
    expect(cancelAgain.stdout.split("\n")[1]?.split(/\s+/)).toEqual([id, "unchanged", "cancelled"]);
    expectExit(cancelDone, EXIT.conflict);
    expect(cancelDone.stderr).toContain("cannot be cancelled");
    expectExit(requeueDone, EXIT.conflict);
    expectExit(idempotency, EXIT.conflict);
    expect(idempotency.stderr).toContain("already used");
  });
});

describe("cron commands", () => {
  it("apply, get, ls, pause, resume, trigger, preview", async () => {
    const file = join(dir, "schedule.json");
    writeFileSync(
      file,
      JSON.stringify({
        id: "cli-nightly",
        schedules: ["30 2 * * *"],
        timeZone: "Europe/Berlin",
        task: { topic: "cli.cron", payload: Buffer.from("{}").toString("base64") },
      }),
    );
    const applied = await ddq(["cron", "apply", "-f", file, "-o", "json"]);
    expectExit(applied, EXIT.ok);
    expect(applied.json()).toMatchObject({
      created: true,
      generation: expect.any(Number) as number,
    });

    const [got, listed, paused, preview] = await Promise.all([
      ddq(["cron", "get", "cli-nightly"]),
      ddq(["cron", "ls", "-o", "json"]),
      ddq(["cron", "pause", "cli-nightly"]),
      ddq(["cron", "preview", "cli-nightly", "--count", "3", "-o", "json"]),
    ]);
    expectExit(got, EXIT.ok);
    expect(got.json()).toMatchObject({
      spec: { id: "cli-nightly", schedules: ["30 2 * * *"], timeZone: "Europe/Berlin" },
      status: { generation: expect.any(Number) as number },
    });
    expectExit(listed, EXIT.ok);
    expect(listed.json()).toEqual([
      expect.objectContaining({ spec: expect.objectContaining({ id: "cli-nightly" }) as unknown }),
    ]);
    expectExit(paused, EXIT.ok);
    expect(paused.stdout).toContain("paused cli-nightly");
    expect((await client.getSchedule("cli-nightly")).schedule?.status?.suspended).toBe(true);
    expectExit(preview, EXIT.ok);
    const fires = preview.json() as { timeZone: string; fires: { localTime: string }[] };
    expect(fires.timeZone).toBe("Europe/Berlin");
    expect(fires.fires).toHaveLength(3);
    for (const fire of fires.fires) expect(fire.localTime).toMatch(/T02:30:00\+0[12]:00$/);

    const [resumed, triggered] = await Promise.all([
      ddq(["cron", "resume", "cli-nightly"]),
      ddq(["cron", "trigger", "cli-nightly", "-o", "json"]),
    ]);
    expectExit(resumed, EXIT.ok);
    expect((await client.getSchedule("cli-nightly")).schedule?.status?.suspended).toBe(false);
    expectExit(triggered, EXIT.ok);
    const occurrence = (triggered.json() as { occurrenceId: string }).occurrenceId;
    expect(occurrence).toMatch(/^cli-nightly:/);
    expect((await client.get(occurrence)).topic).toBe("cli.cron");
  });
});

describe("exit codes", () => {
  it("2 usage/invalid, 3 not found, 5 unavailable, 6 unauthenticated", async () => {
    const closedPort = await freeLoopbackPort();
    const [noTopic, badFlag, invalid, missing, missingCron, unreachable, noToken, wrongToken] =
      await Promise.all([
        ddq(["enqueue"]),
        ddq(["get", "x", "--no-such-flag"]),
        ddq(["enqueue", "--topic", "not a topic"]),
        ddq(["get", UNKNOWN_TASK]),
        ddq(["cron", "get", "no-such-schedule"]),
        ddq(["ls", "--address", `127.0.0.1:${closedPort}`]),
        ddq(["ls"], { DDQ_TOKEN: "" }),
        ddq(["ls", "--token", "wrong-token-0123456789"]),
      ]);
    expectExit(noTopic, EXIT.usage);
    expect(noTopic.stderr).toContain("--topic");
    expectExit(badFlag, EXIT.usage);
    expectExit(invalid, EXIT.usage);
    expect(invalid.stderr).toContain("task.topic");
    expectExit(missing, EXIT.notFound);
    expectExit(missingCron, EXIT.notFound);
    expectExit(unreachable, EXIT.unavailable);
    expectExit(noToken, EXIT.denied);
    expect(noToken.stderr).toContain("missing credentials");
    expectExit(wrongToken, EXIT.denied);
  });

  it("the scheduler stops cleanly on SIGTERM (exit 0)", async () => {
    scheduler.child.kill("SIGTERM");
    expect(await scheduler.exited).toBe(0);
  });
});
