/**
 * End-to-end benchmark over the real front doors: ddq through its gRPC API (a `ddq scheduler`
 * process; producer EnqueueBatch -> fire -> Worker lease batch -> batched Ack) against BullMQ
 * (Queue.addBulk -> Worker), each on its own fresh redis-server, same machine, same payload.
 *
 *   npx tsx bench/e2e.ts            full run, writes bench/results/e2e.json
 *   npx tsx bench/e2e.ts --quick    small run for development, writes e2e.quick.json
 *
 * Scenarios (tasks/s, higher is better):
 *   pipeline   tasks due at once, consumer running: from the first enqueue call to the last
 *              completion (ack confirmed by the server / BullMQ's completed event)
 *   due-drain  tasks enqueued ahead, all due at the same instant: from that instant to the last
 *              completion (exercises firing)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Queue, Worker as BullWorker } from "bullmq";
import { DdqClient } from "../client/ddqClient.js";
import { TaskSpec } from "../proto/gen/ddq/v1/task.js";
import { Worker } from "../worker/worker.js";
import { LOOPBACK_LISTENERS, startCli, waitReady, type CliProcess } from "../test/api/support.js";
import { withFreshRedis } from "./benchRedis.js";
import { runBenchmark, SCHEDULER_NODE_OPTIONS } from "./cli.js";
import { ddqRevision, describeMachine } from "./machine.js";
import { RATIO_NOTE, renderResults, resultRow } from "./report.js";
import { withTimeout } from "./timeouts.js";
import { startUsageMeter, type Usage } from "./usage.js";
import { makeTasks, PAYLOAD_BYTES, type BenchTask } from "./workload.js";

interface Settings {
  tasks: number;
  batchSize: number;
  enqueueConcurrency: number;
  /** Worker concurrency of both engines. */
  concurrency: number;
  /** due-drain: how far ahead of the due instant enqueueing starts. */
  drainLeadMs: number;
}

const FULL: Settings = {
  tasks: 100_000,
  batchSize: 1_000,
  enqueueConcurrency: 4,
  concurrency: 1_000,
  drainLeadMs: 15_000,
};
const QUICK: Settings = { ...FULL, tasks: 10_000, drainLeadMs: 4_000 };
const TOPIC = "bench";
const SHARDS = 16;

interface Run {
  tasksPerSecond: number;
  seconds: number;
  completed: number;
  usage: Usage;
}

interface Engine {
  enqueue(batch: readonly BenchTask[]): Promise<void>;
  /** Starts consuming; `onDone` once per completed task. */
  consume(onDone: () => void): Promise<void>;
  close(): Promise<void>;
}

function progress(message: string): void {
  console.error(`[bench e2e] ${message}`);
}

async function enqueueAll(engine: Engine, tasks: readonly BenchTask[], s: Settings): Promise<void> {
  const batches: BenchTask[][] = [];
  for (let i = 0; i < tasks.length; i += s.batchSize) batches.push(tasks.slice(i, i + s.batchSize));
  let next = 0;
  await Promise.all(
    Array.from({ length: s.enqueueConcurrency }, async () => {
      while (next < batches.length) {
        const batch = batches[next++];
        if (batch !== undefined) await engine.enqueue(batch);
      }
    }),
  );
}

/** Waits until `count()` reaches `want`, failing after `timeoutMs` without progress. */
async function untilCompleted(
  count: () => number,
  want: number,
  timeoutMs = 60_000,
): Promise<number> {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const now = count();
    if (now >= want) return performance.now();
    if (now !== last) {
      last = now;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > timeoutMs) {
      throw new Error(`stalled at ${now}/${want} completions`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

// --- ddq: a scheduler process, the producer client and the Worker runtime in this process ------

async function startScheduler(redisUrl: string): Promise<{ proc: CliProcess; address: string }> {
  const proc = startCli(
    [
      "scheduler",
      "--auth-disabled",
      "--redis-url",
      redisUrl,
      "--shards",
      String(SHARDS),
      ...LOOPBACK_LISTENERS,
      "--rate-limit-rps",
      "10000000",
      "--rate-limit-burst",
      "10000000",
      "--log-level",
      "warn",
    ],
    {},
  );
  const ready = await waitReady(proc, 60_000);
  return { proc, address: `127.0.0.1:${String(ready.grpcPort)}` };
}

async function ddqEngine(redisUrl: string, s: Settings): Promise<Engine> {
  const { proc, address } = await startScheduler(redisUrl);
  const client = new DdqClient({ address, timeoutMs: 120_000 });
  let worker: Worker | undefined;
  return {
    enqueue: async (batch) => {
      await client.enqueueBatch(
        batch.map((t) =>
          TaskSpec.fromPartial({
            topic: TOPIC,
            payload: Buffer.from(JSON.stringify(t.payload)),
            due: { $case: "dueTime", value: new Date(t.dueAtMs) },
          }),
        ),
      );
    },
    consume: (onDone) => {
      worker = new Worker({
        address,
        topics: [TOPIC],
        concurrency: s.concurrency,
        pollWaitMs: 1_000,
        handler: () => {
          onDone();
          return Promise.resolve(undefined);
        },
      }).start();
      return Promise.resolve();
    },
    close: async () => {
      await worker?.stop(5_000);
      client.close();
      proc.child.kill("SIGTERM");
      await withTimeout(proc.exited, 30_000, "the ddq scheduler to stop");
    },
  };
}

// --- BullMQ: Queue.addBulk and one Worker, library defaults except concurrency ------------------

function bullmqEngine(port: number, s: Settings): Engine {
  const connection = { host: "127.0.0.1", port, maxRetriesPerRequest: null };
  const queue = new Queue(TOPIC, { connection });
  let worker: BullWorker | undefined;
  return {
    enqueue: async (batch) => {
      const now = Date.now();
      await queue.addBulk(
        batch.map((t) => ({
          name: "t",
          data: t.payload,
          opts: { timestamp: now, delay: Math.max(0, t.dueAtMs - now) },
        })),
      );
    },
    consume: async (onDone) => {
      worker = new BullWorker(TOPIC, () => Promise.resolve(), {
        connection,
        concurrency: s.concurrency,
      });
      worker.on("completed", onDone);
      await worker.waitUntilReady();
    },
    close: async () => {
      await worker?.close();
      await queue.close();
    },
  };
}

type EngineName = "ddq" | "bullmq";

async function withEngine<T>(
  name: EngineName,
  s: Settings,
  body: (engine: Engine, redisUrl: string) => Promise<T>,
): Promise<T> {
  return withFreshRedis(async (server) => {
    const engine = name === "ddq" ? await ddqEngine(server.url, s) : bullmqEngine(server.port, s);
    try {
      return await body(engine, server.url);
    } finally {
      await engine.close();
    }
  });
}

async function pipeline(name: EngineName, s: Settings): Promise<Run> {
  return withEngine(name, s, async (engine, url) => {
    let completed = 0;
    await engine.consume(() => (completed += 1));
    const tasks = makeTasks(s.tasks, () => Date.now());
    const meter = await startUsageMeter(url);
    const start = performance.now();
    await enqueueAll(engine, tasks, s);
    const end = await untilCompleted(() => completed, s.tasks);
    const usage = await meter();
    const seconds = (end - start) / 1000;
    return { tasksPerSecond: s.tasks / seconds, seconds, completed, usage };
  });
}

async function dueDrain(name: EngineName, s: Settings): Promise<Run> {
  return withEngine(name, s, async (engine, url) => {
    let completed = 0;
    const dueAt = Date.now() + s.drainLeadMs;
    const tasks = makeTasks(s.tasks, () => dueAt);
    await enqueueAll(engine, tasks, s);
    if (Date.now() > dueAt - 500) throw new Error(`enqueueing outran the ${s.drainLeadMs} ms lead`);
    await engine.consume(() => (completed += 1));
    const meter = await startUsageMeter(url);
    const end = await untilCompleted(() => completed, s.tasks);
    const usage = await meter();
    // Both clocks: performance.now() for the end, the wall clock for the due instant.
    const seconds = (end - (dueAt - Date.now() + performance.now())) / 1000;
    return { tasksPerSecond: s.tasks / seconds, seconds, completed, usage };
  });
}

async function main(quick: boolean): Promise<void> {
  const s = quick ? QUICK : FULL;
  const machine = describeMachine();
  progress(`${quick ? "quick" : "full"} run on ${machine.cpus} CPUs, ${machine.redisServer}`);
  const results: Record<string, Record<EngineName, Run>> = {};
  for (const [scenario, run] of [
    ["pipeline", pipeline],
    ["due-drain", dueDrain],
  ] as const) {
    const entry: Partial<Record<EngineName, Run>> = {};
    for (const name of ["ddq", "bullmq"] as const) {
      progress(`${scenario}: ${name} ...`);
      const r = await run(name, s);
      progress(
        `${scenario}: ${name}: ${Math.round(r.tasksPerSecond)} tasks/s (${r.seconds.toFixed(2)} s, redis-server CPU ${Math.round(r.usage.redisBusy * 100)}%)`,
      );
      entry[name] = r;
    }
    results[scenario] = entry as Record<EngineName, Run>;
  }
  const n = s.tasks.toLocaleString("en-US");
  const rows = [
    resultRow(
      `pipeline: enqueue -> lease -> ack (${n} due now)`,
      "tasks/s",
      "higher",
      results.pipeline?.ddq.tasksPerSecond ?? 0,
      results.pipeline?.bullmq.tasksPerSecond ?? 0,
    ),
    resultRow(
      `due-drain: fire -> lease -> ack (${n} due at once)`,
      "tasks/s",
      "higher",
      results["due-drain"]?.ddq.tasksPerSecond ?? 0,
      results["due-drain"]?.bullmq.tasksPerSecond ?? 0,
    ),
  ];
  const output = {
    machine,
    settings: {
      quick,
      ...s,
      payloadBytes: PAYLOAD_BYTES,
      redis: "fresh redis-server per scenario and engine, 127.0.0.1, no persistence",
      ddq: {
        revision: ddqRevision(),
        topology: `one \`ddq scheduler\` process (${SHARDS} shards, auth disabled, plaintext gRPC on loopback); producer DdqClient.enqueueBatch and the Worker runtime (worker/worker.ts, no-op handler, batched acks) in the benchmark process`,
      },
      bullmq: {
        topology:
          "Queue.addBulk and one Worker (no-op processor, library defaults except concurrency) in the benchmark process",
      },
    },
    results: rows,
    details: results,
  };
  const file = fileURLToPath(
    new URL(quick ? "./results/e2e.quick.json" : "./results/e2e.json", import.meta.url),
  );
  mkdirSync(fileURLToPath(new URL("./results/", import.meta.url)), { recursive: true });
  writeFileSync(file, `${JSON.stringify(output, null, 2)}\n`);
  console.log(
    `ddq end to end over gRPC vs BullMQ ${machine.bullmq} (${quick ? "quick" : "full"} run)`,
  );
  console.log(RATIO_NOTE);
  console.log("");
  console.log(renderResults(rows));
}

runBenchmark("bench/e2e.ts", main, {
  watchdogMinutes: { quick: 10, full: 30 },
  nodeOptions: SCHEDULER_NODE_OPTIONS,
});
