/**
 * Properties of the CRD files themselves (no API server needed): documentation on every field,
 * one definition of the parts both resources share, names and subresources as agreed.
 */
import { describe, expect, it } from "vitest";
import { loadDdqCrds, rootSchema, storageVersion, walkSchema } from "../../tools/crdFiles.js";

const [delayedTask, cronTask] = loadDdqCrds();
if (delayedTask === undefined || cronTask === undefined) throw new Error("CRDs missing");

describe.each([
  ["DelayedTask", delayedTask, "delayedtasks", "dt"],
  ["CronTask", cronTask, "crontasks", "ct"],
] as const)("%s CRD", (kind, crd, plural, shortName) => {
  it("is ddq.io/v1alpha1, namespaced, with its short name and the ddq category", () => {
    expect(crd.metadata?.name).toBe(`${plural}.ddq.io`);
    expect(crd.spec.group).toBe("ddq.io");
    expect(crd.spec.scope).toBe("Namespaced");
    expect(crd.spec.names.kind).toBe(kind);
    expect(crd.spec.names.plural).toBe(plural);
    expect(crd.spec.names.shortNames).toEqual([shortName]);
    expect(crd.spec.names.categories).toEqual(["ddq"]);
    expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([
      ["v1alpha1", true, true],
    ]);
    expect(storageVersion(crd).subresources?.status).toEqual({});
  });

  it("describes every field (metadata excepted: the API server forbids it)", () => {
    const undocumented = walkSchema(rootSchema(crd))
      .filter((node) => node.path !== "metadata")
      .filter((node) => (node.schema.description ?? "").trim().length < 10)
      .map((node) => node.path);
    expect(undocumented).toEqual([]);
  });

  it("gives every rule a message naming a field", () => {
    const rules = walkSchema(rootSchema(crd)).flatMap(
      (node) => node.schema.x_kubernetes_validations ?? [],
    );
    expect(rules.length).toBeGreaterThan(5);
    for (const rule of rules) expect(rule.message ?? "").toMatch(/spec\.[a-zA-Z]/);
  });

  it("has a phase printer column and an age column", () => {
    const columns = storageVersion(crd).additionalPrinterColumns ?? [];
    expect(columns.map((c) => c.jsonPath)).toContain(".status.phase");
    expect(columns.at(-1)).toMatchObject({ name: "Age", jsonPath: ".metadata.creationTimestamp" });
  });
});

describe("the parts both CRDs share", () => {
  const delayedSpec = rootSchema(delayedTask).properties?.["spec"]?.properties ?? {};
  const cronSpec = rootSchema(cronTask).properties?.["spec"]?.properties ?? {};

  it.each(["target", "retry", "priority", "leaseTimeoutSeconds"])(
    "spec.%s is defined identically",
    (field) => {
      expect(delayedSpec[field]).toBeDefined();
      expect(cronSpec[field]).toEqual(delayedSpec[field]);
    },
  );

  it("status.conditions has the same item schema apart from the listed types", () => {
    const items = (crd: typeof delayedTask) => {
      const conditions = walkSchema(rootSchema(crd)).filter((node) =>
        node.path.startsWith("status.conditions[]."),
      );
      return conditions
        .filter((node) => node.path !== "status.conditions[].type")
        .map((node) => [node.path, node.schema]);
    };
    expect(items(cronTask)).toEqual(items(delayedTask));
  });
});
