/**
 * The scheduler's gRPC server: TaskService, CronService and WorkerService behind the call guard
 * (auth, rate limits, back-pressure), plus grpc.health.v1 and server reflection. Health is also
 * served in plaintext on its own port for kubelet probes (the API port may require TLS).
 * Readiness (service "" and each API service) is SERVING only while the scheduler is started and
 * Redis answers; service "liveness" is SERVING while the process runs (liveness and start-up
 * probes use it, so that a Redis outage does not restart schedulers).
 */
import {
  credentials as channelCredentials,
  Server,
  ServerCredentials,
  type ChannelCredentials,
} from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { CronServiceService } from "../../proto/gen/ddq/v1/cron_service.js";
import { TaskServiceService } from "../../proto/gen/ddq/v1/task_service.js";
import { WorkerServiceService } from "../../proto/gen/ddq/v1/worker_service.js";
import type { Scheduler } from "../scheduler.js";
import type { Authenticator } from "./authenticator.js";
import { CallGuard, decodeGuarded } from "./callGuard.js";
import { cronServiceHandlers } from "./cronService.js";
import { PeerRouter } from "./peerRouter.js";
import { RateLimiter } from "./rateLimiter.js";
import { ReflectionDescriptors } from "./reflectionDescriptors.js";
import { addReflection } from "./reflectionService.js";
import { taskServiceHandlers } from "./taskService.js";
import { workerServiceHandlers } from "./workerService.js";

/** Health service name that only says the process is alive (kubelet liveness probe). */
export const LIVENESS_SERVICE = "liveness";

export const SERVICE_NAMES = [
  "ddq.v1.TaskService",
  "ddq.v1.CronService",
  "ddq.v1.WorkerService",
] as const;

/** grpc.health.v1 (grpc-health-check), served next to them. */
const HEALTH_SERVICE = "grpc.health.v1.Health";

export interface ApiTls {
  certPem: Buffer;
  keyPem: Buffer;
  /** Set: clients must present a certificate signed by this CA (mTLS). */
  clientCaPem?: Buffer;
}

export interface ApiServerOptions {
  /** host:port of the API; port 0 picks a free one. */
  listen: string;
  /** host:port of the plaintext health service; unset: none. */
  healthListen?: string;
  tls?: ApiTls;
  authenticator: Authenticator;
  rateLimit: { ratePerSecond: number; burst: number };
  /** Calls handled at once. Default 4096. */
  maxInFlight?: number;
  /** How this replica calls the others when it forwards (default plaintext). */
  peerCredentials?: ChannelCredentials;
  /** TLS name the peers' certificates are checked against (their addresses are pod IPs). */
  peerServerName?: string;
  /** Largest request accepted, bytes. Default 64 MiB (a batch of large payloads). */
  maxReceiveBytes?: number;
  log: (message: string) => void;
}

function bind(server: Server, address: string, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error, port) => {
      if (error === null) resolve(port);
      else reject(error);
    });
  });
}

export class ApiServer {
  private constructor(
    private readonly server: Server,
    private readonly healthServer: Server | undefined,
    private readonly health: HealthImplementation,
    private readonly guard: CallGuard,
    private readonly router: PeerRouter,
    private readonly stopReadiness: () => void,
    /** The bound API port. */
    readonly port: number,
    /** The bound health port (0 without a health listener). */
    readonly healthPort: number,
  ) {}

  static async start(scheduler: Scheduler, options: ApiServerOptions): Promise<ApiServer> {
    const maxReceive = options.maxReceiveBytes ?? 64 * 1024 * 1024;
    const guard = new CallGuard({
      authenticator: options.authenticator,
      rateLimiter: new RateLimiter(options.rateLimit.ratePerSecond, options.rateLimit.burst),
      maxInFlight: options.maxInFlight ?? 4096,
      store: scheduler.availability,
      log: options.log,
    });
    const server = new Server({
      "grpc.max_receive_message_length": maxReceive,
      "grpc.max_send_message_length": maxReceive,
      "grpc.keepalive_time_ms": 60_000,
      "grpc.keepalive_permit_without_calls": 1,
      "grpc.http2.min_ping_interval_without_data_ms": 10_000,
    });
    const router = new PeerRouter(
      scheduler,
      options.peerCredentials ?? channelCredentials.createInsecure(),
      options.peerServerName,
    );
    server.addService(
      decodeGuarded(TaskServiceService),
      taskServiceHandlers(scheduler, guard, router),
    );
    server.addService(
      decodeGuarded(CronServiceService),
      cronServiceHandlers(scheduler, guard, router),
    );
    server.addService(
      decodeGuarded(WorkerServiceService),
      workerServiceHandlers(scheduler, guard, router),
    );
    const health = new HealthImplementation({ "": "NOT_SERVING", [LIVENESS_SERVICE]: "SERVING" });
    health.addToServer(server);
    addReflection(server, ReflectionDescriptors.served(), [...SERVICE_NAMES, HEALTH_SERVICE]);
    const credentials =
      options.tls === undefined
        ? ServerCredentials.createInsecure()
        : ServerCredentials.createSsl(
            options.tls.clientCaPem ?? null,
            [{ cert_chain: options.tls.certPem, private_key: options.tls.keyPem }],
            options.tls.clientCaPem !== undefined,
          );
    const port = await bind(server, options.listen, credentials);
    let healthServer: Server | undefined;
    let healthPort = 0;
    if (options.healthListen !== undefined) {
      healthServer = new Server();
      health.addToServer(healthServer);
      healthPort = await bind(
        healthServer,
        options.healthListen,
        ServerCredentials.createInsecure(),
      );
    }
    const setReadiness = (ready: boolean): void => {
      for (const name of ["", ...SERVICE_NAMES])
        health.setStatus(name, ready ? "SERVING" : "NOT_SERVING");
    };
    const stopReadiness = scheduler.onReadinessChange(setReadiness);
    setReadiness(scheduler.isReady());
    return new ApiServer(
      server,
      healthServer,
      health,
      guard,
      router,
      stopReadiness,
      port,
      healthPort,
    );
  }

  get callsInFlight(): number {
    return this.guard.callsInFlight;
  }

  /** "<method> <grpc code>" -> calls answered since start. */
  get callsAnswered(): ReadonlyMap<string, number> {
    return this.guard.answered;
  }

  /**
   * Graceful stop: health turns NOT_SERVING, new calls are refused (UNAVAILABLE), long-polls and
   * watches return at once, and in-flight unary calls finish (forced after `graceMs`).
   */
  async shutdown(graceMs = 10_000): Promise<void> {
    this.stopReadiness();
    for (const name of ["", ...SERVICE_NAMES]) this.health.setStatus(name, "NOT_SERVING");
    this.guard.drain();
    this.router.close();
    // The API first; the plaintext health port stays up (answering NOT_SERVING to probes on new
    // connections) until the API has drained.
    await stopServer(this.server, graceMs);
    if (this.healthServer !== undefined) await stopServer(this.healthServer, 1_000);
  }
}

/** tryShutdown (in-flight calls finish), forced after `graceMs`. */
function stopServer(server: Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
