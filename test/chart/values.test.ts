import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadYaml } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { chartDir, repoRoot } from "../env/deployTools.js";

interface SchemaNode {
  type?: string;
  description?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
}

const values = loadYaml<Record<string, unknown>>(
  readFileSync(join(chartDir, "values.yaml"), "utf8"),
);
const schema = JSON.parse(readFileSync(join(chartDir, "values.schema.json"), "utf8")) as SchemaNode;
const readme = readFileSync(join(chartDir, "README.md"), "utf8");

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Walks values.yaml and the schema together. A schema node with `properties` is a group whose
 * keys must all be declared (additionalProperties false); any other node is a documented value
 * (scalars, lists, and Kubernetes-typed objects such as resources or affinity).
 */
function documentedValues(
  value: unknown,
  node: SchemaNode,
  path: string,
  problems: string[],
): string[] {
  if (node.properties === undefined) return [path];
  if (node.additionalProperties !== false)
    problems.push(`${path || "(root)"}: additionalProperties is not false`);
  if (!isMapping(value)) {
    problems.push(`${path}: values.yaml has no mapping here`);
    return [];
  }
  const paths: string[] = [];
  for (const key of Object.keys(value)) {
    const child = node.properties[key];
    const childPath = path === "" ? key : `${path}.${key}`;
    if (child === undefined) {
      problems.push(`${childPath}: in values.yaml but not in values.schema.json`);
      continue;
    }
    paths.push(...documentedValues(value[key], child, childPath, problems));
  }
  for (const key of Object.keys(node.properties)) {
    if (!(key in value)) problems.push(`${path}.${key}: in the schema but not in values.yaml`);
  }
  return paths;
}

describe("chart values", () => {
  const problems: string[] = [];
  const paths = documentedValues(values, schema, "", problems);

  it("declares every key of values.yaml in values.schema.json, and nothing else", () => {
    expect(problems).toEqual([]);
    expect(paths.length).toBeGreaterThan(100);
  });

  it("types and describes every value in the schema", () => {
    const at = (path: string): SchemaNode =>
      path.split(".").reduce<SchemaNode>((node, key) => node.properties?.[key] ?? {}, schema);
    for (const path of paths) {
      const node = at(path);
      expect(node.type, path).toBeDefined();
      expect(node.description, path).toMatch(/\S/);
    }
  });

  it("documents every value in the chart README's table", () => {
    const rows = new Set(
      readme
        .split("\n")
        .map((line) => /^\| `([^`]+)` \|/.exec(line)?.[1])
        .filter((key): key is string => key !== undefined),
    );
    expect(paths.filter((path) => !rows.has(path))).toEqual([]);
    // And the table documents no value that does not exist.
    expect([...rows].filter((row) => !paths.includes(row))).toEqual([]);
  });

  it("ships the repository's CRDs unchanged in the chart's crds/ (make chart-crds)", () => {
    const yamlFiles = (dir: string): string[] =>
      readdirSync(dir)
        .filter((file) => file.endsWith(".yaml"))
        .sort();
    const source = join(repoRoot, "crds");
    const copy = join(chartDir, "crds");
    expect(yamlFiles(copy), "charts/ddq/crds differs from crds/: run `make chart-crds`").toEqual(
      yamlFiles(source),
    );
    for (const file of yamlFiles(source)) {
      expect(readFileSync(join(copy, file), "utf8"), `charts/ddq/crds/${file}`).toBe(
        readFileSync(join(source, file), "utf8"),
      );
    }
  });
});
