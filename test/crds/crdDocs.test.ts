import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CRD_REFERENCE_PATH, renderCrdReference } from "../../tools/crd-docs.js";
import { loadDdqCrds } from "../../tools/crdFiles.js";

describe("docs/CRD_REFERENCE.md", () => {
  it("is what tools/crd-docs.ts generates from crds/ (run make crd-docs after a CRD change)", () => {
    const committed = readFileSync(CRD_REFERENCE_PATH, "utf8");
    expect(committed).toBe(renderCrdReference());
  });

  it("follows the schemas: a changed description changes the document", () => {
    const crds = loadDdqCrds();
    const spec = crds[0]?.spec.versions[0]?.schema?.openAPIV3Schema?.properties?.["spec"];
    if (spec === undefined) throw new Error("no spec schema");
    spec.description = "A changed description.";
    const changed = renderCrdReference(crds);
    expect(changed).toContain("A changed description.");
    expect(changed).not.toBe(renderCrdReference());
  });

  it("lists every field and every CEL rule of both resources", () => {
    const document = renderCrdReference();
    for (const field of [
      "`spec.runAt`",
      "`spec.target.http.headers[].valueFrom.secretKeyRef.key`",
      "`spec.dstGapPolicy`",
      "`status.history[].outcome`",
    ]) {
      expect(document).toContain(field);
    }
    expect(document).toContain("exactly one of spec.runAt or spec.delay must be set");
    expect(document).toContain("spec.endAt must be after spec.startAt");
  });
});
