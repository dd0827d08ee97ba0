/**
 * `ddq reschedule`, `run-now`, `set-priority`, `dead delete`, `ls --state` of every topic and
 * `cron preview -f` against a running `ddq scheduler` process (real Redis, real sockets), with
 * the exit codes of cli/exitCodes.ts.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DdqClient } from "../../client/ddqClient.js";
import { EXIT } from "../../cli/exitCodes.js";
import { TaskSpec, TaskState } from "../../proto/gen/ddq/v1/task.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { testScratchDir, useFreshRedisDatabase } from "../env/testContext.js";
import { killAllCli, runCli, startCli, waitReady, LOOPBACK_LISTENERS } from "./support.js";

const TOKEN = "cli-change-token-0123456789";
const UNKNOWN_TASK = "01ARZ3NDEKTSV4RRFFQ69G5FAV-1";

let db: RedisDatabase;
let dir: string;
let client: DdqClient;
let env: Record<string, string>;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  dir = testScratchDir("api-cli-changes");
  const tokens = join(dir, "tokens.csv");
  writeFileSync(tokens, `${TOKEN},cli-tests\n`);
  const scheduler = startCli([
    "scheduler",
    "--auth-tokens-file",
    tokens,
    ...LOOPBACK_LISTENERS,
    "--redis-url",
    db.url,
    "--prefix",
    "clichg",
    "--shards",
    "4",
    "--log-format",
    "text",
  ]);
  const ready = await waitReady(scheduler);
  const address = `127.0.0.1:${String(ready.grpcPort)}`;
  client = new DdqClient({ address, token: TOKEN });
  env = { DDQ_ADDRESS: address, DDQ_TOKEN: TOKEN };
});

afterAll(async () => {
  client.close();
  killAllCli();
  await db.close();
});

async function ddq(
  args: string[],
): Promise<{ code: number | string; stdout: string; stderr: string; json: () => unknown }> {
  const result = await runCli(args, env);
  return { ...result, json: () => JSON.parse(result.stdout) as unknown };
}

function expectExit(result: { code: number | string; stderr: string }, code: number): void {
  expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code });
}

async function scheduledTask(topic: string): Promise<string> {
  const { task } = await client.enqueue(
    TaskSpec.fromPartial({ topic, due: { $case: "delay", value: { seconds: 3600, nanos: 0 } } }),
  );
  return task?.id ?? "";
}

describe("changing tasks from the command line", () => {
  it("reschedule, set-priority, run-now, ls of every topic", async () => {
    const [a, b] = [await scheduledTask("clic.a"), await scheduledTask("clic.b")];
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 + 7_200_000)
      .toISOString()
      .replace(".000Z", "Z");
    const [rescheduled, prioritized, listed] = await Promise.all([
      ddq(["reschedule", a, "--at", at, "-o", "json"]),
      ddq(["set-priority", b, "--priority", "9", "-o", "json"]),
      ddq(["ls", "--state", "scheduled", "-o", "json"]),
    ]);
    expectExit(rescheduled, EXIT.ok);
    expect(rescheduled.json()).toEqual({
      id: a,
      state: "scheduled",
      dueTime: at,
      changed: true,
    });
    expectExit(prioritized, EXIT.ok);
    expect(prioritized.json()).toEqual({ id: b, state: "scheduled", priority: 9, changed: true });
    expectExit(listed, EXIT.ok);
    const ids = (listed.json() as { tasks: { id: string }[] }).tasks.map((t) => t.id);
    expect(ids).toEqual(expect.arrayContaining([a, b]));

    const ran = await ddq(["run-now", a, b]);
    expectExit(ran, EXIT.ok);
    expect(ran.stdout).toMatch(/^ID\s+STATE\s+DUE\s+CHANGED\n/);
    expect(ran.stdout).toContain(`${a}  ready`);
    expect((await client.get(b)).state).toBe(TaskState.TASK_STATE_READY);

    const [again, badDelay, bothDue, unknown, priorityRange] = await Promise.all([
      ddq(["reschedule", a, "--delay", "1h"]),
      ddq(["reschedule", a, "--delay", "soon"]),
      ddq(["reschedule", a, "--delay", "1h", "--at", at]),
      ddq(["run-now", UNKNOWN_TASK]),
      ddq(["set-priority", a, "--priority", "5000"]),
    ]);
    expectExit(again, EXIT.conflict);
    expect(again.stderr).toContain("is ready");
    expectExit(badDelay, EXIT.usage);
    expectExit(bothDue, EXIT.usage);
    expectExit(unknown, EXIT.notFound);
    expectExit(priorityRange, EXIT.usage);
  });

  it("dead delete", async () => {
    await client.enqueue(TaskSpec.fromPartial({ topic: "clic.dead", maxAttempts: 1 }));
    const [leased] = (
      await client.lease({ topics: ["clic.dead"], max: 1, wait: { seconds: 5, nanos: 0 } })
    ).tasks;
    if (leased === undefined) throw new Error("nothing leased");
    await client.fail(leased.id, "clic.dead", leased.leaseToken, "broken", false);
    const deleted = await ddq(["dead", "delete", leased.id, "-o", "json"]);
    expectExit(deleted, EXIT.ok);
    expect(deleted.json()).toEqual([{ id: leased.id, deleted: true }]);
    const [again, notDead] = await Promise.all([
      ddq(["dead", "delete", leased.id]),
      ddq(["dead", "delete", await scheduledTask("clic.dead")]),
    ]);
    expectExit(again, EXIT.ok);
    expect(again.stdout).toMatch(/false\n$/);
    expectExit(notDead, EXIT.conflict);
    expect(notDead.stderr).toContain("not dead");
  });

  it("cron preview -f FILE previews a spec that is not saved; a bad spec names its field", async () => {
    const file = join(dir, "nightly.json");
    writeFileSync(
      file,
      JSON.stringify({
        id: "cli-nightly",
        schedules: ["30 2 * * *"],
        timeZone: "Europe/Berlin",
        task: { topic: "reports" },
      }),
    );
    const bad = join(dir, "bad.json");
    writeFileSync(
      bad,
      JSON.stringify({ id: "cli-bad", schedules: ["0 0 31 2 *"], task: { topic: "r" } }),
    );
    const [preview, json, invalid, missing, both] = await Promise.all([
      ddq(["cron", "preview", "-f", file, "--count", "2", "--from", "2026-11-21T12:00:00Z"]),
      ddq(["cron", "preview", "-f", file, "--count", "1", "-o", "json"]),
      ddq(["cron", "preview", "-f", bad]),
      ddq(["cron", "preview", "-f", join(dir, "missing.json")]),
      ddq(["cron", "preview", "cli-nightly", "-f", file]),
    ]);
    expectExit(preview, EXIT.ok);
    expect(preview.stdout).toBe(
      [
        "UTC                   LOCAL (Europe/Berlin)",
        "2026-11-22T01:30:00Z  2026-11-22T02:30:00+01:00",
        "2026-11-23T01:30:00Z  2026-11-23T02:30:00+01:00",
        "",
      ].join("\n"),
    );
    expectExit(json, EXIT.ok);
    expect(json.json()).toMatchObject({ timeZone: "Europe/Berlin", fires: [{}] });
    expectExit(invalid, EXIT.usage);
    expect(invalid.stderr).toContain("spec.schedules[0]");
    expectExit(missing, EXIT.usage);
    expect(missing.stderr).not.toContain("    at ");
    expectExit(both, EXIT.usage);
    await expect(client.getSchedule("cli-nightly")).rejects.toMatchObject({ code: 5 });
  });
});
