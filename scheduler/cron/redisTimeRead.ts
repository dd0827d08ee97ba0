/**
 * Reads fields of a hash together with Redis TIME, in one round trip to the node that holds the
 * hash: a cron edit or manual trigger plans with the clock of the Redis its scripts run on
 * (Redis TIME is the only clock that decides what is due), not with the local one. A Redis
 * Cluster pipeline goes to the node of its keyed command, so TIME comes from that node too.
 */
import type { RedisClient } from "../engine/redisClient.js";

export interface FieldsAtRedisTime {
  values: (string | null)[];
  redisNowMs: number;
}

export async function hmgetAtRedisTime(
  redis: RedisClient,
  key: string,
  fields: readonly string[],
): Promise<FieldsAtRedisTime> {
  const replies = await redis
    .pipeline()
    .hmget(key, ...fields)
    .time()
    .exec();
  if (replies === null) throw new Error(`reading ${key}: the pipeline was not run`);
  for (const [error] of replies) if (error !== null) throw error;
  const values = replies[0]?.[1] as (string | null)[];
  const [seconds, micros] = replies[1]?.[1] as [string, string];
  return { values, redisNowMs: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) };
}
