import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadYaml, type V1ConfigMap } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { repoRoot, runCommand } from "../env/deployTools.js";
import { LUA, runHealthCheck, toLua, type HealthStatus } from "./lua.js";

const healthDir = join(repoRoot, "gitops/argocd/health");
const fixturesDir = join(repoRoot, "test/gitops/fixtures");

interface Fixture {
  expect: HealthStatus;
  object: { kind: string; metadata: { name: string } };
}

const scripts: Record<string, string> = {
  DelayedTask: join(healthDir, "delayedtask.lua"),
  CronTask: join(healthDir, "crontask.lua"),
};

const fixtures = readdirSync(fixturesDir)
  .filter((file) => file.endsWith(".yaml"))
  .sort()
  .map((file) => ({ file, ...loadYaml<Fixture>(readFileSync(join(fixturesDir, file), "utf8")) }));

describe("Argo CD health checks (Lua 5.1)", () => {
  it("runs on the real Lua 5.1 interpreter", async () => {
    const result = await runCommand(LUA, ["-v"]);
    expect(result.stdout + result.stderr).toMatch(/^Lua 5\.1/);
  });

  it("passes nested tables, arrays, numbers and UTF-8 strings through the harness", async () => {
    expect(toLua({ a: [1, "x"], b: null })).toBe('{["a"] = {1, "x"}}');
    const result = await runCommand(
      LUA,
      ["-"],
      `local t = ${toLua({ s: 'é "q" \\ \n', n: [1, { k: 2.5 }] })}\nio.write(t.s, "|", #t.n, "|", t.n[2].k)`,
    );
    expect(result.stdout).toBe('é "q" \\ \n|2|2.5');
  });

  it("has fixtures for every phase of both kinds", () => {
    const phases = (kind: string): string[] =>
      fixtures
        .filter((f) => f.object.kind === kind)
        .map((f) => (f.object as { status?: { phase?: string } }).status?.phase ?? "(none)")
        .sort();
    expect(new Set(phases("DelayedTask"))).toEqual(
      new Set([
        "(none)",
        "Pending",
        "Scheduled",
        "Running",
        "Retrying",
        "Succeeded",
        "Failed",
        "Cancelled",
        "Invalid",
      ]),
    );
    expect(new Set(phases("CronTask"))).toEqual(
      new Set(["(none)", "Pending", "Active", "Suspended", "Completed", "Invalid"]),
    );
    const statuses = new Set(fixtures.map((f) => f.expect.status));
    expect(statuses).toEqual(new Set(["Healthy", "Progressing", "Degraded", "Suspended"]));
  });

  it.each(fixtures.map((f) => [f.file, f] as const))("%s", async (_file, fixture) => {
    const script = scripts[fixture.object.kind];
    if (script === undefined) throw new Error(`no health script for ${fixture.object.kind}`);
    expect(await runHealthCheck(script, fixture.object)).toEqual(fixture.expect);
  });

  it("reports an unknown phase as Unknown rather than guessing", async () => {
    for (const [kind, script] of Object.entries(scripts)) {
      const health = await runHealthCheck(script, {
        kind,
        metadata: { generation: 1 },
        status: { observedGeneration: 1, phase: "Exploded" },
      });
      expect(health).toEqual({ status: "Unknown", message: "Unknown phase Exploded" });
    }
  });

  it("reports a child Application's own health, so that sync waves wait for it", async () => {
    const script = join(healthDir, "application.lua");
    expect(await runHealthCheck(script, { kind: "Application", metadata: {} })).toEqual({
      status: "Progressing",
      message: "",
    });
    const degraded = { status: { health: { status: "Degraded", message: "CRD not established" } } };
    expect(await runHealthCheck(script, degraded)).toEqual({
      status: "Degraded",
      message: "CRD not established",
    });
  });

  it("ships exactly the Lua files in the argocd-cm snippet", () => {
    const configMap = loadYaml<V1ConfigMap>(
      readFileSync(join(repoRoot, "gitops/argocd/argocd-cm.yaml"), "utf8"),
    );
    const data = configMap.data ?? {};
    const healthKeys = Object.keys(data).filter((key) =>
      key.startsWith("resource.customizations.health."),
    );
    const expected: Record<string, string> = {
      "resource.customizations.health.ddq.io_DelayedTask": "delayedtask.lua",
      "resource.customizations.health.ddq.io_CronTask": "crontask.lua",
      "resource.customizations.health.argoproj.io_Application": "application.lua",
    };
    expect(healthKeys.sort()).toEqual(Object.keys(expected).sort());
    for (const [key, file] of Object.entries(expected)) {
      expect(data[key], key).toBe(readFileSync(join(healthDir, file), "utf8"));
    }
    expect(readdirSync(healthDir).sort()).toEqual(Object.values(expected).sort());
  });
});
