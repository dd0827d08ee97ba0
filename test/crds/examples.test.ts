/**
 * Every file in examples/ is ready to apply: the real API server accepts each of its objects in
 * a server-side dry-run create (schema, defaults, CEL), and the operator's conversion accepts the
 * custom resources as the server returns them, with the example Secret as the header source.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  KubernetesObjectApi,
  loadAllYaml,
  type KubernetesObject,
  type V1Secret,
} from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { cronTaskToScheduleSpec } from "../../operator/spec/cronTask.js";
import { delayedTaskToTaskSpec } from "../../operator/spec/delayedTask.js";
import type { SecretData } from "../../operator/spec/template.js";
import type { CronTask, DelayedTask } from "../../operator/spec/types.js";
import { testAdminKubeConfig } from "../env/testContext.js";
import { createTestNamespace, installDdqCrds } from "./support.js";

const EXAMPLES_DIR = fileURLToPath(new URL("../../examples/", import.meta.url));
const files = readdirSync(EXAMPLES_DIR).sort();

function documents(file: string): KubernetesObject[] {
  const loaded: unknown[] = loadAllYaml(readFileSync(`${EXAMPLES_DIR}${file}`, "utf8"));
  return loaded.filter((doc): doc is KubernetesObject => typeof doc === "object" && doc !== null);
}

let client: KubernetesObjectApi;
let namespace: string;

/** Dry-run creates each object of `file` in the test namespace; the server's answers. */
async function dryRunCreate(file: string): Promise<KubernetesObject[]> {
  const results: KubernetesObject[] = [];
  for (const doc of documents(file)) {
    expect(doc.metadata?.namespace, "examples apply to the current namespace").toBeUndefined();
    const metadata = doc.metadata ?? {};
    metadata.namespace = namespace;
    doc.metadata = metadata;
    const result = await client.create(doc, undefined, "All");
    expect(result.metadata?.uid).toBeTruthy();
    results.push(result);
  }
  return results;
}

beforeAll(async () => {
  const admin = testAdminKubeConfig();
  await installDdqCrds(admin);
  namespace = await createTestNamespace(admin, "crd-examples");
  client = KubernetesObjectApi.makeApiClient(admin);
});

describe("examples/", () => {
  it("has the agreed examples, all YAML", () => {
    expect(files).toEqual(
      expect.arrayContaining([
        "delayedtask-http.yaml",
        "delayedtask-topic.yaml",
        "crontask-every-5s.yaml",
        "crontask-timezone.yaml",
      ]),
    );
    expect(files.filter((file) => !file.endsWith(".yaml"))).toEqual([]);
    expect(files.flatMap((file) => documents(file)).map((doc) => doc.kind)).toContain("Secret");
  });

  it.each(files)("%s is accepted by a server-side dry-run create", async (file) => {
    const results = await dryRunCreate(file);
    expect(results.map((result) => result.metadata?.name)).toEqual(
      documents(file).map((doc) => doc.metadata?.name),
    );
  });

  it("is accepted by the operator's conversion, as the server returned it", async () => {
    const accepted: KubernetesObject[] = [];
    for (const file of files) accepted.push(...(await dryRunCreate(file)));
    const secrets = accepted.filter((o): o is V1Secret => o.kind === "Secret");
    const readSecret = (ns: string, name: string): Promise<SecretData | undefined> =>
      Promise.resolve(
        secrets.find((s) => s.metadata?.namespace === ns && s.metadata.name === name),
      );
    const custom = accepted.filter((o) => o.apiVersion === "ddq.io/v1alpha1");
    expect(custom.length).toBeGreaterThanOrEqual(4);
    for (const resource of custom) {
      const result =
        resource.kind === "CronTask"
          ? await cronTaskToScheduleSpec(resource as CronTask, { readSecret })
          : await delayedTaskToTaskSpec(resource as DelayedTask, { readSecret });
      expect(result, `${resource.kind ?? ""}/${resource.metadata?.name ?? ""}`).toMatchObject({
        ok: true,
      });
    }
  });
});
