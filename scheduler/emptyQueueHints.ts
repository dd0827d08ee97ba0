/**
 * Ready queues ("<shard>|<topic>") known to be empty: a lease script found or left them empty,
 * and nothing has made a task of that shard ready since the script was sent. Exact, because only
 * this replica (the shard's leader) makes tasks ready on the shard and tells these hints
 * (`readied`). A lease skips a shard whose topics are all known empty.
 *
 * Bounded: topics are named by clients, so at most `maxEntries` hints are kept, the oldest
 * forgotten first (forgetting one only costs a lease a script call).
 */
export class EmptyQueueHints {
  private readonly empty = new Set<string>();
  /** Per shard: how many times tasks became ready on it (guards `markEmpty`). */
  private readonly versions = new Map<number, number>();

  constructor(private readonly maxEntries = 100_000) {}

  isEmpty(shard: number, topic: string): boolean {
    return this.empty.has(`${shard}|${topic}`);
  }

  /** The shard's version now: pass it to `markEmpty` for a lease sent now. */
  version(shard: number): number {
    return this.versions.get(shard) ?? 0;
  }

  /**
   * A lease sent at `sentVersion` found or left `topic`'s queue empty: remembered unless tasks
   * became ready on the shard since (their notification may have run before this).
   */
  markEmpty(shard: number, topic: string, sentVersion: number): void {
    if (this.version(shard) !== sentVersion) return;
    const key = `${shard}|${topic}`;
    if (this.empty.has(key)) return;
    if (this.empty.size >= this.maxEntries) {
      const oldest = this.empty.values().next();
      if (oldest.done !== true) this.empty.delete(oldest.value);
    }
    this.empty.add(key);
  }

  /** Tasks of `topic` became ready on `shard`. */
  readied(shard: number, topic: string): void {
    this.empty.delete(`${shard}|${topic}`);
    this.versions.set(shard, this.version(shard) + 1);
  }

  /** The shard is no longer led here: what is known of it may change without notice. */
  forgetShard(shard: number): void {
    const prefix = `${shard}|`;
    for (const key of this.empty) if (key.startsWith(prefix)) this.empty.delete(key);
    this.versions.set(shard, this.version(shard) + 1);
  }

  /** Hints kept now, for tests. */
  get size(): number {
    return this.empty.size;
  }
}
