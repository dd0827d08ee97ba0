import { loadavg } from "node:os";
import { Redis } from "ioredis";
import { withTimeout } from "./timeouts.js";

/** One second of a run: what was delivered and what it cost. */
export interface TimelineTick {
  /** Seconds since the timeline started (the window's start). */
  t: number;
  /** Distinct occurrences with a slot in the window received so far. */
  deliveredInWindow: number;
  /** Occurrences received during this tick (any slot). */
  received: number;
  /** CPU seconds of the benchmark process (scheduler and consumer) during this tick. */
  processCpuS: number;
  /** CPU seconds of redis-server during this tick. */
  redisCpuS: number;
  /** The machine's 1-minute load average (it is shared). */
  load1: number;
}

const round = (v: number): number => Math.round(v * 1000) / 1000;

async function redisCpu(client: Redis): Promise<number> {
  const info = await withTimeout(client.info("cpu"), 5_000, "INFO cpu");
  const field = (name: string): number =>
    Number(new RegExp(`^${name}:([\\d.]+)\\r?$`, "m").exec(info)?.[1] ?? Number.NaN);
  return field("used_cpu_user") + field("used_cpu_sys");
}

/**
 * Samples, every second, the CPU of redis-server and of this process and the delivery counters
 * given by `counters`: where the time goes while the schedules fire. `stop` ends it.
 */
export async function startTimeline(
  url: string,
  counters: () => { deliveredInWindow: number; received: number },
): Promise<{ stop(): Promise<TimelineTick[]> }> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on("error", () => undefined);
  const ticks: TimelineTick[] = [];
  const started = performance.now();
  let last = {
    process: process.cpuUsage(),
    redis: await redisCpu(client),
    received: counters().received,
  };
  let busy = false;
  const sample = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      const redis = await redisCpu(client);
      const at = performance.now();
      const processNow = process.cpuUsage();
      const cpu = process.cpuUsage(last.process);
      const c = counters();
      ticks.push({
        t: round((at - started) / 1000),
        deliveredInWindow: c.deliveredInWindow,
        received: c.received - last.received,
        processCpuS: round((cpu.user + cpu.system) / 1e6),
        redisCpuS: round(redis - last.redis),
        load1: Math.round((loadavg()[0] ?? 0) * 100) / 100,
      });
      last = { process: processNow, redis, received: c.received };
    } catch {
      // A missed sample (Redis slow to answer INFO) leaves a longer next tick; t tells.
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void sample(), 1_000);
  return {
    stop: () => {
      clearInterval(timer);
      client.disconnect();
      return Promise.resolve(ticks);
    },
  };
}
