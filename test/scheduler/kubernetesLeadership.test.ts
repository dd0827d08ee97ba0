import { randomBytes } from "node:crypto";
import { CoordinationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Scheduler } from "../../scheduler/scheduler.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { testAdminKubeConfig, useFreshRedisDatabase } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { startTestScheduler } from "./support.js";

let db: RedisDatabase;
const namespace = `leases-${randomBytes(3).toString("hex")}`;
const started: Scheduler[] = [];

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  await testAdminKubeConfig()
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name: namespace } } });
});
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
  await db.close();
});

describe("shard leadership with coordination.k8s.io/v1 Leases on a real kube-apiserver", () => {
  it("splits shards between replicas, and a stopped replica's shards move with a new epoch", async () => {
    const kubeConfig = testAdminKubeConfig();
    const leadership = {
      kind: "kubernetes" as const,
      kubeConfig,
      namespace,
      leaseNamePrefix: "ddq",
    };
    const prefix = `k8s${randomBytes(3).toString("hex")}`;
    const a = await startTestScheduler(db, {
      prefix,
      shardCount: 4,
      identity: "replica-a",
      leadership,
    });
    started.push(a);
    expect(a.ledShards()).toEqual([0, 1, 2, 3]);
    const epochsBefore = [0, 1, 2, 3].map((s) => Number(a.epochOf(s)));

    const b = await startTestScheduler(db, {
      prefix,
      shardCount: 4,
      identity: "replica-b",
      leadership,
    });
    started.push(b);
    // a sees two replicas, hands back two shards; b takes them.
    await waitFor(() => a.ledShards().length === 2 && b.ledShards().length === 2, {
      description: "the shards to split 2/2",
      timeoutMs: 20_000,
    });
    const leases = await kubeConfig
      .makeApiClient(CoordinationV1Api)
      .listNamespacedLease({ namespace });
    const holders = new Map(
      leases.items.map((l) => [l.metadata?.name ?? "", l.spec?.holderIdentity ?? ""]),
    );
    for (const shard of a.ledShards()) expect(holders.get(`ddq-shard-${shard}`)).toBe("replica-a");
    for (const shard of b.ledShards()) expect(holders.get(`ddq-shard-${shard}`)).toBe("replica-b");
    for (const shard of b.ledShards())
      expect(Number(b.epochOf(shard))).toBeGreaterThan(epochsBefore[shard] ?? 0);

    // Tasks go through whichever replica leads their shard.
    const { task } = await b.enqueue({ topic: "k" });
    expect(b.ledShards()).toContain(task.shard);

    const bShards = b.ledShards();
    await b.stop(); // releases its Leases: a takes over at once, with new epochs
    started.splice(started.indexOf(b), 1);
    await waitFor(() => a.ledShards().length === 4, {
      description: "a to lead all shards again",
      timeoutMs: 20_000,
    });
    for (const shard of bShards) expect(a.epochOf(shard)).toBeDefined();
    const [leased] = await a.lease({ topics: ["k"], max: 1 });
    expect(leased?.id).toBe(task.id);
  });
});
