import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { ManagedProcess } from "./managedProcess.js";
import { freeLoopbackPort } from "./ports.js";
import { waitFor } from "./waitFor.js";

export type AppendFsync = "always" | "everysec" | "no";

export interface RedisServerOptions {
  /** Working directory: config, AOF/RDB files and the log live here. */
  dir: string;
  port?: number;
  /** Enables the append-only file with this fsync policy; no persistence when omitted. */
  appendfsync?: AppendFsync;
  /** Number of logical databases (SELECT index range). */
  databases?: number;
  /** Extra `--name value` arguments passed through to redis-server. */
  extraArgs?: readonly string[];
}

/** The redis-server binary: $DDQ_REDIS_SERVER, else the Debian package's on PATH. */
export function redisServerBinary(): string {
  return process.env.DDQ_REDIS_SERVER ?? "redis-server";
}

/** A real redis-server on a loopback port, restartable on the same port and data directory. */
export class RedisServer {
  private process: ManagedProcess | undefined;
  private starts = 0;

  private constructor(
    readonly port: number,
    private readonly options: RedisServerOptions,
  ) {}

  static async start(options: RedisServerOptions): Promise<RedisServer> {
    mkdirSync(options.dir, { recursive: true });
    const server = new RedisServer(options.port ?? (await freeLoopbackPort()), options);
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get dir(): string {
    return this.options.dir;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  private args(): string[] {
    const { appendfsync, databases = 16, extraArgs = [] } = this.options;
    return [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      this.options.dir,
      "--daemonize",
      "no",
      "--save",
      "",
      "--databases",
      String(databases),
      "--appendonly",
      appendfsync === undefined ? "no" : "yes",
      ...(appendfsync === undefined ? [] : ["--appendfsync", appendfsync]),
      ...extraArgs,
    ];
  }

  private async launch(): Promise<void> {
    this.starts += 1;
    const proc = ManagedProcess.start({
      name: `redis-server:${this.port}`,
      command: redisServerBinary(),
      args: this.args(),
      logFile: join(this.options.dir, `redis-${this.starts}.log`),
    });
    this.process = proc;
    await waitFor(() => ping(this.port), {
      description: `redis-server on port ${this.port} to answer PING`,
      timeoutMs: 20_000,
      abortIf: () => proc.exitedError(),
    });
  }

  /** Graceful shutdown (SIGTERM: redis-server flushes the AOF before exiting). */
  async stop(): Promise<void> {
    await this.process?.stop();
  }

  /** kill -9: whatever the AOF fsync policy had not yet written is lost, as in a crash. */
  async kill9(): Promise<void> {
    await this.process?.kill9();
  }

  /** Starts the server again on the same port and data directory (after stop or kill9). */
  async restart(): Promise<void> {
    if (this.process?.exit === undefined) await this.stop();
    await this.launch();
  }
}

async function ping(port: number): Promise<boolean> {
  const client = new Redis({
    port,
    host: "127.0.0.1",
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.ping();
    return true;
  } finally {
    client.disconnect();
  }
}
