import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
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
