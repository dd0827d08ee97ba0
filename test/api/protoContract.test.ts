/**
 * The gRPC contract with the pinned buf (tools/k8s/build.sh buf): proto/ lints clean, a breaking
 * change (a field removed, a field renumbered) is caught naming the field, an additive change is
 * not, and the committed proto/gen is exactly what `buf generate` makes (tools/proto.sh check).
 */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { testScratchDir } from "../env/testContext.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const protoDir = join(root, "proto");

let buf: string;

beforeAll(async () => {
  // Prints the env file naming the pinned tools (builds buf once if it is not cached).
  const { stdout } = await run(join(root, "tools/k8s/build.sh"), ["buf"], { cwd: root });
  const envFile = stdout.trim().split("\n").at(-1) ?? "";
  const match = /^DDQ_BUF=(.+)$/m.exec(readFileSync(envFile, "utf8"));
  if (match?.[1] === undefined) throw new Error(`no DDQ_BUF in ${envFile}`);
  buf = match[1];
}, 600_000);

interface BufResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function runBuf(args: string[], cwd: string): Promise<BufResult> {
  try {
    const { stdout, stderr } = await run(buf, args, { cwd });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

/** A copy of the module (buf.yaml and the sources, not the generated code). */
function copyModule(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const entry of ["buf.yaml", "ddq", "google"]) {
    cpSync(join(protoDir, entry), join(dir, entry), { recursive: true });
  }
  return dir;
}

/** Edits one file of a copied module; the edit must change something. */
function edit(dir: string, file: string, change: (text: string) => string): void {
  const path = join(dir, file);
  const before = readFileSync(path, "utf8");
  const after = change(before);
  if (after === before) throw new Error(`the edit of ${file} changed nothing`);
  writeFileSync(path, after);
}

interface Violation {
  path: string;
  type: string;
  message: string;
}

async function breaking(changed: string, original: string): Promise<Violation[]> {
  const result = await runBuf(
    ["breaking", "--against", original, "--error-format", "json"],
    changed,
  );
  const violations = result.stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Violation);
  if (result.code === 0) expect(violations).toEqual([]);
  else expect(violations.length, result.stderr).toBeGreaterThan(0);
  return violations;
}

describe("proto contract", () => {
  it("buf lint passes on proto/", async () => {
    const result = await runBuf(["lint"], protoDir);
    expect(result).toMatchObject({ code: 0, stdout: "" });
  });

  it("buf breaking catches a removed field and a renumbered one, naming them; additions pass", async () => {
    const dir = testScratchDir("proto-contract");
    const original = copyModule(join(dir, "original"));

    const removed = copyModule(join(dir, "removed"));
    edit(removed, "ddq/v1/task.proto", (text) => text.replace(/^ {2}int32 priority = 5;\n/m, ""));
    expect(await breaking(removed, original)).toEqual([
      expect.objectContaining({
        path: "ddq/v1/task.proto",
        type: "FIELD_NO_DELETE",
        message: expect.stringContaining('with name "priority" on message "TaskSpec"') as string,
      }),
    ]);

    const renumbered = copyModule(join(dir, "renumbered"));
    edit(renumbered, "ddq/v1/worker_service.proto", (text) =>
      text.replace(
        /(message ExtendRequest \{[^}]*?)string lease_token = 3;/,
        "$1string lease_token = 7;",
      ),
    );
    const violations = await breaking(renumbered, original);
    expect(violations).toEqual([
      expect.objectContaining({
        path: "ddq/v1/worker_service.proto",
        message: expect.stringContaining(
          'field "3" with name "lease_token" on message "ExtendRequest"',
        ) as string,
      }),
    ]);

    const added = copyModule(join(dir, "added"));
    edit(added, "ddq/v1/task.proto", (text) =>
      text.replace(/^ {2}string trace_parent = 11;\n/m, "$&  string tenant = 12;\n"),
    );
    expect(await breaking(added, original)).toEqual([]);
  });

  it("the committed proto/gen is what buf generate makes (tools/proto.sh check)", async () => {
    const { stderr } = await run(join(root, "tools/proto.sh"), ["check"], { cwd: root });
    expect(stderr).toContain("[proto] ok");
  });
});
