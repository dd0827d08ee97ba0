/**
 * The local demo (`make demo`): a redis-server and a control plane (etcd + kube-apiserver, the
 * pinned binaries the tests use), the CRDs, a scheduler, the operator and two workers as local
 * processes, then examples/: a DelayedTask that calls this demo's web server 5 s after it is
 * applied and a CronTask every 5 s. Status transitions are shown live in a table.
 *
 *   node --import tsx tools/demo/demo.ts [--cycles N] [--keep]
 *
 * Ctrl-C stops everything. --cycles N stops on its own once the DelayedTask succeeded and the
 * CronTask ran N times (exit 0), or fails after a timeout (exit 1): for scripted runs and CI.
 * --keep leaves the working directory (logs, kubeconfig) behind.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { ControlPlane } from "../../test/env/controlPlane.js";
import { RedisServer } from "../../test/env/redisServer.js";
import { DemoProcess } from "./demoProcess.js";
import { renderStatus, type DemoResource } from "./statusTable.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const NAMESPACE = "ddq-demo";
const SYSTEM_NAMESPACE = "ddq-system";

function withoutClock(frame: string): string {
  return frame.slice(frame.indexOf("\n") + 1);
}

function say(message: string): void {
  process.stdout.write(`[demo] ${message}\n`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { cycles: { type: "string" }, keep: { type: "boolean" } },
  });
  const cycles = values.cycles === undefined ? undefined : Number(values.cycles);
  if (cycles !== undefined && !(Number.isSafeInteger(cycles) && cycles > 0)) {
    process.stderr.write(`--cycles must be a positive integer, got "${String(values.cycles)}"\n`);
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), "ddq-demo-"));
  const processes: DemoProcess[] = [];
  let redis: RedisServer | undefined;
  let controlPlane: ControlPlane | undefined;
  const hits: string[] = [];
  const web = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      hits.push(
        `${new Date().toISOString().slice(11, 19)} ${req.method ?? ""} ${req.url ?? ""} ${body}`,
      );
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("order cancelled\n");
    });
  });
  let stopping = false;
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (): void => {
      if (stopping) return;
      stopping = true;
      resolve();
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
  try {
    say(`working directory ${dir}`);
    say("starting redis-server and the control plane (etcd + kube-apiserver) ...");
    [redis, controlPlane] = await Promise.all([
      RedisServer.start({ dir: join(dir, "redis") }),
      ControlPlane.start({ dir: join(dir, "kube") }),
    ]);
    const kubeconfig = controlPlane.kubeconfigPath;
    say(`kubeconfig: ${kubeconfig}   (try: KUBECONFIG=${kubeconfig} kubectl get dt,ct -A)`);
    const kubectl = (...args: string[]): Promise<{ stdout: string }> =>
      run(controlPlane?.tools.kubectl ?? "kubectl", args, {
        env: { ...process.env, KUBECONFIG: kubeconfig },
      });
    await kubectl("apply", "--server-side", "-f", join(root, "crds"));
    await kubectl(
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/delayedtasks.ddq.io",
      "crd/crontasks.ddq.io",
    );
    await kubectl("create", "namespace", NAMESPACE);
    await kubectl("create", "namespace", SYSTEM_NAMESPACE);

    const token = randomBytes(24).toString("hex");
    const tokenFile = join(dir, "token");
    writeFileSync(join(dir, "tokens.csv"), `${token},demo\n`, { mode: 0o600 });
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    await new Promise<void>((resolve) => web.listen(0, "127.0.0.1", resolve));
    const webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}/orders/1234/cancel`;
    const local = {
      DDQ_HEALTH_LISTEN: "127.0.0.1:0",
      DDQ_METRICS_LISTEN: "127.0.0.1:0",
      KUBECONFIG: kubeconfig,
    };

    say("starting the scheduler (shard leadership through Leases) ...");
    const scheduler = await DemoProcess.start(
      "scheduler",
      ["scheduler"],
      {
        ...local,
        DDQ_REDIS_URL: redis.url,
        DDQ_GRPC_LISTEN: "127.0.0.1:0",
        DDQ_AUTH_TOKENS_FILE: join(dir, "tokens.csv"),
        DDQ_LEADERSHIP: "kubernetes",
        DDQ_LEASE_NAMESPACE: SYSTEM_NAMESPACE,
        DDQ_SHARDS: "4",
      },
      join(dir, "scheduler.log"),
    );
    processes.push(scheduler.process);
    const address = `127.0.0.1:${String(scheduler.ready.grpcPort)}`;
    const client = { ...local, DDQ_SCHEDULER_ADDRESS: address, DDQ_TOKEN_FILE: tokenFile };
    say(`scheduler serving gRPC on ${address}; starting the operator and two workers ...`);
    const started = await Promise.all([
      DemoProcess.start(
        "operator",
        ["operator"],
        { ...client, DDQ_LEASE_NAMESPACE: SYSTEM_NAMESPACE },
        join(dir, "operator.log"),
      ),
      DemoProcess.start(
        "worker-http",
        ["worker"],
        { ...client, DDQ_TOPICS: "ddq.http", DDQ_HANDLER: "http" },
        join(dir, "worker-http.log"),
      ),
      DemoProcess.start(
        "worker-log",
        ["worker"],
        { ...client, DDQ_TOPICS: "heartbeats", DDQ_HANDLER: "log" },
        join(dir, "worker-log.log"),
      ),
    ]);
    processes.push(...started.map((s) => s.process));

    const demoTask = readFileSync(join(root, "examples/delayedtask-demo.yaml"), "utf8").replace(
      "http://127.0.0.1:8080/orders/1234/cancel",
      webUrl,
    );
    writeFileSync(join(dir, "delayedtask-demo.yaml"), demoTask);
    await kubectl("apply", "-n", NAMESPACE, "-f", join(dir, "delayedtask-demo.yaml"));
    await kubectl("apply", "-n", NAMESPACE, "-f", join(root, "examples/crontask-every-5s.yaml"));
    say(`applied examples to namespace ${NAMESPACE}; Ctrl-C stops the demo\n`);

    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const api = kc.makeApiClient(CustomObjectsApi);
    const list = async (plural: string): Promise<DemoResource[]> => {
      const answer = (await api.listNamespacedCustomObject({
        group: "ddq.io",
        version: "v1alpha1",
        namespace: NAMESPACE,
        plural,
      })) as {
        items: DemoResource[];
      };
      return answer.items;
    };
    const deadline =
      cycles === undefined ? Number.POSITIVE_INFINITY : Date.now() + 90_000 + cycles * 5_000;
    let previous = "";
    for (;;) {
      const resources = [...(await list("delayedtasks")), ...(await list("crontasks"))];
      const frame = renderStatus(resources, hits.slice(-5));
      if (process.stdout.isTTY) process.stdout.write(`\x1b[H\x1b[J${frame}`);
      // Without a terminal: a frame only when something other than the clock line changed.
      else if (withoutClock(frame) !== previous) process.stdout.write(`${frame}\n`);
      previous = withoutClock(frame);
      const dt = resources.find((r) => r.kind === "DelayedTask");
      const ct = resources.find((r) => r.kind === "CronTask");
      const done =
        dt?.status?.phase === "Succeeded" && (ct?.status?.runs ?? 0) >= (cycles ?? Infinity);
      if (done) {
        say(`done: the DelayedTask succeeded and the CronTask ran ${ct?.status?.runs ?? 0} times`);
        return 0;
      }
      if (Date.now() > deadline) {
        say(`timed out waiting for ${String(cycles)} cycles; logs in ${dir}`);
        values.keep = true;
        return 1;
      }
      const dead = processes.find((p) => !p.running);
      if (dead !== undefined) {
        say(`${dead.name} exited unexpectedly; logs in ${dir}`);
        values.keep = true;
        return 1;
      }
      const tick = new Promise((resolve) => setTimeout(resolve, 1_000));
      if (await Promise.race([tick.then(() => false), stopped.then(() => true)])) return 0;
    }
  } finally {
    say("stopping ...");
    for (const p of [...processes].reverse()) await p.stop();
    web.close();
    await controlPlane?.stop();
    await redis?.stop();
    if (values.keep === true) say(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
    say("stopped; nothing left running");
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
