import { execFile, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { loadAllYaml } from "@kubernetes/client-node";

const run = promisify(execFile);

/** The repository root. */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const chartDir = join(repoRoot, "charts", "ddq");

/** Paths of the pinned deploy-time tools (see tools/k8s/versions.env). */
export interface DeployTools {
  helm: string;
  actionlint: string;
}

/**
 * Locates helm and actionlint: DDQ_HELM / DDQ_ACTIONLINT when set, otherwise
 * tools/k8s/build.sh, which reuses its version-keyed cache or builds them.
 */
export async function resolveDeployTools(): Promise<DeployTools> {
  const { DDQ_HELM, DDQ_ACTIONLINT } = process.env;
  if (DDQ_HELM && DDQ_ACTIONLINT) return { helm: DDQ_HELM, actionlint: DDQ_ACTIONLINT };
  const { stdout } = await run(join(repoRoot, "tools/k8s/build.sh"), ["helm", "actionlint"], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const envFile = stdout.trim().split("\n").pop() ?? "";
  const vars = new Map<string, string>();
  for (const line of readFileSync(envFile, "utf8").split("\n")) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) vars.set(match[1], match[2]);
  }
  const pick = (name: string): string => {
    const value = vars.get(name);
    if (value === undefined) throw new Error(`${envFile} does not define ${name}`);
    return value;
  };
  return { helm: pick("DDQ_HELM"), actionlint: pick("DDQ_ACTIONLINT") };
}

/**
 * The CRD files of a third-party API at its pinned version (tools/k8s/fetch-crds.sh: from the
 * project's Go module, checksum-verified, cached under ~/.cache/ddq/<name>-<version>/).
 */
export async function thirdPartyCrds(name: "prometheus-operator" | "argo-cd"): Promise<string[]> {
  const { stdout } = await run(join(repoRoot, "tools/k8s/fetch-crds.sh"), [name]);
  const dir = stdout.trim();
  return readdirSync(dir)
    .filter((file) => file.endsWith(".yaml"))
    .sort()
    .map((file) => join(dir, file));
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command with optional stdin; resolves with its exit code and output (never rejects on exit status). */
export function runCommand(
  command: string,
  args: string[],
  input?: string,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ code: code ?? -1, stdout, stderr });
    });
    // A command that exits without reading its input (`lua5.1 -v`) closes the pipe first: the
    // write then fails with EPIPE, which says nothing the exit code and output do not.
    child.stdin.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") reject(error);
    });
    child.stdin.end(input ?? "");
  });
}

/** Like runCommand, but rejects with the output when the command fails. */
export async function runOk(command: string, args: string[], input?: string): Promise<string> {
  const result = await runCommand(command, args, input);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited ${result.code}\n${result.stderr}\n${result.stdout}`,
    );
  }
  return result.stdout;
}

/** A Kubernetes object as rendered: plain data. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** Parses a multi-document YAML stream into manifests (empty documents dropped). */
export function parseManifests(yaml: string): Manifest[] {
  const documents: unknown[] = loadAllYaml(yaml);
  return documents.filter(
    (doc): doc is Manifest =>
      typeof doc === "object" &&
      doc !== null &&
      typeof (doc as { kind?: unknown }).kind === "string",
  );
}
