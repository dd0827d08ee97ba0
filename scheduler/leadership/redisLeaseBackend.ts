import { ShardKeys } from "../engine/keys.js";
import { replyArray, replyString, type ScriptRunner } from "../engine/scripts.js";
import type { LeaseBackend } from "./leaseBackend.js";

/** Shard leases as Redis keys with a TTL (acquireLeader.lua / releaseLeader.lua). */
export class RedisLeaseBackend implements LeaseBackend {
  readonly kind = "redis";

  constructor(
    private readonly scripts: ScriptRunner,
    private readonly prefix: string,
    private readonly identity: string,
    private readonly leaseDurationMs: number,
  ) {}

  async tryAcquireOrRenew(
    shard: number,
  ): Promise<{ held: boolean; epoch?: string; holder?: string }> {
    const keys = new ShardKeys(this.prefix, shard);
    const [held, value] = replyArray(
      await this.scripts.run(
        "acquireLeader",
        [keys.leader, keys.epoch],
        [this.identity, this.leaseDurationMs],
      ),
    ).map(replyString);
    return held === "1" ? { held: true, epoch: value ?? "" } : { held: false, holder: value ?? "" };
  }

  async release(shard: number): Promise<void> {
    const keys = new ShardKeys(this.prefix, shard);
    await this.scripts.run("releaseLeader", [keys.leader], [this.identity]);
  }
}
