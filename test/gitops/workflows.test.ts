import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot, resolveDeployTools, runCommand } from "../env/deployTools.js";

const workflowsDir = join(repoRoot, ".github/workflows");
const workflows = readdirSync(workflowsDir)
  .filter((file) => /\.ya?ml$/.test(file))
  .sort();

describe("GitHub Actions workflows (actionlint, pinned)", () => {
  let actionlint = "";

  beforeAll(async () => {
    actionlint = (await resolveDeployTools()).actionlint;
  });

  it("includes the kind end-to-end workflow", () => {
    expect(workflows).toEqual(expect.arrayContaining(["ci.yaml", "kind-e2e.yaml"]));
  });

  it.each(workflows)("%s passes actionlint", async (file) => {
    const result = await runCommand(actionlint, ["-no-color", join(workflowsDir, file)]);
    expect(result.stdout + result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  it("catches a broken workflow (the check can fail)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ddq-actionlint-"));
    const broken = join(dir, "broken.yaml");
    writeFileSync(
      broken,
      "on: push\njobs:\n  test:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nonexistent_context }}\n",
    );
    const result = await runCommand(actionlint, ["-no-color", broken]);
    rmSync(dir, { recursive: true, force: true });
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain("nonexistent_context");
  });
});

describe("scripts the workflows run", () => {
  it.each(["tools/kind-e2e.sh", "tools/k8s/fetch-crds.sh", "tools/k8s/build.sh"])(
    "%s parses (bash -n) and is executable",
    async (script) => {
      const result = await runCommand("bash", ["-n", join(repoRoot, script)]);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const mode = statSync(join(repoRoot, script)).mode;
      expect(mode & 0o111).not.toBe(0);
    },
  );

  it("make kind-e2e runs tools/kind-e2e.sh", () => {
    const makefile = readFileSync(join(repoRoot, "Makefile"), "utf8");
    expect(makefile).toMatch(/^kind-e2e:.*\n\ttools\/kind-e2e\.sh$/m);
    const workflow = readFileSync(join(workflowsDir, "kind-e2e.yaml"), "utf8");
    expect(workflow).toContain("run: make kind-e2e");
  });
});
