/**
 * Cron benchmark: many schedules firing every second, ddq's cron against BullMQ job schedulers,
 * each engine on its own freshly started redis-server (same binary and settings), same machine.
 *
 *   npx tsx bench/cron.ts            10,000 schedules for 60 s, writes bench/results/cron.json
 *   npx tsx bench/cron.ts --quick    1,000 schedules for 10 s, writes cron.quick.json
 */
import { runBenchmark, SCHEDULER_NODE_OPTIONS } from "./cli.js";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { EngineName } from "./adapters/adapter.js";
import { bullmqCronAdapter, type BullmqCronSettings } from "./adapters/bullmqCron.js";
import type { CronAdapter, CronAdapterFactory } from "./adapters/cronAdapter.js";
import { ddqCronAdapter, type DdqCronSettings } from "./adapters/ddqCron.js";
import { usedMemory, withFreshRedis } from "./benchRedis.js";
import { wallClock } from "./clock.js";
import { OccurrenceLog, type MissingSlot, type SecondStats } from "./cronLog.js";
import { startTimeline, type TimelineTick } from "./cronTimeline.js";
import { ddqRevision, describeMachine } from "./machine.js";
import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { SCRIPT_NAMES, scriptSource } from "../scheduler/engine/scripts.js";
import { execFileSync } from "node:child_process";
import { RATIO_NOTE, renderResults, resultRow, type ResultRow } from "./report.js";
import type { Summary } from "./stats.js";
import { inBatches, sleep, withTimeout } from "./timeouts.js";
import { startUsageMeter, type Usage } from "./usage.js";
import { PAYLOAD_BYTES } from "./workload.js";

interface CronSettings {
  schedules: number;
  /** Length of the measurement window, s: each schedule should fire once per second of it. */
  windowSeconds: number;
  /** Schedules created concurrently (each upsert is one call). */
  upsertConcurrency: number;
  /** The window starts at the first whole second after all schedules exist, plus this. */
  startDelayMs: number;
  /** After the window, how long the consumer may still take to receive the window's occurrences. */
  graceMs: number;
  /** Idle time after an engine has started, before schedules are created. */
  engineSettleMs: number;
}

const FULL: CronSettings = {
  schedules: 10_000,
  windowSeconds: 60,
  upsertConcurrency: 200,
  startDelayMs: 2_000,
  graceMs: 30_000,
  engineSettleMs: 1_000,
};

const QUICK: CronSettings = { ...FULL, schedules: 1_000, windowSeconds: 10, graceMs: 5_000 };

const DDQ: DdqCronSettings = {
  shardCount: 16,
  schedule: "@every 1s",
  leaseMax: 500,
  leaseLoops: 2,
  leaseWaitMs: 1_000,
  jitterMs: 999,
};
/** The same schedules without jitter: all fire at whole seconds, one burst a second. */
const DDQ_ALIGNED: DdqCronSettings = { ...DDQ, jitterMs: 0 };
const BULLMQ: BullmqCronSettings = { everyMs: 1_000, concurrency: 1_000 };
type RunName = EngineName | "ddqAligned";
/**
 * ddq with its schedules spread over the second (jitterMs 999), compared with BullMQ, whose job
 * schedulers are spread over the second by their creation times; and ddq with every schedule at
 * whole seconds (jitterMs 0), a burst of all of them each second, reported on its own.
 */
const ENGINES: readonly { name: RunName; factory: CronAdapterFactory }[] = [
  { name: "ddq", factory: ddqCronAdapter(DDQ) },
  { name: "ddqAligned", factory: ddqCronAdapter(DDQ_ALIGNED) },
  { name: "bullmq", factory: bullmqCronAdapter(BULLMQ) },
];

function progress(message: string): void {
  console.error(`[bench] ${message}`);
}

// SIGINT/SIGTERM reject `interruption`: every wait below races against it, so the run unwinds
// through its finally blocks (consumer, engine, redis-server); a second signal exits at once.
let interrupt: (error: Error) => void = () => undefined;
const interruption = new Promise<never>((_, reject) => {
  interrupt = reject;
});
interruption.catch(() => undefined);
let interrupted = false;

/** `promise`, unless the run is interrupted or one of `failures` rejects first. */
function guarded<T>(promise: Promise<T>, ...failures: Promise<never>[]): Promise<T> {
  return Promise.race([promise, interruption, ...failures]);
}

export interface CronEngineResult {
  /** Creating every schedule (upsertConcurrency in flight). */
  create: { seconds: number; schedulesPerSecond: number; usage: Usage };
  /** Start of the window (epoch ms), T; it ends at T + windowSeconds. */
  windowStartMs: number;
  expected: number;
  /**
   * Occurrences the engine created with a slot in the window: delivered ones, plus those it still
   * held (any state) when the consumer stopped. Must equal `expected`.
   */
  created: number;
  /** Distinct occurrences with a slot in the window received by the end of the grace period. */
  delivered: number;
  /** created - delivered: created, not yet received when the consumer stopped. */
  undelivered: number;
  /** expected - created: slots that got no occurrence (missed, skipped, or not yet created). */
  notCreated: number;
  /** Missing slots whose intended time was unknown (schedule never seen), so not looked up. */
  notLookedUp: number;
  duplicates: number;
  extraSlots: number;
  /** Occurrences received with a slot before T or at/after the window's end. */
  beforeWindow: number;
  afterWindow: number;
  /** When the consumer stopped, relative to the window's end, ms. */
  consumerStoppedAfterEndMs: number;
  /** Last receipt of an occurrence in the window, relative to the window's end, ms. */
  lastInWindowReceiptAfterEndMs: number | null;
  /**
   * Lateness of the created occurrences (ms): exact for delivered ones; for undelivered ones only
   * a lower bound (consumer stop - slot), so the summary is a lower bound when undelivered > 0.
   */
  latenessMs: Summary | null;
  latenessIsLowerBound: boolean;
  /** Lateness by second of the window (by slot). */
  latenessBySecond: SecondStats;
  /** Lateness by group of schedules (ddq: by shard), null for BullMQ. */
  latenessByGroup: ReturnType<OccurrenceLog["perGroup"]> | null;
  /** CPU of redis-server and of the benchmark process (scheduler + consumer) over the window. */
  usage: Usage;
  /** The same, second by second, from T to the consumer's stop. */
  timeline: TimelineTick[];
  /** Event-loop delay of the benchmark process over the window (timer lateness inside Node). */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  engineCounters: Record<string, number>;
  redisUsedMemoryBytes: number;
}

/** Looks up, in the engine, the expected occurrences the consumer did not receive. */
async function lookUpUndelivered(
  adapter: CronAdapter,
  log: OccurrenceLog,
  stoppedAt: number,
): Promise<{ notLookedUp: number }> {
  const missing = log.missing(adapter.slotPhaseMs);
  const known = missing.filter(
    (m): m is MissingSlot & { intendedMs: number } => m.intendedMs !== undefined,
  );
  await withTimeout(
    inBatches(known, 1, 200, async ([slot]) => {
      if (slot !== undefined && (await adapter.occurrenceExists(slot.schedule, slot.intendedMs)))
        log.addUndelivered(slot, stoppedAt);
    }),
    Math.max(60_000, known.length),
    () => `${adapter.name}: looking up ${known.length} occurrences not received`,
  );
  return { notLookedUp: missing.length - known.length };
}

async function runEngine(factory: CronAdapterFactory, s: CronSettings): Promise<CronEngineResult> {
  return withFreshRedis(async (server) => {
    const adapter = await guarded(factory(server.port));
    try {
      await guarded(sleep(s.engineSettleMs));
      const now = wallClock();
      const log = new OccurrenceLog(s.schedules, s.windowSeconds, now);
      let fail: (error: unknown) => void = () => undefined;
      const consumerFailed = new Promise<never>((_, reject) => {
        fail = reject;
      });
      consumerFailed.catch(() => undefined);
      // The consumer runs before the schedules exist: it also takes the occurrences fired while
      // the rest are still being created.
      await guarded(adapter.startConsumer(log.onOccurrence, fail), consumerFailed);

      const createMeter = await startUsageMeter(server.url);
      const createStart = performance.now();
      const indexes = Array.from({ length: s.schedules }, (_, i) => i);
      await guarded(
        withTimeout(
          inBatches(indexes, 1, s.upsertConcurrency, async ([index]) => {
            await adapter.upsert(index ?? 0);
          }),
          Math.max(60_000, s.schedules * 10),
          `${adapter.name}: creating ${s.schedules} schedules`,
        ),
        consumerFailed,
      );
      const createSeconds = (performance.now() - createStart) / 1000;
      const createUsage = await createMeter();
      progress(
        `${adapter.name}: created ${s.schedules} schedules in ${createSeconds.toFixed(2)} s (${Math.round(s.schedules / createSeconds)}/s)`,
      );

      const start = Math.ceil(now() / 1000) * 1000 + s.startDelayMs;
      log.setWindow(start);
      const end = log.windowEndMs;
      await guarded(sleep(start - now()), consumerFailed);
      const loopDelay = monitorEventLoopDelay({ resolution: 5 });
      loopDelay.enable();
      const windowMeter = await guarded(startUsageMeter(server.url), consumerFailed);
      const timeline = await guarded(
        startTimeline(server.url, () => ({
          deliveredInWindow: log.inWindow,
          received: log.received,
        })),
      );
      // Development only (DDQ_CRON_DEV_SLOWLOG=1): log every command to break Redis time down by script.
      const slowlog = process.env.DDQ_CRON_DEV_SLOWLOG === "1" ? new Redis(server.url) : undefined;
      if (slowlog !== undefined) {
        await slowlog.config("SET", "slowlog-max-len", "1000000");
        await slowlog.config("SET", "slowlog-log-slower-than", "0");
        await slowlog.slowlog("RESET");
      }
      let ticks: TimelineTick[] = [];
      let stoppedAt = Number.NaN;
      let usage: Usage | undefined;
      try {
        progress(
          `${adapter.name}: window ${new Date(start).toISOString()} + ${s.windowSeconds} s ...`,
        );
        await guarded(sleep(end - now()), consumerFailed);
        usage = await guarded(windowMeter(), consumerFailed);
        if (slowlog !== undefined) {
          await slowlog.config("SET", "slowlog-log-slower-than", "-1");
          await reportSlowlog(slowlog, s.schedules * s.windowSeconds);
          slowlog.disconnect();
        }
        loopDelay.disable();
        // The window's occurrences still in flight: wait for them, at most graceMs.
        await guarded(Promise.race([log.done, sleep(end + s.graceMs - now())]), consumerFailed);
        await guarded(adapter.stopConsumer(), consumerFailed);
        stoppedAt = now();
      } finally {
        ticks = await timeline.stop();
      }
      const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
      const eventLoopDelayMs = {
        p50: ms(loopDelay.percentile(50)),
        p99: ms(loopDelay.percentile(99)),
        max: ms(loopDelay.max),
      };
      const delivered = log.inWindow;
      progress(
        `${adapter.name}: ${delivered} of ${log.expected} delivered; looking up the other ${log.expected - delivered} ...`,
      );
      const { notLookedUp } = await guarded(lookUpUndelivered(adapter, log, stoppedAt));
      const engineCounters = await guarded(adapter.engineCounters(s.schedules));
      const redisUsedMemoryBytes = await guarded(usedMemory(server.url));
      const lateness = log.latenessSummary();
      const created = log.inWindow + log.undelivered;
      return {
        create: {
          seconds: createSeconds,
          schedulesPerSecond: s.schedules / createSeconds,
          usage: createUsage,
        },
        windowStartMs: start,
        expected: log.expected,
        created,
        delivered,
        undelivered: log.undelivered,
        notCreated: log.expected - created,
        notLookedUp,
        duplicates: log.duplicates,
        extraSlots: log.extraSlots,
        beforeWindow: log.beforeWindow,
        afterWindow: log.afterWindow,
        consumerStoppedAfterEndMs: Math.round(stoppedAt - end),
        lastInWindowReceiptAfterEndMs: Number.isFinite(log.lastInWindowAt)
          ? Math.round((log.lastInWindowAt - end) * 10) / 10
          : null,
        latenessMs: lateness ?? null,
        latenessIsLowerBound: log.undelivered > 0,
        latenessBySecond: log.perSecond(),
        latenessByGroup:
          adapter.groups === undefined
            ? null
            : log.perGroup(adapter.groups.of, adapter.groups.count),
        usage,
        timeline: ticks,
        eventLoopDelayMs,
        engineCounters,
        redisUsedMemoryBytes,
      };
    } finally {
      await adapter.close();
    }
  });
}

function describe(r: CronEngineResult): string {
  const l = r.latenessMs;
  const atLeast = r.latenessIsLowerBound ? ">= " : "";
  const lateness =
    l === null
      ? "no occurrences"
      : `lateness p50 ${atLeast}${l.p50.toFixed(1)} ms, p99 ${atLeast}${l.p99.toFixed(1)} ms, max ${atLeast}${l.max.toFixed(1)} ms`;
  const tenth = Math.max(1, Math.floor(r.latenessBySecond.p99.length / 6));
  const p99s = r.latenessBySecond.p99;
  const firstP99 = Math.max(...p99s.slice(0, tenth));
  const lastP99 = Math.max(...p99s.slice(-tenth));
  return (
    `created ${r.created} of ${r.expected} expected, delivered ${r.delivered} (${r.duplicates} duplicates, ${r.extraSlots} extra), ${lateness}; ` +
    `p99 of the first/last ${tenth} s ${firstP99.toFixed(1)}/${lastP99.toFixed(1)} ms; ` +
    `CPU over the window: process ${r.usage.clientCpuSeconds.toFixed(1)} s, redis-server ${r.usage.redisCpuSeconds.toFixed(1)} s; ` +
    `event loop delay p99 ${r.eventLoopDelayMs.p99} ms, max ${r.eventLoopDelayMs.max} ms`
  );
}

/** The code measured: commit, whether scheduler/ was modified, and a digest of that diff. */
function revision(): ReturnType<typeof ddqRevision> & { schedulerDiffSha256: string } {
  let digest = "unknown";
  try {
    const diff = execFileSync("git", ["diff", "HEAD", "--", "scheduler"], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      maxBuffer: 64 * 1024 * 1024,
    });
    digest = diff === "" ? "" : createHash("sha256").update(diff).digest("hex").slice(0, 16);
  } catch {
    // not a git checkout: "unknown"
  }
  return { ...ddqRevision(), schedulerDiffSha256: digest };
}

/** Development only: Redis time by script (or command) from a full slowlog, per occurrence. */
async function reportSlowlog(redis: Redis, occurrences: number): Promise<void> {
  const names = new Map<string, string>();
  for (const name of SCRIPT_NAMES)
    names.set(createHash("sha1").update(scriptSource(name)).digest("hex"), name);
  const entries = (await redis.slowlog("GET", "-1")) as [number, number, number, string[]][];
  const by = new Map<string, { calls: number; us: number }>();
  for (const [, , us, args] of entries) {
    const command = String(args[0]).toLowerCase();
    const name = command === "evalsha" ? (names.get(String(args[1])) ?? "script?") : command;
    const row = by.get(name) ?? { calls: 0, us: 0 };
    row.calls += 1;
    row.us += us;
    by.set(name, row);
  }
  for (const [name, row] of [...by].sort((a, b) => b[1].us - a[1].us)) {
    progress(
      `dev:   ${name}: ${(row.calls / occurrences).toFixed(3)} calls/occ, ${(row.us / occurrences).toFixed(1)} us/occ, ${(row.us / row.calls).toFixed(0)} us/call`,
    );
  }
}

/**
 * Development only: DDQ_CRON_DEV="<schedules>,<seconds>" runs ddq spread alone at that size and
 * prints its costs per occurrence (Redis CPU, calls, process CPU); it writes no result file.
 */
async function devRun(spec: string): Promise<void> {
  const [schedules = 1_000, windowSeconds = 10] = spec.split(",").map(Number);
  const s: CronSettings = { ...QUICK, schedules, windowSeconds };
  progress(
    `dev run: ${schedules} schedules for ${windowSeconds} s, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  const r = await runEngine(ddqCronAdapter(DDQ), s);
  progress(`dev: ${describe(r)}`);
  progress(`dev: p99 by second: ${r.latenessBySecond.p99.map((v) => Math.round(v)).join(" ")}`);
  const occurrences = r.expected;
  const perOcc = (v: number): string => ((v * 1e6) / occurrences).toFixed(1);
  progress(
    `dev: per occurrence: redis ${perOcc(r.usage.redisCpuSeconds)} us CPU, process ${perOcc(r.usage.clientCpuSeconds)} us CPU; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  for (const c of r.usage.topCommands) {
    progress(
      `dev:   ${c.command}: ${(c.calls / occurrences).toFixed(2)} calls/occ, ${((c.ms * 1000) / occurrences).toFixed(1)} us/occ`,
    );
  }
}

async function main(quick: boolean): Promise<void> {
  const dev = process.env.DDQ_CRON_DEV;
  if (dev !== undefined && dev !== "") return devRun(dev);
  const s = quick ? QUICK : FULL;
  const machine = describeMachine();
  // Read before the engine runs (tsx loads the sources now), and again at the end.
  const revisionAtStart = revision();
  progress(
    `${quick ? "quick" : "full"} run: ${s.schedules} schedules for ${s.windowSeconds} s, on ${machine.cpus} CPUs, ${machine.redisServer}`,
  );
  const results: Partial<Record<RunName, CronEngineResult>> = {};
  for (const { name, factory } of ENGINES) {
    progress(`cron: ${name} ...`);
    const result = await runEngine(factory, s);
    progress(`cron: ${name}: ${describe(result)}`);
    progress(`cron: ${name}: engine counters ${JSON.stringify(result.engineCounters)}`);
    results[name] = result;
  }
  const { ddq, bullmq, ddqAligned } = results;
  if (ddq === undefined || bullmq === undefined || ddqAligned === undefined) {
    throw new Error("cron: missing result");
  }

  const n = s.schedules.toLocaleString("en-US");
  const window = `${s.windowSeconds} s`;
  const expected = (s.schedules * s.windowSeconds).toLocaleString("en-US");
  const rows: ResultRow[] = [
    resultRow(
      `occurrences created, slot in the ${window} window (expected ${expected})`,
      "occurrences",
      "higher",
      ddq.created,
      bullmq.created,
    ),
    resultRow(
      `  of which delivered by ${s.graceMs / 1000} s after the window`,
      "occurrences",
      "higher",
      ddq.delivered,
      bullmq.delivered,
    ),
    ...(["p50", "p99", "max"] as const).map((q) =>
      resultRow(
        `firing lateness ${q} (${n} schedules every 1 s, spread over the second, ${window})`,
        "ms",
        "lower",
        ddq.latenessMs?.[q] ?? Number.NaN,
        bullmq.latenessMs?.[q] ?? Number.NaN,
      ),
    ),
    resultRow(
      `scheduling process CPU over the ${window}`,
      "CPU s",
      "lower",
      ddq.usage.clientCpuSeconds,
      bullmq.usage.clientCpuSeconds,
    ),
    resultRow(
      `redis-server CPU over the ${window}`,
      "CPU s",
      "lower",
      ddq.usage.redisCpuSeconds,
      bullmq.usage.redisCpuSeconds,
    ),
    // ddq without jitter: every schedule at whole seconds. BullMQ has no such run (its job
    // schedulers are spread by creation time): its column repeats its spread figures for scale.
    resultRow(
      `ddq aligned (jitter 0): occurrences created (expected ${expected})`,
      "occurrences",
      "higher",
      ddqAligned.created,
      bullmq.created,
    ),
    ...(["p50", "p99", "max"] as const).map((q) =>
      resultRow(
        `ddq aligned (jitter 0): firing lateness ${q}, all ${n} due at once each second`,
        "ms",
        "lower",
        ddqAligned.latenessMs?.[q] ?? Number.NaN,
        bullmq.latenessMs?.[q] ?? Number.NaN,
      ),
    ),
  ];

  const settings = {
    quick,
    ...s,
    payloadBytes: PAYLOAD_BYTES,
    redis:
      "fresh redis-server per engine, 127.0.0.1, no persistence (save '', appendonly no), defaults otherwise (hz 10)",
    window:
      "T = first whole second after the last schedule was created + startDelayMs; occurrences counted by intended time (slot) in [T, T + windowSeconds); the consumer stops at T + windowSeconds + graceMs (or once all arrived); the expected occurrences it did not receive are then looked up in the engine (created = delivered + found)",
    lateness:
      "local receipt time - intended time, over the created occurrences; for one created but not delivered, consumer stop - intended time (a lower bound: details.*.latenessIsLowerBound)",
    cpu: "INFO cpu of redis-server and process.cpuUsage() of the benchmark process (scheduler and consumer, in-process for both engines) from T to the window's end",
    ddqAligned: DDQ_ALIGNED,
    ddq: {
      ...DDQ,
      revision: revisionAtStart,
      revisionAtEnd: revision(),
      replicas: 1,
      schedules:
        "cron.upsert({ id: 's<i>', timing: { schedules: ['@every 1s'] }, task: { topic, payload } }): fires at every whole second (aligned to the epoch), jitter 0, every other policy default",
      consumer:
        "two lease loops of lease({ max: 500, waitMs: 1000 }) (1,000 in flight, as BullMQ's concurrency 1000); each leased batch acked with one ackMany call while the loop's next lease runs",
      intendedTime: "the slot in the occurrence id <schedule id>:<slot ms>-<shard>",
    },
    bullmq: {
      ...BULLMQ,
      workers: 1,
      schedules:
        "queue.upsertJobScheduler('s<i>', { every: 1000 }, { name, data }): first job at creation, then every 1000 ms from it (per-scheduler offset = creation time mod 1000)",
      consumer:
        "one Worker, no-op processor, library defaults except concurrency (the Worker also adds each scheduler's next job)",
      intendedTime:
        "the nextMillis in the job id repeat:<scheduler id>:<nextMillis> (= job.timestamp + job.opts.delay unless the job was added late, delay clamped at 0: engineCounters.intendedTimeMismatches)",
    },
  };
  const output = {
    machine: { ...machine, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
    settings,
    results: rows,
    details: { ddq, ddqAligned, bullmq },
  };
  const file = fileURLToPath(
    new URL(quick ? "./results/cron.quick.json" : "./results/cron.json", import.meta.url),
  );
  mkdirSync(fileURLToPath(new URL("./results/", import.meta.url)), { recursive: true });
  writeFileSync(file, `${JSON.stringify(output, null, 2)}\n`);

  console.log(
    `ddq cron vs BullMQ ${machine.bullmq} job schedulers (${quick ? "quick" : "full"} run)`,
  );
  console.log(RATIO_NOTE);
  console.log("");
  console.log(renderResults(rows));
  console.log("");
  for (const [name, r] of [
    ["ddq", ddq],
    ["BullMQ", bullmq],
  ] as const) {
    const f = (v: number): string => v.toLocaleString("en-US");
    console.log(
      `${name}: created ${f(r.created)} of ${f(r.expected)} expected occurrences (${f(r.notCreated)} not created), delivered ${f(r.delivered)}, ${r.duplicates} duplicates${r.latenessIsLowerBound ? `; lateness is a lower bound (${f(r.undelivered)} created, not delivered)` : ""}`,
    );
  }
  console.log(`written to ${file}`);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (interrupted) {
      progress(`${signal} again: exiting now`);
      process.exit(130);
    }
    interrupted = true;
    progress(`${signal}: stopping (closing the engine and redis-server)`);
    interrupt(new Error(`interrupted by ${signal}`));
    // Children (redis-server) are killed and temp dirs removed by exit hooks in any case.
    setTimeout(() => {
      progress("clean-up did not finish within 90 s: exiting");
      process.exit(130);
    }, 90_000).unref();
  });
}
runBenchmark("bench/cron.ts", main, {
  watchdogMinutes: { quick: 10, full: 30 },
  failureCode: () => (interrupted ? 130 : 1),
  nodeOptions: SCHEDULER_NODE_OPTIONS,
});
