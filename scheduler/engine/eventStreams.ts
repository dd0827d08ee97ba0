/**
 * Reading the per-shard lifecycle event streams beyond plain XRANGE: where each stream ends now,
 * whether trimming removed entries after a reader's position (a gap it must be told about), and
 * blocking until any shard has entries after given positions (one connection per tail).
 */
import { isCluster, readEach, type RedisClient } from "./redisClient.js";

/** Stream ids "ms-seq" compared numerically. */
export function compareStreamIds(a: string, b: string): number {
  const [am = "0", as = "0"] = a.split("-");
  const [bm = "0", bs = "0"] = b.split("-");
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

/** The id of each stream's newest entry ("0-0" for an empty stream). */
export async function streamHeads(redis: RedisClient, keys: readonly string[]): Promise<string[]> {
  const replies = await readEach(redis, keys, (pipeline, key) => {
    pipeline.xrevrange(key, "+", "-", "COUNT", 1);
  });
  return replies.map((value) => {
    const [entry] = value as [string, string[]][];
    return entry?.[0] ?? "0-0";
  });
}

/**
 * True when trimming may have deleted an entry newer than `afterId`, so a reader positioned
 * there would miss events. Trimming removes the oldest entries, so this is the case when
 * something was ever removed and the oldest kept entry is newer than the position. (When the
 * position was exactly the last removed entry nothing was lost, but the stream cannot tell: the
 * answer errs towards a resynchronisation, never towards a silent gap.)
 */
export async function trimmedPast(
  redis: RedisClient,
  key: string,
  afterId: string,
): Promise<boolean> {
  let info: unknown[];
  try {
    info = (await redis.call("XINFO", "STREAM", key)) as unknown[];
  } catch (error) {
    if (error instanceof Error && /no such key/i.test(error.message)) return false;
    throw error;
  }
  const field = (name: string): unknown => {
    const index = info.indexOf(name);
    return index >= 0 ? info[index + 1] : undefined;
  };
  const removed = Number(field("entries-added")) - Number(field("length"));
  if (!(removed > 0)) return false;
  const first = field("first-entry");
  const firstId = Array.isArray(first) && typeof first[0] === "string" ? first[0] : undefined;
  const lastGenerated = String(field("last-generated-id"));
  return compareStreamIds(afterId, firstId ?? lastGenerated) < 0;
}

/** Read through a call so the compiler does not narrow it: abort happens meanwhile. */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

/** How often a tail over a Redis Cluster looks for new entries. */
const CLUSTER_TAIL_POLL_MS = 50;

/**
 * A dedicated connection that blocks until streams have entries after given ids. On one node:
 * one blocking XREAD over every stream. In a Redis Cluster the shards' streams are in different
 * hash slots, so one XREAD cannot cover them (CROSSSLOT) and a blocking XREAD per stream would
 * need a connection per shard: the tail instead reads every stream without blocking (one XREAD
 * per stream, sent together per node) every CLUSTER_TAIL_POLL_MS until one has entries.
 */
export class StreamTail {
  private readonly connection: RedisClient | undefined;

  constructor(private readonly redis: RedisClient) {
    this.connection = isCluster(redis) ? undefined : redis.duplicate();
  }

  /** Resolves when any stream has an entry after its id, after timeoutMs, or on abort. */
  async wait(
    keys: readonly string[],
    afterIds: readonly string[],
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    if (signal.aborted) return;
    if (this.connection === undefined) {
      await this.poll(keys, afterIds, timeoutMs, signal);
      return;
    }
    const connection = this.connection;
    const onAbort = (): void => {
      // Unblocks the XREAD at once; the connection is closed by close().
      connection.disconnect();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      await connection.xread(
        "COUNT",
        1,
        "BLOCK",
        Math.max(1, Math.floor(timeoutMs)),
        "STREAMS",
        ...keys,
        ...afterIds,
      );
    } catch (error) {
      if (!isAborted(signal)) throw error;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  private async poll(
    keys: readonly string[],
    afterIds: readonly string[],
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const replies = await Promise.all(
        keys.map((key, index) =>
          this.redis.xread("COUNT", 1, "STREAMS", key, afterIds[index] ?? "0-0"),
        ),
      );
      if (replies.some((reply) => reply !== null) || isAborted(signal)) return;
      const left = deadline - Date.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(CLUSTER_TAIL_POLL_MS, left));
        signal.addEventListener("abort", done, { once: true });
      });
      if (isAborted(signal)) return;
    }
  }

  close(): void {
    this.connection?.disconnect();
  }
}
