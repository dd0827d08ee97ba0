import { readFileSync } from "node:fs";
import { ApiException, CoreV1Api, KubeConfig } from "@kubernetes/client-node";

/** A KubeConfig for the control plane's administrator (group system:masters). */
export function adminKubeConfig(kubeconfigPath: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfigPath);
  return config;
}

/** True when `error` is an API error with this HTTP status (404, 409, 403, 422...). */
export function isApiStatus(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

async function createUnlessExists(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if (!isApiStatus(error, 409)) throw error;
  }
}

export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

/**
 * A KubeConfig that authenticates as the given ServiceAccount with a bound token from the
 * TokenRequest API, exactly as a pod's projected token would. The namespace and the
 * ServiceAccount are created when missing. Everything it may do comes from RBAC.
 */
export async function serviceAccountKubeConfig(
  admin: KubeConfig,
  account: ServiceAccountRef,
  expirationSeconds = 3600,
): Promise<KubeConfig> {
  const core = admin.makeApiClient(CoreV1Api);
  await createUnlessExists(() =>
    core.createNamespace({ body: { metadata: { name: account.namespace } } }),
  );
  await createUnlessExists(() =>
    core.createNamespacedServiceAccount({
      namespace: account.namespace,
      body: { metadata: { name: account.name } },
    }),
  );
  const tokenRequest = await core.createNamespacedServiceAccountToken({
    namespace: account.namespace,
    name: account.name,
    body: { spec: { audiences: [], expirationSeconds } },
  });
  const token = tokenRequest.status?.token;
  if (token === undefined)
    throw new Error(`TokenRequest for ${account.namespace}/${account.name} returned no token`);

  const cluster = admin.getCurrentCluster();
  if (cluster === null) throw new Error("the admin kubeconfig has no current cluster");
  const caData =
    cluster.caData ??
    (cluster.caFile === undefined ? undefined : readFileSync(cluster.caFile).toString("base64"));
  const user = `system:serviceaccount:${account.namespace}:${account.name}`;
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: cluster.name, server: cluster.server, caData, skipTLSVerify: false }],
    users: [{ name: user, token }],
    contexts: [{ name: user, cluster: cluster.name, user, namespace: account.namespace }],
    currentContext: user,
  });
  return config;
}
