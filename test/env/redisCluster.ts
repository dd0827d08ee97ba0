import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { ManagedProcess } from "./managedProcess.js";
import { freeLoopbackPort } from "./ports.js";
import { redisServerBinary } from "./redisServer.js";
import { waitFor } from "./waitFor.js";

const run = promisify(execFile);

/** The redis-cli binary: $DDQ_REDIS_CLI, else the Debian package's on PATH. */
export function redisCliBinary(): string {
  return process.env.DDQ_REDIS_CLI ?? "redis-cli";
}

export interface ClusterNode {
  host: string;
  port: number;
}

/**
 * A real Redis Cluster of `masters` primaries (no replicas) on loopback ports: each node a
 * redis-server with cluster-enabled (client port and bus port both asked of the kernel), joined
 * with `redis-cli --cluster create`, ready once every node reports cluster_state:ok.
 */
export class RedisCluster {
  private constructor(
    readonly nodes: readonly ClusterNode[],
    private readonly processes: readonly ManagedProcess[],
    /** Every node requires it (requirepass, masterauth) when set. */
    readonly password: string | undefined,
  ) {}

  static async start(
    dir: string,
    options: { masters?: number; password?: string } = {},
  ): Promise<RedisCluster> {
    const { masters = 3, password } = options;
    const auth =
      password === undefined ? [] : ["--requirepass", password, "--masterauth", password];
    mkdirSync(dir, { recursive: true });
    const nodes: ClusterNode[] = [];
    const processes: ManagedProcess[] = [];
    try {
      for (let i = 0; i < masters; i += 1) {
        const port = await freeLoopbackPort();
        const busPort = await freeLoopbackPort();
        const proc = ManagedProcess.start({
          name: `redis-cluster-node:${port}`,
          command: redisServerBinary(),
          args: [
            "--port",
            String(port),
            "--bind",
            "127.0.0.1",
            "--cluster-enabled",
            "yes",
            "--cluster-port",
            String(busPort),
            "--cluster-config-file",
            `nodes-${port}.conf`,
            "--dir",
            dir,
            "--daemonize",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
            ...auth,
          ],
          logFile: join(dir, `redis-${port}.log`),
        });
        processes.push(proc);
        nodes.push({ host: "127.0.0.1", port });
        await waitFor(() => answers(port, password, "PING", (reply) => reply === "PONG"), {
          description: `cluster node on port ${port} to answer PING`,
          timeoutMs: 20_000,
          abortIf: () => proc.exitedError(),
        });
      }
      await run(redisCliBinary(), [
        ...(password === undefined ? [] : ["-a", password, "--no-auth-warning"]),
        "--cluster",
        "create",
        ...nodes.map((n) => `${n.host}:${n.port}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ]);
      for (const node of nodes) {
        await waitFor(
          () =>
            answers(node.port, password, "CLUSTER INFO", (reply) =>
              reply.includes("cluster_state:ok"),
            ),
          {
            description: `cluster node ${node.port} to report cluster_state:ok`,
            timeoutMs: 30_000,
          },
        );
      }
    } catch (error) {
      await Promise.all(processes.map((p) => p.stop()));
      throw error;
    }
    return new RedisCluster(nodes, processes, password);
  }

  /** "host:port" of the primary that serves `key`'s hash slot (CLUSTER KEYSLOT + CLUSTER SLOTS). */
  async nodeOf(key: string): Promise<string> {
    const client = connect(this.nodes[0]?.port ?? 0, this.password);
    try {
      const slot = Number(await client.call("CLUSTER", "KEYSLOT", key));
      const ranges = (await client.call("CLUSTER", "SLOTS")) as [
        number,
        number,
        [string, number],
      ][];
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (range === undefined) throw new Error(`no node serves slot ${slot}`);
      return `${range[2][0]}:${range[2][1]}`;
    } finally {
      client.disconnect();
    }
  }

  /** The keys matching `pattern` on one node (by "host:port"). */
  async keysOn(node: string, pattern: string): Promise<string[]> {
    const port = Number(node.split(":")[1]);
    const client = connect(port, this.password);
    try {
      return await client.keys(pattern);
    } finally {
      client.disconnect();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
  }
}

function connect(port: number, password: string | undefined): Redis {
  const client = new Redis({
    port,
    ...(password === undefined ? {} : { password }),
    host: "127.0.0.1",
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on("error", () => undefined);
  return client;
}

async function answers(
  port: number,
  password: string | undefined,
  command: string,
  check: (reply: string) => boolean,
): Promise<boolean> {
  const client = connect(port, password);
  try {
    const [name = "", ...args] = command.split(" ");
    const reply = await client.call(name, ...args);
    return check(String(reply));
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
