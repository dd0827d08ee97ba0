/**
 * The operator's informer against the real kube-apiserver: initial list, watch events, a dropped
 * watch resumed without a relist, and an expired resourceVersion (410 Gone) answered by a relist
 * whose diff reports what changed meanwhile.
 */
import { CustomObjectsApi } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Informer } from "../../operator/informer.js";
import type { DelayedTask } from "../../operator/spec/types.js";
import { createTestNamespace, DdqObjects, installDdqCrds } from "../crds/support.js";
import { testAdminKubeConfig } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { delayedTask } from "./support.js";

const admin = testAdminKubeConfig();
let namespace: string;
let objects: DdqObjects;
let informer: Informer<DelayedTask>;
const upserts: string[] = [];
const deletes: string[] = [];

const spec = { delay: "1h", target: { topic: "informer.test" } };

beforeAll(async () => {
  await installDdqCrds(admin);
  namespace = await createTestNamespace(admin, "opinf");
  objects = new DdqObjects(admin, namespace);
  await objects.create("delayedtasks", delayedTask("before-start", spec));
  informer = new Informer<DelayedTask>(
    admin,
    {
      group: "ddq.io",
      version: "v1alpha1",
      plural: "delayedtasks",
      namespace,
      backoffMs: { initial: 50, max: 500 },
    },
    {
      onUpsert: (object) => upserts.push(object.metadata.name ?? ""),
      onDelete: (object) => deletes.push(object.metadata.name ?? ""),
    },
  ).start();
});

afterAll(async () => {
  await informer.stop();
});

async function remove(name: string): Promise<void> {
  await admin.makeApiClient(CustomObjectsApi).deleteNamespacedCustomObject({
    group: "ddq.io",
    version: "v1alpha1",
    namespace,
    plural: "delayedtasks",
    name,
  });
}

describe("Informer", () => {
  it("lists, then follows the watch", async () => {
    await informer.synced;
    expect(informer.get(`${namespace}/before-start`)).toBeDefined();
    await objects.create("delayedtasks", delayedTask("after-start", spec));
    await waitFor(() => informer.get(`${namespace}/after-start`), { description: "watch add" });
    await remove("after-start");
    await waitFor(() => deletes.includes("after-start"), { description: "watch delete" });
    expect(informer.get(`${namespace}/after-start`)).toBeUndefined();
    expect(informer.stats.lists).toBe(1);
  });

  it("a dropped watch resumes from the last resourceVersion without relisting", async () => {
    const watches = informer.stats.watches;
    informer.rewatch();
    await waitFor(() => informer.stats.watches > watches, { description: "a new watch" });
    await objects.create("delayedtasks", delayedTask("after-drop", spec));
    await waitFor(() => informer.get(`${namespace}/after-drop`), { description: "add after drop" });
    expect(informer.stats.lists).toBe(1);
    expect(informer.stats.gone).toBe(0);
  });

  it("an expired resourceVersion (410 Gone) relists, then follows the watch again", async () => {
    informer.rewatch("1");
    await waitFor(() => informer.stats.gone >= 1, { description: "410 Gone" });
    await waitFor(() => informer.stats.lists >= 2, { description: "a relist" });
    // The cache is whole again and the watch runs.
    expect(informer.get(`${namespace}/before-start`)).toBeDefined();
    expect(informer.get(`${namespace}/after-drop`)).toBeDefined();
    await remove("before-start");
    await objects.create("delayedtasks", delayedTask("after-gone", spec));
    await waitFor(() => informer.get(`${namespace}/after-gone`), { description: "add after 410" });
    await waitFor(() => deletes.includes("before-start"), { description: "delete after 410" });
    expect(
      informer
        .list()
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(["after-drop", "after-gone"]);
    expect(upserts).toContain("after-gone");
  });
});
