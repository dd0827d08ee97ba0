import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { DdqClient, type ClientOptions } from "../../client/ddqClient.js";
import { ApiServer, type ApiServerOptions } from "../../scheduler/api/apiServer.js";
import { NoAuthentication } from "../../scheduler/api/authenticator.js";
import type { Scheduler, SchedulerOptions } from "../../scheduler/scheduler.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { startTestScheduler } from "../scheduler/support.js";

export interface TestApi {
  scheduler: Scheduler;
  server: ApiServer;
  address: string;
  client(options?: Partial<ClientOptions>): DdqClient;
  close(): Promise<void>;
}

/** A scheduler with its gRPC server on a free loopback port (no auth unless options say so). */
export async function startTestApi(
  db: Pick<RedisDatabase, "url">,
  options: Partial<ApiServerOptions> = {},
  schedulerOptions: Partial<SchedulerOptions> = {},
): Promise<TestApi> {
  const scheduler = await startTestScheduler(db, schedulerOptions);
  const server = await ApiServer.start(scheduler, {
    listen: "127.0.0.1:0",
    authenticator: new NoAuthentication(),
    rateLimit: { ratePerSecond: 1_000_000, burst: 1_000_000 },
    log: () => undefined,
    ...options,
  });
  const address = `127.0.0.1:${server.port}`;
  const clients: DdqClient[] = [];
  return {
    scheduler,
    server,
    address,
    client: (clientOptions = {}) => {
      const client = new DdqClient({ address, ...clientOptions });
      clients.push(client);
      return client;
    },
    close: async () => {
      for (const client of clients) client.close();
      await server.shutdown(2_000);
      await scheduler.stop();
    },
  };
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A local HTTP target: answers each request with what `respond` says, and records it. */
export async function startHttpTarget(
  respond: (
    request: RecordedRequest,
  ) => Promise<{ status: number; body?: string }> | { status: number; body?: string },
): Promise<{ url: string; requests: RecordedRequest[]; close(): Promise<void> }> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const recorded: RecordedRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(recorded);
      void Promise.resolve(respond(recorded)).then(
        ({ status, body }) => {
          res.writeHead(status, { "content-type": "text/plain" });
          res.end(body ?? "");
        },
        () => {
          res.destroy();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** Flags that put a component's health and metrics listeners on free loopback ports. */
export const LOOPBACK_OBSERVABILITY = [
  "--health-listen",
  "127.0.0.1:0",
  "--metrics-listen",
  "127.0.0.1:0",
] as const;

/** The same plus the scheduler's gRPC listener (its port is in the `{"ready":true}` line). */
export const LOOPBACK_LISTENERS = [
  "--grpc-listen",
  "127.0.0.1:0",
  ...LOOPBACK_OBSERVABILITY,
] as const;

const cli = fileURLToPath(new URL("../../cli/ddq.ts", import.meta.url));
const compiledCli = fileURLToPath(new URL("../../dist/cli/ddq.js", import.meta.url));
const running = new Set<ChildProcess>();

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

/**
 * Runs `ddq <args>` in its own node process: `node --import tsx` (no wrapper process, so signals,
 * SIGKILL included, and the memory measured are the command's own), or with `compiled` the
 * built CLI (`npm run build` first), as the image runs it.
 */
export function startCli(
  args: string[],
  env: Record<string, string> = {},
  options: { compiled?: boolean } = {},
): CliProcess {
  const nodeArgs =
    options.compiled === true ? [compiledCli, ...args] : ["--import", "tsx", cli, ...args];
  const child = spawn(process.execPath, nodeArgs, {
    env: { ...process.env, DDQ_LOG_FORMAT: "text", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (err = (err + chunk.toString()).slice(-20_000)));
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? "unknown");
    });
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Runs `ddq <args>` to completion. */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const proc = startCli(args, env);
  const code = await proc.exited;
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}

/** Waits for the `{"ready":true,...}` line a long-running command prints. */
export async function waitReady(
  proc: CliProcess,
  timeoutMs = 30_000,
): Promise<Record<string, unknown>> {
  const started = Date.now();
  for (;;) {
    const line = proc
      .stdout()
      .split("\n")
      .find((l) => l.startsWith('{"ready":true'));
    if (line !== undefined) return JSON.parse(line) as Record<string, unknown>;
    if (proc.child.exitCode !== null)
      throw new Error(`process exited before ready:\n${proc.stderr()}`);
    if (Date.now() - started > timeoutMs)
      throw new Error(`not ready after ${timeoutMs} ms:\n${proc.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function killAllCli(): void {
  for (const child of running) child.kill("SIGKILL");
}
