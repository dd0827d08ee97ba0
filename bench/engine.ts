/**
 * Engine benchmark: ddq's scheduler engine against BullMQ on the same, freshly started
 * redis-server (one per scenario and engine), same machine, same payload and batching.
 *
 *   npx tsx bench/engine.ts            full run, writes bench/results/engine.json
 *   npx tsx bench/engine.ts --quick    small run for development, writes engine.quick.json
 */
import { runBenchmark } from "./cli.js";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import type { AdapterFactory, EngineName } from "./adapters/adapter.js";
import { bullmqAdapter, type BullmqSettings } from "./adapters/bullmq.js";
import { ddqAdapter, type DdqSettings } from "./adapters/ddq.js";
import { ddqRevision, describeMachine } from "./machine.js";
import { RATIO_NOTE, renderResults, resultRow, type ResultRow } from "./report.js";
import {
  dueDrain,
  enqueueThroughput,
  firingLateness,
  LeadTooShortError,
  memoryPerTask,
  type ScenarioSettings,
} from "./scenarios.js";
import type { Usage } from "./usage.js";
import { PAYLOAD_BYTES } from "./workload.js";

const FULL: ScenarioSettings = {
  tasks: 100_000,
  batchSize: 1_000,
  enqueueConcurrency: 4,
  latenessTasks: 10_000,
  latenessWindowMs: 10_000,
  dueLeadMs: 2_000,
  memorySettleMs: 1_000,
  engineSettleMs: 1_000,
};

const QUICK: ScenarioSettings = {
  ...FULL,
  tasks: 10_000,
  latenessTasks: 2_000,
  latenessWindowMs: 2_000,
  memorySettleMs: 500,
};

const DDQ: DdqSettings = { shardCount: 16, leaseMax: 1_000, leaseLoops: 2, leaseWaitMs: 1_000 };
const BULLMQ: BullmqSettings = { concurrency: 1_000 };
const ENGINES: readonly { name: EngineName; factory: AdapterFactory }[] = [
  { name: "ddq", factory: ddqAdapter(DDQ) },
  { name: "bullmq", factory: bullmqAdapter(BULLMQ) },
];

type PerEngine<T> = Record<EngineName, T>;

function usageText(u: Usage, tasks: number): string {
  const pct = (v: number): string => `${Math.round(v * 100)}%`;
  const scripts = u.topCommands.find((c) => c.command === "evalsha")?.calls ?? 0;
  return `redis-server CPU ${pct(u.redisBusy)}, benchmark process CPU ${pct(u.clientBusy)}, ${(scripts / tasks).toFixed(1)} EVALSHA/task`;
}

function progress(message: string): void {
  console.error(`[bench] ${message}`);
}

/** Runs `body` for each engine in turn (ddq first), on its own fresh redis-server. */
async function forEachEngine<T>(
  scenario: string,
  body: (factory: AdapterFactory, name: EngineName) => Promise<T>,
  describe: (result: T) => string,
): Promise<PerEngine<T>> {
  const results: Partial<PerEngine<T>> = {};
  for (const { name, factory } of ENGINES) {
    progress(`${scenario}: ${name} ...`);
    const result = await body(factory, name);
    progress(`${scenario}: ${name}: ${describe(result)}`);
    results[name] = result;
  }
  const { ddq, bullmq } = results;
  if (ddq === undefined || bullmq === undefined) throw new Error(`${scenario}: missing result`);
  return { ddq, bullmq };
}

/** Runs a timed-due scenario, doubling the lead (up to twice) if set-up outran it. */
async function withLead<T>(leadMs: number, run: (leadMs: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await run(leadMs);
    } catch (error) {
      if (!(error instanceof LeadTooShortError) || attempt >= 3) throw error;
      progress(`${error.message}; again with a lead of ${leadMs * 2} ms`);
      leadMs *= 2;
    }
  }
}

async function main(quick: boolean): Promise<void> {
  const s = quick ? QUICK : FULL;
  const machine = describeMachine();
  progress(`${quick ? "quick" : "full"} run on ${machine.cpus} CPUs, ${machine.redisServer}`);

  const enqueue = await forEachEngine(
    "enqueue",
    (factory) => enqueueThroughput(factory, s),
    (r) =>
      `${Math.round(r.tasksPerSecond)} tasks/s (${r.seconds.toFixed(2)} s; ${usageText(r.usage, s.tasks)})`,
  );
  // Lead of the timed scenarios: 1.5x the engine's own measured enqueue time, plus dueLeadMs.
  const leadFor = (name: EngineName, tasks: number): number =>
    Math.ceil((tasks / enqueue[name].tasksPerSecond) * 1500 + s.dueLeadMs);
  const drain = await forEachEngine(
    "due-drain",
    (factory, name) => withLead(leadFor(name, s.tasks), (lead) => dueDrain(factory, s, lead)),
    (r) =>
      `${Math.round(r.tasksPerSecond)} tasks/s (${r.seconds.toFixed(2)} s, first after ${r.firstDeliveryMs.toFixed(1)} ms, ${r.duplicates} duplicates; ${usageText(r.usage, s.tasks)})`,
  );
  const lateness = await forEachEngine(
    "lateness",
    (factory, name) =>
      withLead(leadFor(name, s.latenessTasks), (lead) => firingLateness(factory, s, lead)),
    (r) =>
      `p50 ${r.ms.p50.toFixed(1)} ms, p99 ${r.ms.p99.toFixed(1)} ms, max ${r.ms.max.toFixed(1)} ms (${r.duplicates} duplicates; ${usageText(r.usage, s.latenessTasks)})`,
  );
  const memory = await forEachEngine(
    "memory",
    (factory) => memoryPerTask(factory, s),
    (r) => `${Math.round(r.bytesPerTask)} bytes/task`,
  );

  const n = s.tasks.toLocaleString("en-US");
  const m = s.latenessTasks.toLocaleString("en-US");
  const window = `${s.latenessWindowMs / 1000} s`;
  const rows: ResultRow[] = [
    resultRow(
      `enqueue throughput (${n} delayed)`,
      "tasks/s",
      "higher",
      enqueue.ddq.tasksPerSecond,
      enqueue.bullmq.tasksPerSecond,
    ),
    resultRow(
      `due-drain throughput (${n} due at once)`,
      "tasks/s",
      "higher",
      drain.ddq.tasksPerSecond,
      drain.bullmq.tasksPerSecond,
    ),
    ...(["p50", "p99", "max"] as const).map((q) =>
      resultRow(
        `firing lateness ${q} (${m} over ${window})`,
        "ms",
        "lower",
        lateness.ddq.ms[q],
        lateness.bullmq.ms[q],
      ),
    ),
    resultRow(
      `Redis memory per pending task (${n})`,
      "bytes/task",
      "lower",
      memory.ddq.bytesPerTask,
      memory.bullmq.bytesPerTask,
    ),
  ];

  const settings = {
    quick,
    ...s,
    payloadBytes: PAYLOAD_BYTES,
    redis:
      "fresh redis-server per scenario and engine, 127.0.0.1, no persistence (save '', appendonly no), defaults otherwise (hz 10)",
    ddq: {
      ...DDQ,
      revision: ddqRevision(),
      replicas: 1,
      consumer:
        "two lease loops of 500 tasks each (1,000 in flight, as BullMQ's concurrency 1000); each leased batch acked with one ackMany call while the loop's next lease runs",
    },
    bullmq: {
      ...BULLMQ,
      workers: 1,
      consumer: "one Worker, no-op processor, library defaults except concurrency",
    },
    lead: "due-drain and lateness: first due instant = start of enqueueing + 1.5 x the engine's own measured enqueue time + dueLeadMs (details.*.leadMs)",
  };
  const output = {
    machine: { ...machine, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
    settings,
    results: rows,
    details: { enqueue, drain, lateness, memory },
  };
  const file = fileURLToPath(
    new URL(quick ? "./results/engine.quick.json" : "./results/engine.json", import.meta.url),
  );
  mkdirSync(fileURLToPath(new URL("./results/", import.meta.url)), { recursive: true });
  writeFileSync(file, `${JSON.stringify(output, null, 2)}\n`);

  console.log(`ddq engine vs BullMQ ${machine.bullmq} (${quick ? "quick" : "full"} run)`);
  console.log(RATIO_NOTE);
  console.log("");
  console.log(renderResults(rows));
  console.log("");
  console.log(`written to ${file}`);
}

// Children (redis-server) are killed and temp dirs removed by exit hooks, whatever the exit path.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping`);
    process.exit(130);
  });
}
runBenchmark("bench/engine.ts", main, { watchdogMinutes: { quick: 10, full: 40 } });
