import type { Manifest } from "../env/deployTools.js";
import { resolveDeployTools } from "../env/deployTools.js";
import { renderChart } from "./chart.js";
import { kubectlOk, toYamlStream } from "./kubectl.js";

/** The kinds that make up the chart's identities and permissions. */
const RBAC_KINDS = new Set([
  "ServiceAccount",
  "Role",
  "RoleBinding",
  "ClusterRole",
  "ClusterRoleBinding",
]);

/**
 * Applies the chart's ServiceAccounts and RBAC (rendered with the `minimal` values and `set`)
 * for real into `namespace`. `edit` may change the objects first (e.g. remove a rule).
 */
export async function installRbac(
  release: string,
  namespace: string,
  set: string[] = [],
  edit: (objects: Manifest[]) => Manifest[] = (objects) => objects,
): Promise<Manifest[]> {
  const helm = (await resolveDeployTools()).helm;
  const { objects } = await renderChart(helm, { release, namespace, valueSet: "minimal", set });
  const rbac = edit(objects.filter((o) => RBAC_KINDS.has(o.kind)));
  await kubectlOk(
    ["apply", "--server-side", "--force-conflicts", "--field-manager=ddq-chart-test", "-f", "-"],
    toYamlStream(rbac),
  );
  return rbac;
}
