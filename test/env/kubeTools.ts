import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Paths of the pinned control-plane binaries (see tools/k8s/versions.env). */
export interface KubeTools {
  kubeApiserver: string;
  kubectl: string;
  etcd: string;
}

const buildScript = fileURLToPath(new URL("../../tools/k8s/build.sh", import.meta.url));

/**
 * Locates the pinned binaries: the DDQ_KUBE_APISERVER / DDQ_KUBECTL / DDQ_ETCD variables when all
 * are set, otherwise tools/k8s/build.sh, which reuses its version-keyed cache or builds.
 */
export async function resolveKubeTools(): Promise<KubeTools> {
  const { DDQ_KUBE_APISERVER, DDQ_KUBECTL, DDQ_ETCD } = process.env;
  if (DDQ_KUBE_APISERVER && DDQ_KUBECTL && DDQ_ETCD) {
    return { kubeApiserver: DDQ_KUBE_APISERVER, kubectl: DDQ_KUBECTL, etcd: DDQ_ETCD };
  }
  const { stdout } = await run(buildScript, ["kube", "etcd"], { maxBuffer: 16 * 1024 * 1024 });
  const envFile = stdout.trim().split("\n").pop() ?? "";
  const vars = parseEnvFile(readFileSync(envFile, "utf8"));
  const pick = (name: string): string => {
    const value = vars.get(name);
    if (value === undefined) throw new Error(`${envFile} does not define ${name}`);
    return value;
  };
  return {
    kubeApiserver: pick("DDQ_KUBE_APISERVER"),
    kubectl: pick("DDQ_KUBECTL"),
    etcd: pick("DDQ_ETCD"),
  };
}

function parseEnvFile(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) vars.set(match[1], match[2]);
  }
  return vars;
}
