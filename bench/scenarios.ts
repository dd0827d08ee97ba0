import type { AdapterFactory, EngineAdapter } from "./adapters/adapter.js";
import { usedMemory, withFreshRedis } from "./benchRedis.js";
import { wallClock } from "./clock.js";
import { DeliveryLog } from "./delivery.js";
import { summarize, type Summary } from "./stats.js";
import { inBatches, sleep, withTimeout } from "./timeouts.js";
import { startUsageMeter, type Usage } from "./usage.js";
import { makeTasks, type BenchTask } from "./workload.js";

export interface ScenarioSettings {
  /** Tasks of the enqueue, due-drain and memory scenarios. */
  tasks: number;
  batchSize: number;
  /** Enqueue batches in flight at once. */
  enqueueConcurrency: number;
  latenessTasks: number;
  /** Lateness tasks are due uniformly over this window. */
  latenessWindowMs: number;
  /** Least time between the end of enqueueing (and consumer start) and the first due instant. */
  dueLeadMs: number;
  /** Pause before each `used_memory` reading. */
  memorySettleMs: number;
  /**
   * Idle time after an engine has started, before a scenario begins: start-up work (connections,
   * leader election, ddq's first Redis-clock reading) is not what is measured.
   */
  engineSettleMs: number;
}

const HOUR_MS = 3_600_000;

/** The due instant came before set-up finished: run again with a longer lead. */
export class LeadTooShortError extends Error {}

async function withEngine<T>(
  factory: AdapterFactory,
  s: ScenarioSettings,
  body: (adapter: EngineAdapter, redisUrl: string) => Promise<T>,
): Promise<T> {
  return withFreshRedis(async (server) => {
    const adapter = await factory(server.port);
    try {
      await sleep(s.engineSettleMs);
      return await body(adapter, server.url);
    } finally {
      await adapter.close();
    }
  });
}

async function enqueueAll(
  adapter: EngineAdapter,
  tasks: readonly BenchTask[],
  s: ScenarioSettings,
): Promise<void> {
  await withTimeout(
    inBatches(tasks, s.batchSize, s.enqueueConcurrency, (batch) => adapter.enqueue(batch)),
    Math.max(60_000, tasks.length), // 1 ms per task, at least a minute
    `${adapter.name}: enqueueing ${tasks.length} tasks`,
  );
}

export interface EnqueueResult {
  tasksPerSecond: number;
  seconds: number;
  usage: Usage;
}

/** Scenario 1: enqueue `tasks` tasks due an hour ahead, batched, several batches in flight. */
export function enqueueThroughput(
  factory: AdapterFactory,
  s: ScenarioSettings,
): Promise<EnqueueResult> {
  return withEngine(factory, s, async (adapter, url) => {
    const dueAt = Date.now() + HOUR_MS;
    const tasks = makeTasks(s.tasks, () => dueAt);
    const meter = await startUsageMeter(url);
    const started = performance.now();
    await enqueueAll(adapter, tasks, s);
    const seconds = (performance.now() - started) / 1000;
    return { tasksPerSecond: s.tasks / seconds, seconds, usage: await meter() };
  });
}

/**
 * Enqueues `tasks`, checks the lead, starts a consumer and waits for every delivery; CPU use is
 * measured from the first due instant to the last delivery.
 */
async function deliverAll(
  adapter: EngineAdapter,
  url: string,
  tasks: readonly BenchTask[],
  firstDueAt: number,
  lastDueAt: number,
  now: () => number,
  s: ScenarioSettings,
): Promise<{ log: DeliveryLog; usage: Usage }> {
  await enqueueAll(adapter, tasks, s);
  const log = new DeliveryLog(tasks.length, now);
  await adapter.startConsumer(log.onTask, log.onError);
  const ready = now();
  if (ready > firstDueAt - 250) {
    throw new LeadTooShortError(
      `${adapter.name}: set-up ended ${Math.round(ready - firstDueAt)} ms relative to the first due instant`,
    );
  }
  const meter = sleep(firstDueAt - now()).then(() => startUsageMeter(url));
  meter.catch(() => undefined);
  await withTimeout(
    log.done,
    lastDueAt - ready + Math.max(60_000, tasks.length * 2),
    () => `${adapter.name}: waiting for ${tasks.length} deliveries (got ${log.unique})`,
  );
  const usage = await (await meter)();
  return { log, usage };
}

export interface DrainResult {
  /** Due instant minus start of enqueueing. */
  leadMs: number;
  tasksPerSecond: number;
  /** Due instant to the last delivery. */
  seconds: number;
  /** Due instant to the first delivery, ms. */
  firstDeliveryMs: number;
  duplicates: number;
  usage: Usage;
}

/**
 * Scenario 2: `tasks` tasks all due at one instant, `leadMs` after enqueueing starts (the caller
 * sizes it so enqueueing and consumer start-up end before it); measures from that instant until
 * the consumer has received the last task.
 */
export function dueDrain(
  factory: AdapterFactory,
  s: ScenarioSettings,
  leadMs: number,
): Promise<DrainResult> {
  return withEngine(factory, s, async (adapter, url) => {
    const now = wallClock();
    const dueAt = Math.ceil(now() + leadMs);
    const tasks = makeTasks(s.tasks, () => dueAt);
    const { log, usage } = await deliverAll(adapter, url, tasks, dueAt, dueAt, now, s);
    const seconds = (log.lastAt - dueAt) / 1000;
    return {
      leadMs,
      tasksPerSecond: s.tasks / seconds,
      seconds,
      firstDeliveryMs: log.firstAt - dueAt,
      duplicates: log.duplicates,
      usage,
    };
  });
}

export interface LatenessResult {
  /** First due instant minus start of enqueueing. */
  leadMs: number;
  ms: Summary;
  duplicates: number;
  usage: Usage;
}

/**
 * Scenario 3: `latenessTasks` tasks due uniformly over `latenessWindowMs`, the first `leadMs`
 * after enqueueing starts. Lateness = local wall-clock time of receipt minus due time.
 */
export function firingLateness(
  factory: AdapterFactory,
  s: ScenarioSettings,
  leadMs: number,
): Promise<LatenessResult> {
  return withEngine(factory, s, async (adapter, url) => {
    const now = wallClock();
    const start = Math.ceil(now() + leadMs);
    const n = s.latenessTasks;
    const tasks = makeTasks(n, (i) => start + (i * s.latenessWindowMs) / n);
    const lastDue = tasks[n - 1]?.dueAtMs ?? start;
    const { log, usage } = await deliverAll(adapter, url, tasks, start, lastDue, now, s);
    const lateness = tasks.map((t, i) => (log.receivedAt[i] ?? Number.NaN) - t.dueAtMs);
    return { leadMs, ms: summarize(lateness), duplicates: log.duplicates, usage };
  });
}

export interface MemoryResult {
  bytesPerTask: number;
  beforeBytes: number;
  afterBytes: number;
}

/** Scenario 4: `used_memory` growth from enqueueing `tasks` tasks due an hour ahead. */
export function memoryPerTask(factory: AdapterFactory, s: ScenarioSettings): Promise<MemoryResult> {
  return withEngine(factory, s, async (adapter, url) => {
    const dueAt = Date.now() + HOUR_MS;
    const tasks = makeTasks(s.tasks, () => dueAt);
    await sleep(s.memorySettleMs);
    const beforeBytes = await usedMemory(url);
    await enqueueAll(adapter, tasks, s);
    await sleep(s.memorySettleMs);
    const afterBytes = await usedMemory(url);
    return { bytesPerTask: (afterBytes - beforeBytes) / s.tasks, beforeBytes, afterBytes };
  });
}
