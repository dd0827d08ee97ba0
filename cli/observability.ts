/**
 * What every long-running command serves besides its work: grpc.health.v1 in plaintext (kubelet
 * grpc probes) and Prometheus metrics in the text exposition format on /metrics.
 */
import { createServer, type Server as HttpServer } from "node:http";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";

export interface HealthServer {
  readonly port: number;
  setServing(serving: boolean): void;
  stop(): Promise<void>;
}

export async function startHealthServer(listen: string): Promise<HealthServer> {
  const server = new Server();
  // "" is readiness; "liveness" says the process runs (the chart's liveness and start-up probes).
  const health = new HealthImplementation({ "": "NOT_SERVING", liveness: "SERVING" });
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(listen, ServerCredentials.createInsecure(), (error, bound) => {
      if (error === null) resolve(bound);
      else reject(error);
    });
  });
  return {
    port,
    setServing: (serving) => {
      health.setStatus("", serving ? "SERVING" : "NOT_SERVING");
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => {
          resolve();
        });
      }),
  };
}

/** One metric family: name, help, type and its samples (label set -> value). */
export interface MetricFamily {
  name: string;
  help: string;
  type: "counter" | "gauge";
  samples: { labels?: Record<string, string>; value: number }[];
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

export function renderMetrics(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels ?? {});
      const text =
        labels.length === 0
          ? ""
          : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
      lines.push(`${family.name}${text} ${sample.value}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

export interface MetricsServer {
  readonly port: number;
  stop(): Promise<void>;
}

export async function startMetricsServer(
  listen: string,
  collect: () => Promise<MetricFamily[]>,
): Promise<MetricsServer> {
  const separator = listen.lastIndexOf(":");
  const host = listen.slice(0, separator).replace(/^\[|\]$/g, "");
  const port = Number(listen.slice(separator + 1));
  const server: HttpServer = createServer((request, response) => {
    if (request.url === "/metrics") {
      collect().then(
        (families) => {
          response.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
          response.end(renderMetrics(families));
        },
        (error: unknown) => {
          response.writeHead(500, { "content-type": "text/plain" });
          response.end(`metrics unavailable: ${(error as Error).message}\n`);
        },
      );
      return;
    }
    response.writeHead(404, { "content-type": "text/plain" });
    response.end("not found: try /metrics\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
