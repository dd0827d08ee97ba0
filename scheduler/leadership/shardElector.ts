import { checkLeaseTiming, type LeaseBackend, type LeaseTiming } from "./leaseBackend.js";

export interface ShardElectorCallbacks {
  /** This node became leader of `shard` with fencing token `epoch`. */
  onStartedLeading(shard: number, epoch: string): void;
  /** This node must stop acting as leader of `shard` (lost, deadline missed, or released). */
  onStoppedLeading(shard: number): void;
}

export interface ShardElectorOptions {
  shardCount: number;
  backend: LeaseBackend;
  timing: LeaseTiming;
  /** Takes a new epoch for a shard whose lease the backend does not epoch itself. */
  bumpEpoch(shard: number): Promise<string>;
  /** How many shards this node should hold now (ceil(shards / live replicas)). */
  targetShardCount(): Promise<number>;
  callbacks: ShardElectorCallbacks;
  log?: (message: string) => void;
  /** Monotonic clock, injectable for tests. */
  now?: () => number;
}

interface Held {
  epoch: string;
  lastRenewMs: number;
}

/**
 * Leader election for every shard, in client-go's style: each retryPeriod, renew the shards held
 * and try to acquire free ones up to this node's share; a shard not renewed within renewDeadline
 * is given up *before* its lease (leaseDuration) can pass to another node. Whatever the timing,
 * the Redis epoch fences a deposed leader's writes.
 */
export class ShardElector {
  private readonly held = new Map<number, Held>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private round: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly options: ShardElectorOptions) {
    checkLeaseTiming(options.timing);
    this.now = options.now ?? (() => performance.now());
  }

  heldShards(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  epochOf(shard: number): string | undefined {
    return this.held.get(shard)?.epoch;
  }

  /** Runs the first round (so the shards that are free are held on return), then keeps electing. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.runRound();
    this.schedule(this.options.timing.retryPeriodMs);
  }

  /** Runs one acquire/renew round now (tests and start-up use it to avoid waiting a period). */
  async runRound(): Promise<void> {
    this.round = this.round.then(() => this.electRound());
    await this.round;
  }

  /** Stops electing and releases every held shard. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.round;
    for (const shard of this.heldShards()) await this.giveUp(shard, true);
  }

  /** Called when a write of the shard was rejected as STALE_EPOCH: someone else leads it now. */
  lost(shard: number): void {
    if (!this.held.has(shard)) return;
    this.held.delete(shard);
    this.options.log?.(`shard ${shard}: fenced off by a newer epoch`);
    this.options.callbacks.onStoppedLeading(shard);
  }

  /** A method, not the field, so type narrowing does not assume it is unchanged across awaits. */
  private isRunning(): boolean {
    return this.running;
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      void this.runRound().finally(() => {
        this.schedule(this.options.timing.retryPeriodMs * (1 + Math.random() * 0.2));
      });
    }, delayMs);
  }

  private async electRound(): Promise<void> {
    if (!this.running) return;
    const { shardCount, backend, timing } = this.options;
    let target: number;
    try {
      target = Math.max(1, Math.min(shardCount, await this.options.targetShardCount()));
    } catch (error) {
      this.options.log?.(
        `could not read the replica count, keeping the current share: ${String(error)}`,
      );
      target = Math.max(this.held.size, 1);
    }
    // Renew what we hold, or give it up when the renew deadline passed.
    for (const [shard, entry] of [...this.held]) {
      try {
        const result = await backend.tryAcquireOrRenew(shard);
        if (result.held) {
          entry.lastRenewMs = this.now();
          if (result.epoch !== undefined && result.epoch !== entry.epoch) {
            // The epoch moved under us: another leader existed in between. Start over.
            await this.giveUp(shard, false);
          }
          continue;
        }
        await this.giveUp(shard, false);
      } catch (error) {
        this.options.log?.(`shard ${shard}: renew failed: ${String(error)}`);
        if (this.now() - entry.lastRenewMs > timing.renewDeadlineMs)
          await this.giveUp(shard, false);
      }
    }
    // Hand back shards above our share (highest first), so other replicas can take them.
    const mine = this.heldShards();
    while (mine.length > target) {
      const shard = mine.pop();
      if (shard !== undefined) await this.giveUp(shard, true);
    }
    // Take free shards up to our share, starting at a node-specific offset to spread contention.
    const offset = Math.floor(Math.random() * shardCount);
    for (let i = 0; i < shardCount && this.held.size < target && this.isRunning(); i += 1) {
      const shard = (offset + i) % shardCount;
      if (this.held.has(shard)) continue;
      try {
        const result = await backend.tryAcquireOrRenew(shard);
        if (!result.held) continue;
        const epoch = result.epoch ?? (await this.options.bumpEpoch(shard));
        this.held.set(shard, { epoch, lastRenewMs: this.now() });
        this.options.log?.(`shard ${shard}: leading with epoch ${epoch}`);
        this.options.callbacks.onStartedLeading(shard, epoch);
      } catch (error) {
        this.options.log?.(`shard ${shard}: acquire failed: ${String(error)}`);
      }
    }
  }

  private async giveUp(shard: number, release: boolean): Promise<void> {
    if (this.held.delete(shard)) this.options.callbacks.onStoppedLeading(shard);
    if (release) {
      try {
        await this.options.backend.release(shard);
      } catch (error) {
        this.options.log?.(`shard ${shard}: release failed: ${String(error)}`);
      }
    }
  }
}
