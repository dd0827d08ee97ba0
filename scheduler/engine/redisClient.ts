/**
 * The Redis client ddq uses: one node (a URL, or a Sentinel-managed primary) or a Redis Cluster.
 * Both expose the same commands, pipelines, scripts, pub/sub and `duplicate()`. In a cluster a
 * pipeline or multi-key command must stay within one hash slot; every shard key carries its
 * shard's hash tag (keys.ts), so per-shard work does, and reads across shards are split here.
 */
import { Cluster, type ChainableCommander, type Redis } from "ioredis";

export type RedisClient = Redis | Cluster;

export function isCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}

/**
 * One read per key, replies in key order (an error reply throws). One node: a single pipeline
 * (one round trip). A cluster: a one-command pipeline per key, all at once (ioredis sends those
 * for the same node together), since the keys of different shards live in different slots.
 */
export async function readEach(
  redis: RedisClient,
  keys: readonly string[],
  command: (pipeline: ChainableCommander, key: string) => void,
): Promise<unknown[]> {
  const run = async (batch: readonly string[]): Promise<unknown[]> => {
    const pipeline = redis.pipeline();
    for (const key of batch) command(pipeline, key);
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, value]) => {
      if (error !== null) throw error;
      return value;
    });
  };
  if (!isCluster(redis)) return run(keys);
  const replies = await Promise.all(keys.map((key) => run([key])));
  return replies.map((reply) => reply[0]);
}
