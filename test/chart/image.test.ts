import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../env/deployTools.js";

/**
 * The image cannot be built here (no Docker engine; CI's kind-e2e workflow builds it). These
 * checks keep the Dockerfile consistent with what it builds from and what the chart assumes.
 */
const dockerfile = readFileSync(join(repoRoot, "Dockerfile"), "utf8");
const dockerignore = readFileSync(join(repoRoot, ".dockerignore"), "utf8")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line !== "" && !line.startsWith("#"));
const instructions = dockerfile
  .split("\n")
  .filter((line) => /^[A-Z]+ /.test(line))
  .map((line) => {
    const space = line.indexOf(" ");
    return { op: line.slice(0, space), args: line.slice(space + 1).trim() };
  });
const stages = instructions.filter((i) => i.op === "FROM");
const lastFrom = instructions.map((i) => i.op).lastIndexOf("FROM");
const runtime = instructions.slice(lastFrom);

describe("Dockerfile", () => {
  it("builds on Node 24 and runs on a distroless Node 24 image as uid 65532 (the chart's runAsUser)", () => {
    expect(stages.map((s) => s.args)).toEqual([
      "node:24-bookworm-slim AS build",
      "gcr.io/distroless/nodejs24-debian12:nonroot",
    ]);
    expect(runtime.filter((i) => i.op === "USER").map((i) => i.args)).toEqual(["65532:65532"]);
    const values = readFileSync(join(repoRoot, "charts/ddq/values.yaml"), "utf8");
    expect(values).toMatch(/runAsUser: 65532\n/);
  });

  it("runs node /app/dist/cli/ddq.js, the package's ddq bin, for every role", () => {
    const entrypoint = runtime.find((i) => i.op === "ENTRYPOINT");
    expect(JSON.parse(entrypoint?.args ?? "null")).toEqual([
      "/nodejs/bin/node",
      "/app/dist/cli/ddq.js",
    ]);
    expect(runtime.some((i) => i.op === "CMD")).toBe(false);
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
      bin: Record<string, string>;
    };
    expect(`/app/${pkg.bin.ddq ?? ""}`).toBe("/app/dist/cli/ddq.js");
  });

  it("installs with npm ci, builds, and ships production dependencies only", () => {
    const runs = instructions.filter((i) => i.op === "RUN").map((i) => i.args);
    expect(runs).toEqual([
      "npm ci --loglevel=error",
      "npm run build && npm prune --omit=dev --loglevel=error",
    ]);
  });

  it("copies every source directory the build compiles, none of them excluded by .dockerignore", () => {
    const buildConfig = JSON.parse(readFileSync(join(repoRoot, "tsconfig.build.json"), "utf8")) as {
      include: string[];
    };
    const copied = instructions
      .filter((i) => i.op === "COPY" && !i.args.startsWith("--from"))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1))
      .map((source) => source.replace(/\/$/, ""));
    for (const dir of buildConfig.include) expect(copied).toContain(dir);
    for (const source of copied) {
      expect(existsSync(join(repoRoot, source)), source).toBe(true);
      expect(dockerignore, source).not.toContain(source);
    }
    // Nothing secret or bulky reaches the build context.
    expect(dockerignore).toEqual(expect.arrayContaining([".git", "node_modules", ".env", "dist"]));
  });
});
