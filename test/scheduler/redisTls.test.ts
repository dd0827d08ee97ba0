/**
 * Redis over TLS, as the chart configures it (DDQ_REDIS_URL=rediss://..., DDQ_REDIS_TLS_CA_FILE
 * from a Secret): a real redis-server listening on TLS only, a `ddq scheduler` process trusting
 * its CA, and a task going through it. Without the CA the scheduler cannot connect.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskSpec, TaskState } from "../../proto/gen/ddq/v1/task.js";
import { DdqClient } from "../../client/ddqClient.js";
import { ManagedProcess } from "../env/managedProcess.js";
import { createControlPlanePki, type ControlPlanePki } from "../env/pki.js";
import { freeLoopbackPort } from "../env/ports.js";
import { redisServerBinary } from "../env/redisServer.js";
import { testScratchDir } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { killAllCli, startCli, waitReady, LOOPBACK_LISTENERS } from "../api/support.js";

let dir: string;
let pki: ControlPlanePki;
let redis: ManagedProcess;
let port: number;

beforeAll(async () => {
  dir = testScratchDir("redis-tls");
  pki = await createControlPlanePki(join(dir, "pki"));
  port = await freeLoopbackPort();
  redis = ManagedProcess.start({
    name: "redis-server (TLS)",
    command: redisServerBinary(),
    args: [
      "--port",
      "0",
      "--tls-port",
      String(port),
      "--tls-cert-file",
      pki.serving.certFile,
      "--tls-key-file",
      pki.serving.keyFile,
      "--tls-ca-cert-file",
      pki.ca.certFile,
      "--tls-auth-clients",
      "no",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
    ],
    logFile: join(dir, "redis.log"),
  });
});

afterAll(async () => {
  killAllCli();
  await redis.stop();
});

function schedulerArgs(): string[] {
  return [
    "scheduler",
    "--auth-disabled",
    "--redis-url",
    `rediss://127.0.0.1:${port}/0`,
    ...LOOPBACK_LISTENERS,
    "--shards",
    "2",
  ];
}

describe("Redis over TLS", () => {
  it("a scheduler trusting the server's CA serves tasks", async () => {
    const scheduler = startCli(schedulerArgs(), { DDQ_REDIS_TLS_CA_FILE: pki.ca.certFile });
    const ready = await waitReady(scheduler);
    const client = new DdqClient({ address: `127.0.0.1:${String(ready.grpcPort)}` });
    try {
      const { task } = await client.enqueue(TaskSpec.fromPartial({ topic: "tls" }));
      const leased = await waitFor(
        async () => (await client.lease({ topics: ["tls"], max: 1 })).tasks[0],
        { description: "the task leased through the TLS connection" },
      );
      expect(leased.id).toBe(task?.id);
      await client.ack([
        { id: leased.id, topic: "tls", leaseToken: leased.leaseToken, result: Buffer.alloc(0) },
      ]);
      expect((await client.get(leased.id)).state).toBe(TaskState.TASK_STATE_SUCCEEDED);
    } finally {
      client.close();
      scheduler.child.kill("SIGTERM");
      expect(await scheduler.exited).toBe(0);
    }
  });

  it("without the CA the scheduler does not come up, and says why", async () => {
    const scheduler = startCli(schedulerArgs());
    await waitFor(() => /certificate|self.signed|verify/i.test(scheduler.stderr()), {
      description: "a certificate verification error in the scheduler's log",
      timeoutMs: 20_000,
    });
    expect(scheduler.stdout()).not.toContain('"ready":true');
    scheduler.child.kill("SIGKILL");
    await scheduler.exited;
  });
});
