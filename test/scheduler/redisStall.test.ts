/**
 * Redis stalled behind a fault injector: a scheduler and its API server talk to a real
 * redis-server through toxiproxy (pinned, built from its Go module), whose connections are frozen
 * for 6 s and for 15 s (`timeout` toxics with timeout 0 both ways: no byte passes, connections
 * stay open, as with a frozen network or server). Cron schedules `@every 1s` and delayed tasks run
 * across the stall. Asserted:
 *   - calls made during the stall, of every kind, answer UNAVAILABLE with RetryInfo within their
 *     deadline (never INTERNAL, never a silent wait), a watch open when it starts ends so, and
 *     readiness is NOT_SERVING while liveness stays SERVING;
 *   - no cron slot is recorded missed before it has come (by the time Redis recorded it);
 *   - after recovery every slot fires (catch-up All: every slot at all; Latest: every slot due
 *     after recovery), every task runs, none is delivered again after its ack was confirmed.
 */
import { status as GrpcCode } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DdqClient } from "../../client/ddqClient.js";
import { CatchUpMode, ScheduleSpec } from "../../proto/gen/ddq/v1/cron_service.js";
import { TaskSpec, TaskState } from "../../proto/gen/ddq/v1/task.js";
import { DEFAULT_LEASE_TIMING } from "../../scheduler/leadership/leaseBackend.js";
import { healthCheck, NOT_SERVING, SERVING } from "../env/grpcHealth.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { testScratchDir, useFreshRedisDatabase } from "../env/testContext.js";
import { ToxiproxyServer, type Proxy } from "../env/toxiproxy.js";
import { waitFor } from "../env/waitFor.js";
import { startTestApi, type TestApi } from "../api/support.js";
import { occurrenceSlot, outcomeOf, startConsumer, type CallOutcome } from "./stallSupport.js";

const SHARDS = 4;
/** Deadline of the calls made during the stall. */
const CALL_DEADLINE_MS = 4_000;
const THREE_SECONDS = { seconds: 3, nanos: 0 };

let db: RedisDatabase;
let toxiproxy: ToxiproxyServer;
let proxy: Proxy;
let api: TestApi;
let client: DdqClient;
/** Calls with a short deadline (those made during the stall). */
let hurried: DdqClient;
let healthAddress: string;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  toxiproxy = await ToxiproxyServer.start(testScratchDir("toxiproxy"));
  proxy = await toxiproxy.createProxy("redis", new URL(db.url).host);
  // Production lease timing: a 6 s stall does not cost the shards their leader.
  api = await startTestApi(
    { url: `redis://${proxy.listen}/${db.db}` },
    { healthListen: "127.0.0.1:0" },
    { shardCount: SHARDS, leaseTiming: DEFAULT_LEASE_TIMING },
  );
  client = api.client();
  hurried = api.client({ timeoutMs: CALL_DEADLINE_MS });
  healthAddress = `127.0.0.1:${api.server.healthPort}`;
}, 60_000);

afterAll(async () => {
  await proxy.unstall().catch(() => undefined);
  await api.close();
  await toxiproxy.stop();
  await db.close();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

function expectUnavailable(name: string, outcome: CallOutcome, deadlineMs: number): void {
  expect({ name, code: GrpcCode[outcome.code], message: outcome.message }).toMatchObject({
    name,
    code: "UNAVAILABLE",
  });
  expect(outcome.retryAfterMs, `${name}: RetryInfo`).toBe(1_000);
  expect(outcome.elapsedMs, `${name}: answered within its deadline`).toBeLessThan(deadlineMs);
}

describe.each([6_000, 15_000])("Redis stalled for %i ms", (stallMs) => {
  it("calls answer UNAVAILABLE, no future slot is recorded missed, nothing is lost", async () => {
    const tag = `s${stallMs / 1000}`;
    const cronTopic = `stall.${tag}.cron`;
    const taskTopic = `stall.${tag}.tasks`;
    const heldTopic = `stall.${tag}.held`;
    // Latest schedules on every shard (each shard has its own firing loop and clock estimate).
    const latest: string[] = [];
    const covered = new Set<number>();
    for (let i = 0; covered.size < SHARDS; i += 1) {
      const id = `${tag}-latest-${i}`;
      if (covered.has(api.scheduler.cron.shardOf(id))) continue;
      covered.add(api.scheduler.cron.shardOf(id));
      latest.push(id);
    }
    const all = [0, 1].map((i) => `${tag}-all-${i}`);
    const spec = (id: string, catchUp: CatchUpMode): ScheduleSpec =>
      ScheduleSpec.fromPartial({
        id,
        schedules: ["@every 1s"],
        catchUp,
        maxBurst: 100,
        missedHistoryLimit: 100,
        task: { topic: cronTopic, leaseTimeout: THREE_SECONDS },
      });
    for (const id of latest)
      await client.upsertSchedule(spec(id, CatchUpMode.CATCH_UP_MODE_LATEST));
    for (const id of all) await client.upsertSchedule(spec(id, CatchUpMode.CATCH_UP_MODE_ALL));
    const consumer = startConsumer(client, [cronTopic, taskTopic]);
    const slotsOf = (scheduleId: string): Set<number> => {
      const slots = new Set<number>();
      for (const id of consumer.deliveries.keys()) {
        const occurrence = occurrenceSlot(id);
        if (occurrence?.scheduleId === scheduleId) slots.add(occurrence.slotMs);
      }
      return slots;
    };
    try {
      // Before the stall: tasks due during it (with keys: resending is safe), a task leased to
      // be acked during it, and a watch that is open when it starts.
      const keyed = await client.enqueueBatch(
        Array.from({ length: 20 }, (_, i) =>
          TaskSpec.fromPartial({
            topic: taskTopic,
            idempotencyKey: `${tag}-before-${i}`,
            due: { $case: "delay", value: { seconds: 1 + (i % 5), nanos: 0 } },
            leaseTimeout: THREE_SECONDS,
          }),
        ),
      );
      await client.enqueue(TaskSpec.fromPartial({ topic: heldTopic }));
      const [held] = (
        await client.lease({
          topics: [heldTopic],
          max: 1,
          wait: { seconds: 5, nanos: 0 },
          leaseTimeout: { seconds: 120, nanos: 0 },
        })
      ).tasks;
      if (held === undefined) throw new Error("no task to hold");
      await waitFor(() => [...latest, ...all].every((id) => slotsOf(id).size >= 2), {
        description: "every schedule to fire before the stall",
        timeoutMs: 30_000,
      });
      const watchBefore = outcomeOf(async () => {
        for await (const batch of client.watchOnce({ topics: [cronTopic] }))
          expect(batch).toBeDefined();
      });
      await sleep(300);

      // The stall begins 700 ms past a whole second (the slots' instants): after each shard's
      // schedule pass, which creates the next slot's occurrence 500-750 ms ahead, and before the
      // task pass that makes it ready at the slot. So each shard's firing loop has a call (with
      // the Redis time in its answer) held through the stall before its schedule loop has one:
      // the order in which an estimate of Redis's clock taken from that answer jumped ahead by
      // the stall's length, and the schedule loop then planned with it.
      await sleep(1_700 - (Date.now() % 1_000));
      const stallStart = Date.now();
      await proxy.stall();
      // A call made as the stall begins waits for it to be noticed, not for its deadline.
      expectUnavailable(
        "GetTask (stall begins)",
        await outcomeOf(() => hurried.get(held.id)),
        CALL_DEADLINE_MS,
      );
      expectUnavailable("WatchEvents (open)", await watchBefore, stallMs);
      await waitFor(async () => (await healthCheck(healthAddress)).status === NOT_SERVING, {
        description: "readiness NOT_SERVING during the stall",
        timeoutMs: 5_000,
      });
      expect(await healthCheck(healthAddress, "liveness")).toEqual({
        code: GrpcCode.OK,
        status: SERVING,
      });
      const calls: Record<string, () => Promise<unknown>> = {
        Enqueue: () =>
          hurried.enqueue(
            TaskSpec.fromPartial({ topic: taskTopic, idempotencyKey: `${tag}-during` }),
          ),
        GetTask: () => hurried.get(keyed.results[0]?.task?.id ?? ""),
        ListTasks: () => hurried.list({ state: TaskState.TASK_STATE_SCHEDULED, topic: taskTopic }),
        CountTasks: () => hurried.counts(taskTopic),
        UpsertSchedule: () =>
          hurried.upsertSchedule(spec(`${tag}-during`, CatchUpMode.CATCH_UP_MODE_LATEST)),
        GetSchedule: () => hurried.getSchedule(latest[0] ?? ""),
        ListSchedules: () => hurried.listSchedules(),
        TriggerSchedule: () => hurried.triggerSchedule(all[0] ?? "", `${tag}-trigger`),
        Lease: () => hurried.lease({ topics: [taskTopic], max: 1, wait: { seconds: 1, nanos: 0 } }),
        Extend: () => hurried.extend(held.id, heldTopic, held.leaseToken, 60_000),
        Ack: () =>
          hurried.ack([
            {
              id: held.id,
              topic: heldTopic,
              leaseToken: held.leaseToken,
              result: Buffer.alloc(0),
            },
          ]),
        WatchEvents: async () => {
          for await (const batch of hurried.watchOnce({})) expect(batch).toBeDefined();
        },
      };
      for (const [name, call] of Object.entries(calls)) {
        const deadline = name === "Lease" ? CALL_DEADLINE_MS + 1_000 : CALL_DEADLINE_MS;
        expectUnavailable(name, await outcomeOf(call), deadline);
      }
      expect(Date.now() - stallStart, "the calls were made during the stall").toBeLessThan(stallMs);

      await sleep(stallStart + stallMs - Date.now());
      await proxy.unstall();
      await waitFor(async () => (await healthCheck(healthAddress)).status === SERVING, {
        description: "readiness SERVING after the stall",
        timeoutMs: 30_000,
      });
      await waitFor(() => api.scheduler.ledShards().length === SHARDS, {
        description: "every shard led again",
        timeoutMs: 60_000,
      });
      const recoveredAt = Date.now();
      // Resending what was answered UNAVAILABLE is safe (and retried while leadership settles:
      // a shard may change epoch right after a long stall, answering UNAVAILABLE meanwhile).
      await waitFor(
        async () =>
          (
            await client.enqueue(
              TaskSpec.fromPartial({ topic: taskTopic, idempotencyKey: `${tag}-during` }),
            )
          ).task !== undefined,
        { description: "the enqueue refused during the stall to be accepted", timeoutMs: 30_000 },
      );
      await waitFor(
        async () => {
          const { results } = await client.ack([
            { id: held.id, topic: heldTopic, leaseToken: held.leaseToken, result: Buffer.alloc(0) },
          ]);
          const code = results[0]?.code;
          if (code !== GrpcCode.OK && code !== GrpcCode.UNAVAILABLE)
            throw new Error(`ack of the held task: code ${String(code)} ${results[0]?.message}`);
          return code === GrpcCode.OK;
        },
        { description: "the ack refused during the stall to be recorded", timeoutMs: 30_000 },
      );

      // Slots due after recovery: every one fires.
      const checkedUntil = recoveredAt + 9_000;
      await sleep(checkedUntil + 1_000 - Date.now());
      await waitFor(
        () =>
          keyed.results.every((r) => consumer.acked.has(r.task?.id ?? "")) &&
          [...latest, ...all].every((id) => Math.max(...slotsOf(id)) >= checkedUntil),
        {
          description: "the tasks and the slots up to the check to be delivered",
          timeoutMs: 30_000,
        },
      );
      await consumer.stop();

      for (const id of [...latest, ...all]) {
        const status = (await client.getSchedule(id)).schedule?.status;
        // Redis recorded each missed slot at `time`: it must have come by then.
        for (const entry of status?.missedHistory ?? []) {
          const slot = entry.scheduledTime?.getTime() ?? 0;
          const recorded = entry.time?.getTime() ?? 0;
          expect(
            {
              id,
              slot: new Date(slot).toISOString(),
              recorded: new Date(recorded).toISOString(),
              reason: entry.reason,
            },
            "a slot recorded missed before it had come",
          ).toSatisfy(() => slot <= recorded);
        }
        const slots = slotsOf(id);
        const from = all.includes(id)
          ? Math.min(...slots)
          : Math.ceil((recoveredAt + 1_500) / 1_000) * 1_000;
        for (let slot = from; slot <= checkedUntil; slot += 1_000) {
          expect({ id, slot: new Date(slot).toISOString(), fired: slots.has(slot) }).toMatchObject({
            fired: true,
          });
        }
        if (all.includes(id))
          expect(status?.missed ?? 0, `${id}: catch-up All misses none`).toBe(0);
      }
      for (const result of keyed.results) {
        expect((await client.get(result.task?.id ?? "")).state).toBe(
          TaskState.TASK_STATE_SUCCEEDED,
        );
      }
      expect(consumer.duplicates).toEqual([]);
      // The consumer's calls that failed during the stall failed UNAVAILABLE, nothing else.
      expect([...consumer.errors.keys()].map((code) => GrpcCode[code])).toSatisfy(
        (codes: string[]) => codes.every((code) => code === "UNAVAILABLE"),
      );
    } finally {
      await consumer.stop();
      await proxy.unstall().catch(() => undefined);
    }
  }, 240_000);
});
