/**
 * A toxiproxy server on loopback (a TCP proxy whose faults are set through its HTTP API), for
 * tests that put network faults between a component and what it talks to (Redis).
 */
import { join } from "node:path";
import { ManagedProcess } from "./managedProcess.js";
import { freeLoopbackPort } from "./ports.js";
import { resolveToxiproxy } from "./thirdPartyTools.js";
import { waitFor } from "./waitFor.js";

export interface ToxicSpec {
  name: string;
  /** e.g. "timeout", "latency", "reset_peer". */
  type: string;
  /** "downstream" (towards the client) or "upstream" (towards the server). */
  stream?: "downstream" | "upstream";
  toxicity?: number;
  attributes: Record<string, number>;
}

export class ToxiproxyServer {
  private constructor(
    private readonly process: ManagedProcess,
    /** Base URL of the HTTP API. */
    readonly apiUrl: string,
  ) {}

  /** Starts toxiproxy-server on a free loopback port and waits until its API answers. */
  static async start(logDir: string): Promise<ToxiproxyServer> {
    const binary = await resolveToxiproxy();
    const port = await freeLoopbackPort();
    const process = ManagedProcess.start({
      name: "toxiproxy",
      command: binary,
      args: ["-host", "127.0.0.1", "-port", String(port)],
      logFile: join(logDir, "toxiproxy.log"),
    });
    const server = new ToxiproxyServer(process, `http://127.0.0.1:${port}`);
    await waitFor(async () => (await fetch(`${server.apiUrl}/version`)).ok, {
      description: "toxiproxy's HTTP API to answer",
      timeoutMs: 30_000,
      abortIf: () => process.exitedError(),
    });
    return server;
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.apiUrl}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`toxiproxy ${method} ${path}: ${response.status} ${text}`);
    return text === "" ? undefined : (JSON.parse(text) as unknown);
  }

  /** A proxy listening on a free loopback port in front of `upstream` (host:port). */
  async createProxy(name: string, upstream: string): Promise<Proxy> {
    const port = await freeLoopbackPort();
    await this.request("POST", "/proxies", {
      name,
      listen: `127.0.0.1:${port}`,
      upstream,
      enabled: true,
    });
    return new Proxy(name, `127.0.0.1:${port}`, (method, path, body) =>
      this.request(method, path, body),
    );
  }

  async stop(): Promise<void> {
    await this.process.stop(5_000);
  }
}

type Request = (method: string, path: string, body?: unknown) => Promise<unknown>;

export class Proxy {
  constructor(
    readonly name: string,
    /** host:port clients connect to. */
    readonly listen: string,
    private readonly request: Request,
  ) {}

  async addToxic(toxic: ToxicSpec): Promise<void> {
    await this.request("POST", `/proxies/${this.name}/toxics`, {
      stream: "downstream",
      toxicity: 1,
      ...toxic,
    });
  }

  async removeToxic(name: string): Promise<void> {
    await this.request("DELETE", `/proxies/${this.name}/toxics/${name}`);
  }

  /**
   * Stalls the connections: a `timeout` toxic with timeout 0 holds every byte (both ways) until
   * removed, with the connections left open, as a frozen network or server does.
   */
  async stall(): Promise<void> {
    await this.addToxic({ name: "stall-down", type: "timeout", attributes: { timeout: 0 } });
    await this.addToxic({
      name: "stall-up",
      type: "timeout",
      stream: "upstream",
      attributes: { timeout: 0 },
    });
  }

  async unstall(): Promise<void> {
    await this.removeToxic("stall-up");
    await this.removeToxic("stall-down");
  }

  /** Disabled: open connections are closed and new ones refused, until enabled again. */
  async setEnabled(enabled: boolean): Promise<void> {
    await this.request("POST", `/proxies/${this.name}`, { enabled });
  }
}
