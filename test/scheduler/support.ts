import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { ShardKeys } from "../../scheduler/engine/keys.js";
import { DEFAULT_LIMITS } from "../../scheduler/engine/model.js";
import { ScriptRunner } from "../../scheduler/engine/scripts.js";
import { ShardEngine, type ShardEngineSettings } from "../../scheduler/engine/shardEngine.js";
import { Scheduler, type SchedulerOptions } from "../../scheduler/scheduler.js";
import type { RedisDatabase } from "../env/redisDatabase.js";

/** Fast leader-election timing for tests (client-go's rule still holds). */
export const FAST_LEASE_TIMING = {
  leaseDurationMs: 3_000,
  renewDeadlineMs: 2_000,
  retryPeriodMs: 500,
};

/** A scheduler on a test database under a key prefix of its own, so tests in a file never collide. */
export async function startTestScheduler(
  db: Pick<RedisDatabase, "url">,
  options: Partial<SchedulerOptions> = {},
): Promise<Scheduler> {
  return Scheduler.start({
    ...(options.redisCluster === undefined ? { redisUrl: db.url } : {}),
    prefix: options.prefix ?? `t${randomBytes(4).toString("hex")}`,
    shardCount: 4,
    leaseTiming: FAST_LEASE_TIMING,
    ...options,
  });
}

export const bytes = (text: string): Uint8Array => Buffer.from(text, "utf8");
export const text = (data: Uint8Array): string => Buffer.from(data).toString("utf8");

/**
 * A ShardEngine for one shard's keys on `redis`, holding the shard's epoch: bumped (a new leader)
 * unless `epoch` is given. For tests of the scripts themselves, without a Scheduler.
 */
export async function openShardEngine(
  redis: Redis,
  keys: ShardKeys,
  settings: Partial<ShardEngineSettings> = {},
  epoch?: string,
): Promise<ShardEngine> {
  return new ShardEngine(
    new ScriptRunner(redis),
    keys,
    epoch ?? String(await redis.incr(keys.epoch)),
    {
      maxHorizonMs: DEFAULT_LIMITS.maxHorizonMs,
      eventsMaxLen: 1_000,
      idempotencyRetentionMs: 60_000,
      finishedRetentionMs: 60_000,
      leaseRequestRetentionMs: 60_000,
      ...settings,
    },
  );
}
