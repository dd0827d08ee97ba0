/**
 * The RPCs a client author expects, through real servers (two replicas splitting the shards) and
 * Redis: DeleteDead, RescheduleTask, RunTaskNow, SetTaskPriority (forwarded to the shard's leader
 * like every single-shard write), ListTasks of every topic, PreviewSchedule of an unsaved spec.
 * Bad input names the field (INVALID_ARGUMENT), unknown ids are NOT_FOUND, wrong states
 * FAILED_PRECONDITION.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DdqClient } from "../../client/ddqClient.js";
import { DstGapPolicy, ScheduleSpec } from "../../proto/gen/ddq/v1/cron_service.js";
import { TaskSpec, TaskState } from "../../proto/gen/ddq/v1/task.js";
import { EventType } from "../../proto/gen/ddq/v1/task_service.js";
import { freeLoopbackPort } from "../env/ports.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { expectStatus, GrpcCode } from "./grpcCalls.js";
import { startTestApi, type TestApi } from "./support.js";

const HOUR_S = 3600;
const UNKNOWN_TASK = "01ARZ3NDEKTSV4RRFFQ69G5FAV-1";

let db: RedisDatabase;
let a: TestApi;
let b: TestApi;
let client: DdqClient;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  const prefix = `tc${randomBytes(3).toString("hex")}`;
  const [portA, portB] = [await freeLoopbackPort(), await freeLoopbackPort()];
  a = await startTestApi(
    db,
    { listen: `127.0.0.1:${portA}` },
    { prefix, advertiseAddress: `127.0.0.1:${portA}` },
  );
  b = await startTestApi(
    db,
    { listen: `127.0.0.1:${portB}` },
    { prefix, advertiseAddress: `127.0.0.1:${portB}` },
  );
  await waitFor(
    () => a.scheduler.ledShards().length === 2 && b.scheduler.ledShards().length === 2,
    { description: "shards split between the replicas" },
  );
  client = a.client();
});

afterAll(async () => {
  await a.close();
  await b.close();
  await db.close();
});

/** An idempotency key whose shard replica B leads: its task's writes through A are forwarded. */
function keyLedByB(label: string): string {
  for (let i = 0; ; i += 1) {
    const key = `${label}-${i}`;
    if (b.scheduler.leads(b.scheduler.shardOfIdempotencyKey(key))) return key;
  }
}

async function enqueueOnB(topic: string, delaySeconds = HOUR_S, label = topic): Promise<string> {
  const { task } = await client.enqueue(
    TaskSpec.fromPartial({
      topic,
      idempotencyKey: keyLedByB(label),
      maxAttempts: 1,
      due: { $case: "delay", value: { seconds: delaySeconds, nanos: 0 } },
    }),
  );
  expect(b.scheduler.leads(task?.shard ?? -1)).toBe(true);
  return task?.id ?? "";
}

describe("changing a task that has not been delivered yet", () => {
  it("reschedules, runs now and reprioritizes a task of another replica's shard", async () => {
    const id = await enqueueOnB("tc.change");
    const later = new Date(Date.now() + 2 * HOUR_S * 1000);
    const moved = await client.reschedule(id, later);
    expect(moved).toEqual({
      state: TaskState.TASK_STATE_SCHEDULED,
      dueTime: later,
      changed: true,
    });
    expect(await client.reschedule(id, later)).toMatchObject({ changed: false });
    expect(await client.setPriority(id, 12)).toEqual({
      state: TaskState.TASK_STATE_SCHEDULED,
      changed: true,
    });
    expect((await client.get(id)).priority).toBe(12);
    const ran = await client.runNow(id);
    expect(ran).toMatchObject({ state: TaskState.TASK_STATE_READY, changed: true });
    expect(Math.abs((ran.dueTime?.getTime() ?? 0) - Date.now())).toBeLessThan(10_000);
    expect(await client.runNow(id)).toMatchObject({
      state: TaskState.TASK_STATE_READY,
      changed: false,
    });
    await expectStatus(client.reschedule(id, { delayMs: 60_000 }), GrpcCode.FAILED_PRECONDITION);
    const { tasks } = await client.lease({ topics: ["tc.change"], max: 1 });
    expect(tasks[0]?.id).toBe(id);
    await expectStatus(client.runNow(id), GrpcCode.FAILED_PRECONDITION);
    await expectStatus(client.setPriority(id, 1), GrpcCode.FAILED_PRECONDITION);
  });

  it("records the changes as events on the task's stream", async () => {
    const stream = client.watchOnce({ start: "now" });
    const start = await stream.next();
    const positions: string[] = start.done === true ? [] : start.value.positions;
    await stream.return(undefined);
    const id = await enqueueOnB("tc.events");
    await client.reschedule(id, { delayMs: 2 * HOUR_S * 1000 });
    await client.setPriority(id, 3);
    await client.runNow(id);
    const types: EventType[] = [];
    const controller = new AbortController();
    for await (const event of client.watch({
      resumeAfter: positions,
      topics: ["tc.events"],
      signal: controller.signal,
    })) {
      types.push(event.type);
      if (types.length === 4) controller.abort();
    }
    expect(types).toEqual([
      EventType.EVENT_TYPE_SCHEDULED,
      EventType.EVENT_TYPE_RESCHEDULED,
      EventType.EVENT_TYPE_PRIORITY_CHANGED,
      EventType.EVENT_TYPE_READY,
    ]);
  });

  it("deletes one dead task; a resend answers deleted=false; a task not dead is refused", async () => {
    const id = await enqueueOnB("tc.dead", 0, "tc.dead");
    const { tasks } = await b
      .client()
      .lease({ topics: ["tc.dead"], max: 1, wait: { seconds: 5, nanos: 0 } });
    expect(tasks[0]?.id).toBe(id);
    await client.fail(id, "tc.dead", tasks[0]?.leaseToken ?? "", "boom", false);
    expect((await client.get(id)).state).toBe(TaskState.TASK_STATE_DEAD);
    expect(await client.deleteDead(id)).toEqual({ deleted: true });
    expect(await client.deleteDead(id)).toEqual({ deleted: false });
    await expectStatus(client.get(id), GrpcCode.NOT_FOUND);
    const waiting = await enqueueOnB("tc.dead", HOUR_S, "tc.dead.w");
    const refused = await expectStatus(client.deleteDead(waiting), GrpcCode.FAILED_PRECONDITION);
    expect(refused.message).toContain("is scheduled, not dead");
  });

  it("answers INVALID_ARGUMENT naming the field, NOT_FOUND for unknown ids", async () => {
    const id = await enqueueOnB("tc.bad");
    for (const bad of ["", "garbage", "01ARZ3NDEKTSV4RRFFQ69G5FAV-99"]) {
      await expectStatus(client.runNow(bad), GrpcCode.INVALID_ARGUMENT, "id");
      await expectStatus(client.deleteDead(bad), GrpcCode.INVALID_ARGUMENT, "id");
      await expectStatus(client.setPriority(bad, 1), GrpcCode.INVALID_ARGUMENT, "id");
      await expectStatus(client.reschedule(bad, new Date()), GrpcCode.INVALID_ARGUMENT, "id");
    }
    await expectStatus(client.setPriority(id, 1001), GrpcCode.INVALID_ARGUMENT, "priority");
    await expectStatus(client.setPriority(id, -1), GrpcCode.INVALID_ARGUMENT, "priority");
    await expectStatus(
      client.reschedule(id, { delayMs: -1000 }),
      GrpcCode.INVALID_ARGUMENT,
      "delay",
    );
    await expectStatus(
      client.reschedule(id, new Date(Date.now() + 1000 * 86_400_000)),
      GrpcCode.INVALID_ARGUMENT,
      "due_time",
    );
    await expectStatus(
      client.reschedule(id, { delayMs: 1000 * 86_400_000 }),
      GrpcCode.INVALID_ARGUMENT,
      "delay",
    );
    // No due at all.
    const noDue = new Promise((resolve, reject) => {
      client.tasks.rescheduleTask(
        { id, due: undefined },
        client.metadata(),
        { deadline: Date.now() + 10_000 },
        (error, response) => {
          if (error === null) resolve(response);
          else reject(error);
        },
      );
    });
    await expectStatus(noDue, GrpcCode.INVALID_ARGUMENT, "due_time");
    for (const call of [
      () => client.runNow(UNKNOWN_TASK),
      () => client.deleteDead(UNKNOWN_TASK),
      () => client.setPriority(UNKNOWN_TASK, 1),
      () => client.reschedule(UNKNOWN_TASK, { delayMs: 1 }),
    ]) {
      await expectStatus(call(), GrpcCode.NOT_FOUND);
    }
    expect((await client.get(id)).state).toBe(TaskState.TASK_STATE_SCHEDULED);
  });
});

describe("ListTasks of every topic", () => {
  it("lists ready tasks of every topic and shard, paged; tokens of another listing are refused", async () => {
    const ids: string[] = [];
    for (const topic of ["tl.a", "tl.b", "tl.c"]) {
      for (let i = 0; i < 3; i += 1) {
        const { task } = await client.enqueue(
          TaskSpec.fromPartial({ topic, idempotencyKey: `${topic}-${i}` }),
        );
        ids.push(task?.id ?? "");
      }
    }
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await client.list({ state: TaskState.TASK_STATE_READY, pageSize: 2, pageToken });
      expect(page.tasks.length).toBeLessThanOrEqual(2);
      seen.push(...page.tasks.filter((t) => t.topic.startsWith("tl.")).map((t) => t.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(seen.sort()).toEqual(ids.sort());
    const first = await client.list({ state: TaskState.TASK_STATE_READY, pageSize: 1 });
    await expectStatus(
      client.list({ state: TaskState.TASK_STATE_DEAD, pageToken: first.nextPageToken }),
      GrpcCode.INVALID_ARGUMENT,
      "page_token",
    );
    await expectStatus(
      client.list({
        state: TaskState.TASK_STATE_READY,
        topic: "tl.a",
        pageToken: first.nextPageToken,
      }),
      GrpcCode.INVALID_ARGUMENT,
      "page_token",
    );
  });
});

describe("ListTasks page tokens at their longest", () => {
  it("stay within the 512-character page token limit: a 128-character topic, a 200-character schedule id, priority 1000", async () => {
    const topic = `t${"x".repeat(127)}`;
    const id = `s${"y".repeat(199)}`;
    await client.upsertSchedule(
      ScheduleSpec.fromPartial({ id, schedules: ["@yearly"], task: { topic, priority: 1000 } }),
    );
    await client.triggerSchedule(id);
    await client.triggerSchedule(id);
    const first = await client.list({ state: TaskState.TASK_STATE_READY, topic, pageSize: 1 });
    expect(first.tasks[0]?.id.length).toBeGreaterThan(215);
    expect(first.nextPageToken).not.toBe("");
    const everyTopic: string[] = [];
    let pageToken = "";
    do {
      const page = await client.list({ state: TaskState.TASK_STATE_READY, pageSize: 1, pageToken });
      expect(page.nextPageToken.length).toBeLessThanOrEqual(512);
      everyTopic.push(...page.tasks.filter((t) => t.topic === topic).map((t) => t.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(everyTopic).toHaveLength(2);
    const second = await client.list({
      state: TaskState.TASK_STATE_READY,
      topic,
      pageSize: 1,
      pageToken: first.nextPageToken,
    });
    expect(second.tasks).toHaveLength(1);
    await client.deleteSchedule(id);
  });
});

describe("PreviewSchedule of a spec that is not saved", () => {
  const spec = (partial: Partial<ScheduleSpec>): ScheduleSpec =>
    ScheduleSpec.fromPartial({
      id: "preview-only",
      schedules: ["30 2 * * *"],
      timeZone: "Europe/Berlin",
      task: { topic: "reports" },
      ...partial,
    });

  it("computes the same fires as a stored schedule, from a given time, with the jitter offset", async () => {
    const from = new Date("2026-03-27T12:00:00Z");
    const unsaved = await client.previewSpec(
      spec({ jitter: { seconds: 600, nanos: 0 }, dstGap: DstGapPolicy.DST_GAP_POLICY_SKIP }),
      3,
      from,
    );
    expect(unsaved.timeZone).toBe("Europe/Berlin");
    // 2026-03-29 02:30 does not exist in Berlin (spring forward): skipped by the gap policy.
    expect(unsaved.fires.map((f) => f.localTime)).toEqual([
      "2026-03-28T02:30:00+01:00",
      "2026-03-30T02:30:00+02:00",
      "2026-03-31T02:30:00+02:00",
    ]);
    const offsets = unsaved.fires.map(
      (f) => (f.dueTime?.getTime() ?? 0) - (f.time?.getTime() ?? 0),
    );
    expect(new Set(offsets).size).toBe(1);
    expect(offsets[0]).toBeGreaterThanOrEqual(0);
    expect(offsets[0]).toBeLessThanOrEqual(600_000);
    // Nothing was saved; saving it previews the same.
    await expectStatus(client.getSchedule("preview-only"), GrpcCode.NOT_FOUND);
    await client.upsertSchedule(
      spec({ jitter: { seconds: 600, nanos: 0 }, dstGap: DstGapPolicy.DST_GAP_POLICY_SKIP }),
    );
    expect(await client.previewSchedule("preview-only", 3, from)).toEqual(unsaved);
    await client.deleteSchedule("preview-only");
  });

  it("validates the spec as UpsertSchedule does, and count, from_time and id", async () => {
    const cases: [ScheduleSpec, string][] = [
      [spec({ schedules: ["61 * * * *"] }), "spec.schedules[0]"],
      [spec({ schedules: [] }), "spec.schedules"],
      [spec({ timeZone: "Mars/Olympus" }), "spec.time_zone"],
      [spec({ id: "" }), "spec.id"],
      [spec({ task: { topic: "no spaces" } as ScheduleSpec["task"] }), "spec.task.topic"],
      [spec({ jitter: { seconds: 7200, nanos: 0 } }), "spec.jitter"],
      [spec({ maxBurst: 0 }), "spec.max_burst"],
    ];
    for (const [bad, field] of cases) {
      await expectStatus(client.previewSpec(bad), GrpcCode.INVALID_ARGUMENT, field);
      await expectStatus(client.upsertSchedule(bad), GrpcCode.INVALID_ARGUMENT, field);
    }
    await expectStatus(client.previewSpec(spec({}), 1001), GrpcCode.INVALID_ARGUMENT, "count");
    await expectStatus(client.previewSpec(spec({}), -1), GrpcCode.INVALID_ARGUMENT, "count");
    await expectStatus(
      client.previewSpec(spec({}), 1, new Date("+010000-01-01T00:00:00Z")),
      GrpcCode.INVALID_ARGUMENT,
      "from_time",
    );
    const both = new Promise((resolve, reject) => {
      client.cron.previewSchedule(
        { id: "x", count: 1, spec: spec({}) },
        client.metadata(),
        { deadline: Date.now() + 10_000 },
        (error, response) => {
          if (error === null) resolve(response);
          else reject(error);
        },
      );
    });
    await expectStatus(both, GrpcCode.INVALID_ARGUMENT, "id");
    await expectStatus(client.previewSchedule("never-saved"), GrpcCode.NOT_FOUND);
  });
});
