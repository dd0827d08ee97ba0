/**
 * docs/CRON.md's first code example: its imports exist, it type-checks against the real modules,
 * and it runs, giving the results its comments show.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const IMPORT = /^import \{([^}]+)\} from "(\.\/[^"]+)";$/gm;

function firstExample(): string {
  const doc = readFileSync(join(ROOT, "docs/CRON.md"), "utf8");
  const match = /```ts\n([\s\S]*?)```/.exec(doc);
  if (match?.[1] === undefined) throw new Error("docs/CRON.md has no ts code block");
  return match[1];
}

/** The example with its repository-relative imports made absolute (for a file elsewhere). */
function withAbsoluteImports(code: string): string {
  return code.replace(IMPORT, (_line, names: string, path: string) => {
    return `import {${names}} from ${JSON.stringify(join(ROOT, path))};`;
  });
}

describe("docs/CRON.md code example", () => {
  it("imports modules that exist and type-checks against them", () => {
    const example = firstExample();
    const imports = [...example.matchAll(IMPORT)].map((m) => m[2] ?? "");
    expect(imports.length).toBeGreaterThan(0);
    const dir = mkdtempSync(join(tmpdir(), "ddq-cron-doc-"));
    try {
      const file = join(dir, "example.mts");
      writeFileSync(file, withAbsoluteImports(example));
      const program = ts.createProgram([file], {
        target: ts.ScriptTarget.ES2023,
        lib: ["lib.es2023.d.ts"],
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: true,
        noEmit: true,
        types: ["node"],
        typeRoots: [join(ROOT, "node_modules/@types")],
      });
      const problems = ts
        .getPreEmitDiagnostics(program)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      expect(problems).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs and gives the results its comments show", async () => {
    const example = firstExample();
    const bindings = new Map<string, unknown>();
    for (const [, names = "", path = ""] of example.matchAll(IMPORT)) {
      const module = (await import(
        pathToFileURL(join(ROOT, path.replace(/\.js$/, ".ts"))).href
      )) as Record<string, unknown>;
      for (const name of names.split(",").map((n) => n.trim())) {
        expect(module[name], `${path} exports ${name}`).toBeDefined();
        bindings.set(name, module[name]);
      }
    }
    // Record what each call returns.
    const results = new Map<string, unknown[]>();
    const recorded = [...bindings].map(([name, value]) =>
      typeof value === "function"
        ? (...args: unknown[]): unknown => {
            const result: unknown = Reflect.apply(
              value as (...a: unknown[]) => unknown,
              undefined,
              args,
            );
            results.set(name, [...(results.get(name) ?? []), result]);
            return result;
          }
        : value,
    );
    const body = ts.transpileModule(example.replace(IMPORT, ""), {
      compilerOptions: { target: ts.ScriptTarget.ES2023, module: ts.ModuleKind.ESNext },
    }).outputText;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the documented example, run as written
    const run = new Function(...bindings.keys(), body) as (...args: unknown[]) => void;
    run(...recorded);

    // `nextFireAfter(...); // 2026-03-08T07:00:00Z (epoch ms)`
    const nextComment = /nextFireAfter\(.*\); \/\/ (\S+Z)/.exec(example)?.[1] ?? "";
    expect(results.get("nextFireAfter")).toEqual([Date.parse(nextComment)]);
    // previewFires(...) followed by comment lines with the fires' utc and wallClock.
    const documented = [...example.matchAll(/utc: "([^"]+)", wallClock: "([^"]+)"/g)].map((m) => ({
      utc: m[1],
      wallClock: m[2],
    }));
    expect(documented.length).toBeGreaterThan(0);
    const [fires] = (results.get("previewFires") ?? []) as { utc: string; wallClock: string }[][];
    expect(fires?.map(({ utc, wallClock }) => ({ utc, wallClock }))).toEqual(documented);
  });
});
