import { mkdirSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { request } from "node:https";
import { join } from "node:path";
import { ManagedProcess } from "./managedProcess.js";
import { createControlPlanePki, type ControlPlanePki } from "./pki.js";
import { freeLoopbackPort } from "./ports.js";
import { resolveKubeTools, type KubeTools } from "./kubeTools.js";
import { waitFor } from "./waitFor.js";

export interface ControlPlaneOptions {
  /** Working directory: PKI, etcd data, logs and the kubeconfig live here. */
  dir: string;
  tools?: KubeTools;
}

/** The issuer (and audience) of ServiceAccount tokens, as in a default cluster. */
export const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";

/**
 * A real etcd and kube-apiserver on loopback ports, configured like a cluster's: TLS serving
 * certificate from a CA, client-certificate authentication, RBAC authorization, and a
 * ServiceAccount token signer so that TokenRequest works. There is no controller-manager, so
 * controllers that a cluster runs (garbage collection, namespace finalization, ServiceAccount
 * token controllers) do not run: see docs/adr/0002-real-test-environment.md.
 */
export class ControlPlane {
  private constructor(
    readonly server: string,
    readonly kubeconfigPath: string,
    readonly pki: ControlPlanePki,
    readonly tools: KubeTools,
    private readonly etcd: ManagedProcess,
    private readonly apiserver: ManagedProcess,
  ) {}

  static async start(options: ControlPlaneOptions): Promise<ControlPlane> {
    const { dir } = options;
    mkdirSync(dir, { recursive: true });
    const [tools, pki] = await Promise.all([
      options.tools ?? resolveKubeTools(),
      createControlPlanePki(join(dir, "pki")),
    ]);
    const [etcdPort, etcdPeerPort, apiPort] = [
      await freeLoopbackPort(),
      await freeLoopbackPort(),
      await freeLoopbackPort(),
    ];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = ManagedProcess.start({
      name: "etcd",
      command: tools.etcd,
      args: [
        "--name=ddq-test",
        `--data-dir=${join(dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=ddq-test=${peerUrl}`,
        "--unsafe-no-fsync",
        "--log-level=warn",
      ],
      logFile: join(dir, "etcd.log"),
    });
    try {
      await waitFor(() => httpOk(`${etcdUrl}/health`), {
        description: "etcd to report healthy",
        timeoutMs: 30_000,
        abortIf: () => etcd.exitedError(),
      });
    } catch (error) {
      await etcd.stop();
      throw error;
    }

    const server = `https://127.0.0.1:${apiPort}`;
    const apiserver = ManagedProcess.start({
      name: "kube-apiserver",
      command: tools.kubeApiserver,
      args: [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(dir, "apiserver-certs")}`,
        `--tls-cert-file=${pki.serving.certFile}`,
        `--tls-private-key-file=${pki.serving.keyFile}`,
        `--client-ca-file=${pki.ca.certFile}`,
        "--authorization-mode=RBAC",
        "--anonymous-auth=false",
        `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
        `--service-account-key-file=${pki.serviceAccountPublicKeyFile}`,
        `--service-account-signing-key-file=${pki.serviceAccountPrivateKeyFile}`,
        "--service-cluster-ip-range=10.96.0.0/16",
        "--allow-privileged=true",
        "--profiling=false",
        "--v=1",
      ],
      logFile: join(dir, "kube-apiserver.log"),
    });
    const admin = {
      ca: await readFile(pki.ca.certFile),
      cert: await readFile(pki.admin.certFile),
      key: await readFile(pki.admin.keyFile),
    };
    try {
      await waitFor(() => httpOk(`${server}/readyz`, admin), {
        description: "kube-apiserver /readyz",
        timeoutMs: 90_000,
        intervalMs: 200,
        abortIf: () => apiserver.exitedError(),
      });
    } catch (error) {
      await apiserver.stop();
      await etcd.stop();
      throw error;
    }

    const kubeconfigPath = join(dir, "kubeconfig");
    writeFileSync(kubeconfigPath, adminKubeconfig(server, admin), { mode: 0o600 });
    return new ControlPlane(server, kubeconfigPath, pki, tools, etcd, apiserver);
  }

  async stop(): Promise<void> {
    await this.apiserver.stop();
    await this.etcd.stop();
  }
}

interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

function adminKubeconfig(server: string, admin: TlsMaterial): string {
  const b64 = (data: Buffer): string => data.toString("base64");
  // kubectl and client-node both read JSON kubeconfigs (JSON is YAML).
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        { name: "ddq-test", cluster: { server, "certificate-authority-data": b64(admin.ca) } },
      ],
      users: [
        {
          name: "ddq-test-admin",
          user: { "client-certificate-data": b64(admin.cert), "client-key-data": b64(admin.key) },
        },
      ],
      contexts: [{ name: "ddq-test", context: { cluster: "ddq-test", user: "ddq-test-admin" } }],
      "current-context": "ddq-test",
    },
    null,
    2,
  );
}

async function httpOk(url: string, tls?: TlsMaterial): Promise<boolean> {
  if (url.startsWith("http:")) {
    const response = await fetch(url);
    return response.ok;
  }
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, method: "GET", timeout: 5_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end();
  });
}
