import { Redis } from "ioredis";
import { withTimeout } from "./timeouts.js";

export interface CommandUse {
  command: string;
  calls: number;
  /** Time redis-server spent in the command, ms (for EVALSHA: the whole script). */
  ms: number;
}

/** What an interval cost: CPU of redis-server and of this (client) process, and commands run. */
export interface Usage {
  wallSeconds: number;
  redisCpuSeconds: number;
  /** redisCpuSeconds / wallSeconds: near 1 means redis-server's one thread was saturated. */
  redisBusy: number;
  clientCpuSeconds: number;
  clientBusy: number;
  /** Commands by time spent, most first (commands called inside scripts are listed too). */
  topCommands: CommandUse[];
}

interface RedisSample {
  cpuSeconds: number;
  commands: Map<string, { calls: number; usec: number }>;
}

async function sampleRedis(url: string): Promise<RedisSample> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on("error", () => undefined);
  try {
    const [cpu, stats] = await withTimeout(
      Promise.all([client.info("cpu"), client.info("commandstats")]),
      10_000,
      "INFO cpu / INFO commandstats",
    );
    const field = (name: string): number => {
      const match = new RegExp(`^${name}:([\\d.]+)\\r?$`, "m").exec(cpu);
      if (match?.[1] === undefined) throw new Error(`INFO cpu has no ${name} field`);
      return Number(match[1]);
    };
    const commands = new Map<string, { calls: number; usec: number }>();
    for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
      commands.set(m[1] ?? "", { calls: Number(m[2]), usec: Number(m[3]) });
    }
    return { cpuSeconds: field("used_cpu_user") + field("used_cpu_sys"), commands };
  } finally {
    client.disconnect();
  }
}

const round = (value: number): number => Math.round(value * 1000) / 1000;

/** Starts measuring; the returned function ends the interval and reports it. */
export async function startUsageMeter(url: string): Promise<() => Promise<Usage>> {
  const redisStart = await sampleRedis(url);
  const clientStart = process.cpuUsage();
  const wallStart = performance.now();
  return async () => {
    const wallSeconds = (performance.now() - wallStart) / 1000;
    const client = process.cpuUsage(clientStart);
    const clientCpuSeconds = (client.user + client.system) / 1e6;
    const redisEnd = await sampleRedis(url);
    const redisCpuSeconds = redisEnd.cpuSeconds - redisStart.cpuSeconds;
    const topCommands = [...redisEnd.commands]
      .map(([command, end]) => {
        const start = redisStart.commands.get(command) ?? { calls: 0, usec: 0 };
        return {
          command,
          calls: end.calls - start.calls,
          ms: round((end.usec - start.usec) / 1000),
        };
      })
      .filter((c) => c.calls > 0 && c.command !== "info")
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 8);
    return {
      wallSeconds: round(wallSeconds),
      redisCpuSeconds: round(redisCpuSeconds),
      redisBusy: round(redisCpuSeconds / wallSeconds),
      clientCpuSeconds: round(clientCpuSeconds),
      clientBusy: round(clientCpuSeconds / wallSeconds),
      topCommands,
    };
  };
}
