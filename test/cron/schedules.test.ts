import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isDdqError } from "../../scheduler/engine/errors.js";
import { parseOccurrenceId } from "../../scheduler/engine/taskId.js";
import type { CronScheduleSpec } from "../../scheduler/cron/cronSpec.js";
import type { Scheduler } from "../../scheduler/scheduler.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { startTestScheduler } from "../scheduler/support.js";

let db: RedisDatabase;
let scheduler: Scheduler;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
});
afterAll(async () => {
  await db.close();
});
afterEach(async () => {
  await scheduler.stop();
});

const everySecond = (id: string, extra: Partial<CronScheduleSpec> = {}): CronScheduleSpec => ({
  id,
  timing: { schedules: ["* * * * * *"] },
  task: { topic: `cron-${id}`, payload: Buffer.from(id), leaseTimeoutMs: 30_000 },
  ...extra,
});

describe("cron schedules on a real redis-server", () => {
  it("fires one occurrence per slot with a deterministic id, and records the outcome", async () => {
    scheduler = await startTestScheduler(db);
    const { created, nextScheduleTimeMs } = await scheduler.cron.upsert(everySecond("tick"));
    expect(created).toBe(true);
    const first = await scheduler.lease({ topics: ["cron-tick"], max: 1, waitMs: 30_000 });
    const occurrence = parseOccurrenceId(first[0]?.id ?? "");
    expect(occurrence?.scheduleId).toBe("tick");
    expect(occurrence?.slotMs).toBe(nextScheduleTimeMs);
    expect((occurrence?.slotMs ?? 1) % 1000).toBe(0);
    await scheduler.ack(first[0]?.id ?? "", "cron-tick", first[0]?.leaseToken ?? "");
    const second = await scheduler.lease({ topics: ["cron-tick"], max: 1, waitMs: 30_000 });
    expect(parseOccurrenceId(second[0]?.id ?? "")?.slotMs).toBe((occurrence?.slotMs ?? 0) + 1000);
    const status = await scheduler.cron.get("tick");
    expect(status.runs).toBeGreaterThanOrEqual(2);
    expect(status.lastSuccessfulTimeMs).toBeGreaterThan(0);
    expect(status.history.succeeded[0]).toMatchObject({
      id: first[0]?.id,
      outcome: "succeeded",
      slot: occurrence?.slotMs,
    });
    expect(status.nextScheduleTimeMs).toBeGreaterThan(occurrence?.slotMs ?? 0);
  });

  it("Forbid skips slots while an occurrence runs, recording why; trigger-now is refused", async () => {
    scheduler = await startTestScheduler(db);
    await scheduler.cron.upsert(everySecond("forbid", { concurrencyPolicy: "Forbid" }));
    const [running] = await scheduler.lease({ topics: ["cron-forbid"], max: 1, waitMs: 30_000 });
    await waitFor(async () => (await scheduler.cron.get("forbid")).skipped >= 2, {
      description: "two slots to be skipped",
      timeoutMs: 30_000,
    });
    const status = await scheduler.cron.get("forbid");
    expect(status.runs).toBe(1);
    expect(status.history.missed[0]?.outcome).toBe("skipped");
    expect(status.history.missed[0]?.reason).toContain("still running");
    await expect(scheduler.cron.trigger("forbid")).rejects.toSatisfy((e) =>
      isDdqError(e, "FAILED_PRECONDITION"),
    );
    // Once it finishes, the next slot fires again.
    await scheduler.ack(running?.id ?? "", "cron-forbid", running?.leaseToken ?? "");
    const [next] = await scheduler.lease({ topics: ["cron-forbid"], max: 1, waitMs: 30_000 });
    expect(parseOccurrenceId(next?.id ?? "")?.scheduleId).toBe("forbid");
    expect((await scheduler.cron.get("forbid")).runs).toBe(2);
  });

  it("a trigger refused under Forbid records nothing: no skipped slot, no history", async () => {
    scheduler = await startTestScheduler(db);
    // Its own slots are a year away: only the triggers act on it.
    await scheduler.cron.upsert({
      ...everySecond("forbid-trigger", { concurrencyPolicy: "Forbid" }),
      timing: { schedules: ["@yearly"] },
    });
    const { occurrenceId } = await scheduler.cron.trigger("forbid-trigger");
    await expect(scheduler.cron.trigger("forbid-trigger")).rejects.toSatisfy((e) =>
      isDdqError(e, "FAILED_PRECONDITION"),
    );
    const status = await scheduler.cron.get("forbid-trigger");
    expect(status.skipped).toBe(0);
    expect(status.history.missed).toEqual([]);
    expect(status.runs).toBe(1);
    expect(status.active).toEqual([occurrenceId]);
  });

  it("Replace asks the running occurrence to stop and starts the new one", async () => {
    scheduler = await startTestScheduler(db);
    await scheduler.cron.upsert(everySecond("replace", { concurrencyPolicy: "Replace" }));
    const [old] = await scheduler.lease({ topics: ["cron-replace"], max: 1, waitMs: 30_000 });
    const [replacement] = await scheduler.lease({
      topics: ["cron-replace"],
      max: 1,
      waitMs: 30_000,
    });
    expect(replacement?.id).not.toBe(old?.id);
    const beat = await scheduler.extend(
      old?.id ?? "",
      "cron-replace",
      old?.leaseToken ?? "",
      30_000,
    );
    expect(beat.cancelRequested).toBe(true);
  });

  it("a resent trigger (same request id) answers the first occurrence and runs nothing more", async () => {
    scheduler = await startTestScheduler(db);
    await scheduler.cron.upsert({ ...everySecond("resend"), timing: { schedules: ["0 0 1 1 *"] } });
    const t0 = Date.now();
    const first = await scheduler.cron.trigger("resend", { requestId: "r-1", nowMs: t0 });
    const resent = await scheduler.cron.trigger("resend", { requestId: "r-1", nowMs: t0 + 1_000 });
    expect(resent.occurrenceId).toBe(first.occurrenceId);
    expect(parseOccurrenceId(first.occurrenceId)?.slotMs).toBe(t0);
    const other = await scheduler.cron.trigger("resend", { requestId: "r-2", nowMs: t0 - 1 });
    expect(other.occurrenceId).not.toBe(first.occurrenceId);
    expect((await scheduler.cron.get("resend")).runs).toBe(2);
    const leased = await scheduler.lease({ topics: ["cron-resend"], max: 10, waitMs: 30_000 });
    expect(leased.map((t) => t.id).sort()).toEqual([first.occurrenceId, other.occurrenceId].sort());
    await expect(
      scheduler.cron.trigger("resend", { requestId: "x".repeat(129) }),
    ).rejects.toSatisfy((e) => isDdqError(e, "INVALID_ARGUMENT"));
    // A request id is the schedule's: the same one on another schedule of the same shard runs
    // that schedule.
    let neighbour = "resend-0";
    for (let i = 1; scheduler.cron.shardOf(neighbour) !== scheduler.cron.shardOf("resend"); i += 1)
      neighbour = `resend-${i}`;
    await scheduler.cron.upsert({
      ...everySecond(neighbour),
      timing: { schedules: ["0 0 1 1 *"] },
    });
    const elsewhere = await scheduler.cron.trigger(neighbour, { requestId: "r-1", nowMs: t0 });
    expect(parseOccurrenceId(elsewhere.occurrenceId)?.scheduleId).toBe(neighbour);
    const [run] = await scheduler.lease({ topics: [`cron-${neighbour}`], max: 1, waitMs: 30_000 });
    expect(run?.id).toBe(elsewhere.occurrenceId);
  });

  it("trigger-now creates a manual occurrence under Allow, and pause/resume stop and restart slots", async () => {
    scheduler = await startTestScheduler(db);
    await scheduler.cron.upsert({ ...everySecond("manual"), timing: { schedules: ["0 0 1 1 *"] } });
    const { occurrenceId } = await scheduler.cron.trigger("manual");
    expect(parseOccurrenceId(occurrenceId)).toMatchObject({ scheduleId: "manual", manual: true });
    const [leased] = await scheduler.lease({ topics: ["cron-manual"], max: 1, waitMs: 30_000 });
    expect(leased?.id).toBe(occurrenceId);

    await scheduler.cron.upsert(everySecond("paused"));
    await scheduler.cron.setSuspended("paused", true);
    const runsAtPause = (await scheduler.cron.get("paused")).runs;
    await new Promise((r) => setTimeout(r, 2_200));
    expect((await scheduler.cron.get("paused")).runs).toBe(runsAtPause);
    await scheduler.cron.setSuspended("paused", false);
    await waitFor(async () => (await scheduler.cron.get("paused")).runs > runsAtPause, {
      description: "the resumed schedule to fire",
      timeoutMs: 30_000,
    });
  });

  it("previews fire times in UTC and in the schedule's zone, across a DST change", async () => {
    scheduler = await startTestScheduler(db);
    await scheduler.cron.upsert({
      id: "preview",
      timing: { schedules: ["30 2 * * *"], timeZone: "America/New_York" },
      task: { topic: "cron-preview" },
    });
    const { timeZone, fires } = await scheduler.cron.preview(
      "preview",
      3,
      Date.parse("2027-03-12T12:00:00Z"),
    );
    expect(timeZone).toBe("America/New_York");
    expect(fires.map((f) => f.utc)).toEqual([
      "2027-03-13T07:30:00.000Z",
      "2027-03-14T07:00:00.000Z", // 02:30 does not exist: shifted to the transition (03:00 EDT)
      "2027-03-15T06:30:00.000Z",
    ]);
    expect(fires[1]?.wallClock).toBe("2027-03-14T03:00:00-04:00");
  });

  it("an edit never fires a spurious run nor drops the next slot", async () => {
    scheduler = await startTestScheduler(db);
    // Suspended throughout, so that only the edits can create occurrences.
    const spec: CronScheduleSpec = {
      id: "edit",
      timing: { schedules: ["*/10 * * * * *"] },
      suspend: true,
      task: { topic: "cron-edit" },
    };
    const first = await scheduler.cron.upsert(spec);
    // Same timing, new payload: the next slot stays, nothing fires.
    const again = await scheduler.cron.upsert({
      ...spec,
      task: { topic: "cron-edit", payload: Buffer.from("v2") },
    });
    expect(again).toMatchObject({ created: false, nextScheduleTimeMs: first.nextScheduleTimeMs });
    // A new timing: its first slot after now; no run at edit time.
    const edited = await scheduler.cron.upsert({ ...spec, timing: { schedules: ["0 0 1 1 *"] } });
    expect(edited.nextScheduleTimeMs).toBe(Date.UTC(new Date().getUTCFullYear() + 1, 0, 1));
    expect((await scheduler.cron.get("edit")).runs).toBe(0);
    // An overdue next slot that is still a slot of the edited timing is kept, not dropped.
    await scheduler.cron.upsert({ ...spec, suspend: true });
    const overdue = Math.floor(Date.now() / 10_000) * 10_000 - 20_000;
    await db.client.hset(
      `${scheduler.prefix}:{${scheduler.cron.shardOf("edit")}}:cron:edit`,
      "next",
      overdue,
    );
    const kept = await scheduler.cron.upsert({
      ...spec,
      suspend: true,
      task: { topic: "cron-edit", priority: 1 },
    });
    expect(kept.nextScheduleTimeMs).toBe(overdue);
    expect((await scheduler.cron.get("edit")).spec.task.priority).toBe(1);
  });

  it("spreads fires by a fixed jitter offset per schedule", async () => {
    scheduler = await startTestScheduler(db);
    const offset = scheduler.cron.jitterOffset("jittery", 800);
    expect(offset).toBe(scheduler.cron.jitterOffset("jittery", 800));
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(offset).toBeLessThanOrEqual(800);
    const offsets = new Set(
      Array.from({ length: 50 }, (_, i) => scheduler.cron.jitterOffset(`s${i}`, 800)),
    );
    expect(offsets.size).toBeGreaterThan(40);
    await scheduler.cron.upsert({ ...everySecond("jittery"), jitterMs: 800 });
    const [leased] = await scheduler.lease({ topics: ["cron-jittery"], max: 1, waitMs: 30_000 });
    const task = await scheduler.get(leased?.id ?? "");
    expect(task.dueAtMs - (parseOccurrenceId(task.id)?.slotMs ?? 0)).toBe(offset);
  });

  it("deletes a schedule and lists the others", async () => {
    scheduler = await startTestScheduler(db);
    await scheduler.cron.upsert({ ...everySecond("keep"), suspend: true });
    await scheduler.cron.upsert({ ...everySecond("drop"), suspend: true });
    expect(await scheduler.cron.list()).toEqual(expect.arrayContaining(["drop", "keep"]));
    expect(await scheduler.cron.delete("drop")).toBe(true);
    expect(await scheduler.cron.list()).not.toContain("drop");
    await expect(scheduler.cron.get("drop")).rejects.toSatisfy((e) => isDdqError(e, "NOT_FOUND"));
    // A resent delete is not an error: it answers that nothing was deleted.
    expect(await scheduler.cron.delete("drop")).toBe(false);
  });

  it("a schedule deleted and created again runs its new spec (generations never repeat)", async () => {
    scheduler = await startTestScheduler(db);
    await scheduler.cron.upsert({ ...everySecond("reborn"), task: { topic: "cron-old" } });
    await scheduler.lease({ topics: ["cron-old"], max: 1, waitMs: 30_000 });
    const before = (await scheduler.cron.get("reborn")).generation;
    await scheduler.cron.delete("reborn");
    await scheduler.cron.upsert({ ...everySecond("reborn"), task: { topic: "cron-new" } });
    expect((await scheduler.cron.get("reborn")).generation).toBeGreaterThan(before);
    const [occurrence] = await scheduler.lease({ topics: ["cron-new"], max: 1, waitMs: 30_000 });
    expect(parseOccurrenceId(occurrence?.id ?? "")?.scheduleId).toBe("reborn");
  });

  it("maxRuns counts occurrences really created: a slot skipped by Forbid does not end the schedule", async () => {
    scheduler = await startTestScheduler(db);
    await scheduler.cron.upsert(
      everySecond("limited", { concurrencyPolicy: "Forbid", maxRuns: 2 }),
    );
    const [first] = await scheduler.lease({ topics: ["cron-limited"], max: 1, waitMs: 30_000 });
    await waitFor(async () => (await scheduler.cron.get("limited")).skipped >= 1, {
      description: "a skipped slot",
    });
    expect((await scheduler.cron.get("limited")).nextScheduleTimeMs).toBeDefined();
    await scheduler.ack(first?.id ?? "", "cron-limited", first?.leaseToken ?? "");
    await waitFor(async () => (await scheduler.cron.get("limited")).runs === 2, {
      description: "the second run",
    });
    const done = await scheduler.cron.get("limited");
    expect(done.nextScheduleTimeMs).toBeUndefined();
  });

  it("rejects bad schedules with the field at fault", async () => {
    scheduler = await startTestScheduler(db);
    const field = async (spec: CronScheduleSpec): Promise<string | undefined> => {
      try {
        await scheduler.cron.upsert(spec);
      } catch (error) {
        if (isDdqError(error, "INVALID_ARGUMENT")) return error.field;
        throw error;
      }
      return undefined;
    };
    const base = everySecond("bad");
    expect(await field({ ...base, timing: { schedules: ["61 * * * *"] } })).toBe("schedules[0]");
    expect(await field({ ...base, timing: { schedules: ["0 0 30 2 *"] } })).toBe("schedules[0]");
    expect(
      await field({ ...base, timing: { schedules: ["* * * * *"], timeZone: "Mars/Olympus" } }),
    ).toBe("timeZone");
    expect(
      await field({
        ...base,
        timing: { schedules: ["* * * * *"], startAt: 2_000_000_000_000, endAt: 1_000_000_000_000 },
      }),
    ).toBe("endAt");
    expect(await field({ ...base, id: "no spaces allowed" })).toBe("id");
    expect(await field({ ...base, concurrencyPolicy: "Sometimes" as "Allow" })).toBe(
      "concurrencyPolicy",
    );
    expect(await field({ ...base, task: { topic: "" } })).toBe("task.topic");
    await expect(scheduler.cron.get("never-created")).rejects.toSatisfy((e) =>
      isDdqError(e, "NOT_FOUND"),
    );
  });
});

describe("missed slots after downtime", () => {
  // Every minute; the stored next slot is moved 9 minutes back, as if the scheduler had been down:
  // 10 slots are overdue. No further slot comes during the test.
  async function afterDowntime(
    extra: Partial<CronScheduleSpec>,
  ): Promise<Awaited<ReturnType<Scheduler["cron"]["get"]>>> {
    const id = `down-${extra.catchUp ?? "default"}-${extra.startingDeadlineSeconds ?? "none"}`;
    scheduler = await startTestScheduler(db);
    await scheduler.cron.upsert({
      id,
      timing: { schedules: ["* * * * *"] },
      task: { topic: `cron-${id}` },
      suspend: true,
      ...extra,
    });
    // In a minute's first half: an Allow schedule creates the coming slot up to 1 s ahead, and
    // these counts are about the overdue slots only, so the rest of this helper must end within
    // the same minute; 30 s leave room for a loaded machine.
    if (Date.now() % 60_000 > 30_000)
      await new Promise((r) => setTimeout(r, 60_000 - (Date.now() % 60_000) + 50));
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const key = `${scheduler.prefix}:{${scheduler.cron.shardOf(id)}}:cron:${id}`;
    await db.client.hset(key, "next", minute - 9 * 60_000, "fireAt", minute - 9 * 60_000);
    await scheduler.cron.setSuspended(id, false);
    await waitFor(
      async () => ((await scheduler.cron.get(id)).nextScheduleTimeMs ?? 0) > Date.now(),
      {
        description: "the overdue slots to be handled",
      },
    );
    return scheduler.cron.get(id);
  }

  it("Latest (default) runs only the most recent overdue slot and records the others as missed", async () => {
    const status = await afterDowntime({});
    expect(status.runs).toBe(1);
    expect(status.missed).toBe(9);
    expect(status.history.missed[0]?.reason).toContain("Latest");
  });

  it("All runs every overdue slot up to the burst limit", async () => {
    const status = await afterDowntime({ catchUp: "All", maxBurst: 4 });
    expect(status.runs).toBe(4);
    expect(status.missed).toBe(6);
  });

  it("Skip runs none of them", async () => {
    const status = await afterDowntime({ catchUp: "Skip" });
    expect(status.runs).toBe(0);
    expect(status.missed).toBe(10);
  });

  it("startingDeadlineSeconds misses slots older than the deadline whatever the mode", async () => {
    const status = await afterDowntime({
      catchUp: "All",
      maxBurst: 100,
      startingDeadlineSeconds: 150,
    });
    // Slots at most 150 s old: the current minute's and up to two before it.
    expect(status.runs).toBeGreaterThanOrEqual(2);
    expect(status.runs).toBeLessThanOrEqual(3);
    expect(status.runs + status.missed).toBe(10);
    expect(status.history.missed.some((m) => m.reason?.includes("deadline"))).toBe(true);
  });
});
