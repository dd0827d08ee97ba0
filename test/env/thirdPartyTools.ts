import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const buildScript = fileURLToPath(new URL("../../tools/k8s/build.sh", import.meta.url));
const resolved = new Map<string, Promise<string>>();

/**
 * The path of a pinned third-party tool that tools/k8s/build.sh builds from its Go module into the
 * version-keyed cache: the environment variable `variable` (e.g. DDQ_GRPCURL) when set, otherwise
 * `tools/k8s/build.sh <target>` (which reuses its cache or builds) and the variable from the env
 * file it prints. Resolved once per test process.
 */
export function resolvePinnedTool(variable: string, target: string): Promise<string> {
  const fromEnv = process.env[variable];
  if (fromEnv !== undefined && fromEnv !== "") return Promise.resolve(fromEnv);
  let path = resolved.get(variable);
  if (path === undefined) {
    path = fromBuildScript(variable, target);
    resolved.set(variable, path);
  }
  return path;
}

async function fromBuildScript(variable: string, target: string): Promise<string> {
  const { stdout } = await run(buildScript, [target], { maxBuffer: 16 * 1024 * 1024 });
  const envFile = stdout.trim().split("\n").pop() ?? "";
  for (const line of readFileSync(envFile, "utf8").split("\n")) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match?.[1] === variable && match[2] !== undefined && match[2] !== "") return match[2];
  }
  throw new Error(`${envFile} (tools/k8s/build.sh ${target}) does not define ${variable}`);
}

/** grpcurl (a third-party gRPC client that works by server reflection). */
export function resolveGrpcurl(): Promise<string> {
  return resolvePinnedTool("DDQ_GRPCURL", "grpcurl");
}

/** toxiproxy-server (a TCP fault injector driven by an HTTP API), built as `toxiproxy`. */
export function resolveToxiproxy(): Promise<string> {
  return resolvePinnedTool("DDQ_TOXIPROXY", "toxiproxy");
}
