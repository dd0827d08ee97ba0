/**
 * `make demo` in scripted form: the whole local stack (its own redis-server and control plane,
 * scheduler, operator, workers) comes up from the repository, the examples fire, and everything
 * stops cleanly, leaving no process behind.
 */
import { spawn } from "node:child_process";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const demo = fileURLToPath(new URL("../../tools/demo/demo.ts", import.meta.url));

function processesOf(dir: string): string[] {
  const out = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
  return out.split("\n").filter((line) => line.includes(dir));
}

describe("make demo", () => {
  it("runs the examples to completion with --cycles and leaves nothing running", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", demo, "--cycles", "2"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(out).toMatch(/kubeconfig: \S+/);
    expect(out, out).toMatch(/done: the DelayedTask succeeded and the CronTask ran \d+ times/);
    expect(out).toMatch(/POST \/orders\/1234\/cancel \{"order":1234/);
    expect(out).toMatch(/Succeeded/);
    expect(code).toBe(0);
    const dir = /working directory (\S+)/.exec(out)?.[1] ?? "";
    expect(dir).not.toBe("");
    expect(processesOf(dir)).toEqual([]);
  }, 180_000);
});
