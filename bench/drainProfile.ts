/**
 * Development aid: Redis time per task of each drain transition, measured separately.
 * Enqueues N tasks due shortly, lets the firing loops fire them (no consumer), then leases all
 * (no acks), then acks all. Prints Redis CPU and EVALSHA µs per task for each phase.
 *
 *   npx tsx bench/drainProfile.ts [tasks]
 */
import { Redis } from "ioredis";
import { startBenchScheduler } from "./adapters/ddqScheduler.js";
import { withFreshRedis } from "./benchRedis.js";
import { startUsageMeter, type Usage } from "./usage.js";
import type { LeasedTask } from "../scheduler/engine/model.js";

const N = Number(process.argv[2] ?? 50_000);
const TOPIC = "bench";
const payload = (i: number): Buffer =>
  Buffer.from(JSON.stringify({ i, due: Date.now(), p: "x".repeat(30) }));

function line(name: string, u: Usage): string {
  const ev = u.topCommands.find((c) => c.command === "evalsha");
  const inner = u.topCommands
    .filter((c) => c.command !== "evalsha")
    .map((c) => `${c.command} ${((c.ms * 1000) / N).toFixed(2)}`)
    .join(", ");
  return `${name.padEnd(6)} redis CPU ${((u.redisCpuSeconds * 1e6) / N).toFixed(1)} µs/task, evalsha ${(((ev?.ms ?? 0) * 1000) / N).toFixed(1)} µs/task (${ev?.calls ?? 0} calls); ${inner}`;
}

await withFreshRedis(async (server) => {
  const scheduler = await startBenchScheduler(server.port, 16);
  const redis = new Redis(server.url);
  try {
    // Late enough for the enqueue to end first, even on a busy machine.
    const due = Date.now() + 3000 + N / 10;
    for (let i = 0; i < N; i += 1000) {
      const batch = [];
      for (let j = i; j < Math.min(N, i + 1000); j++)
        batch.push({ topic: TOPIC, payload: payload(j), due: { atMs: due } });
      await scheduler.enqueueBatch(batch);
    }
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now() - 500)));
    let meter = await startUsageMeter(server.url);
    await new Promise((r) => setTimeout(r, 2500));
    const fire = await meter();
    const leased: LeasedTask[] = [];
    meter = await startUsageMeter(server.url);
    while (leased.length < N) {
      const got = await scheduler.lease({ topics: [TOPIC], max: 500, waitMs: 1000 });
      if (got.length === 0) throw new Error(`lease returned nothing at ${leased.length}`);
      leased.push(...got);
    }
    const lease = await meter();
    meter = await startUsageMeter(server.url);
    for (let i = 0; i < leased.length; i += 500) {
      const answers = await scheduler.ackMany(
        leased
          .slice(i, i + 500)
          .map((t) => ({ id: t.id, topic: t.topic, leaseToken: t.leaseToken })),
      );
      if (answers.some((a) => a !== undefined)) throw new Error("ack failed");
    }
    const ack = await meter();
    console.log(line("fire", fire));
    console.log(line("lease", lease));
    console.log(line("ack", ack));
    const total = fire.redisCpuSeconds + lease.redisCpuSeconds + ack.redisCpuSeconds;
    console.log(`total  redis CPU ${((total * 1e6) / N).toFixed(1)} µs/task`);
    const mem = await redis.info("memory");
    console.log(`used_memory after ack ${/used_memory:(\d+)/.exec(mem)?.[1]}`);
  } finally {
    redis.disconnect();
    await scheduler.stop();
  }
});
