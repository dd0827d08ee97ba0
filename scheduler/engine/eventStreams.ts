/**
 * Reading the per-shard lifecycle event streams beyond plain XRANGE: where each stream ends now,
 * whether trimming removed entries after a reader's position (a gap it must be told about), and
 * blocking until any shard has entries after given positions (one connection per tail).
 */
import type { Redis } from "ioredis";

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
export async function streamHeads(redis: Redis, keys: readonly string[]): Promise<string[]> {
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.xrevrange(key, "+", "-", "COUNT", 1);
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([error, value]) => {
    if (error !== null) throw error;
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
export async function trimmedPast(redis: Redis, key: string, afterId: string): Promise<boolean> {
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

/** A dedicated connection that blocks until streams have entries after given ids. */
export class StreamTail {
  private readonly connection: Redis;

  constructor(redis: Redis) {
    this.connection = redis.duplicate();
  }

  /** Resolves when any stream has an entry after its id, after timeoutMs, or on abort. */
  async wait(
    keys: readonly string[],
    afterIds: readonly string[],
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    if (signal.aborted) return;
    const onAbort = (): void => {
      // Unblocks the XREAD at once; the connection is closed by close().
      this.connection.disconnect();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      await this.connection.xread(
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

  close(): void {
    this.connection.disconnect();
  }
}
