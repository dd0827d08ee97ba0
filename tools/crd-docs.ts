/**
 * Generates docs/CRD_REFERENCE.md from the CRD schemas in crds/.
 *
 *   npx tsx tools/crd-docs.ts           # (re)write docs/CRD_REFERENCE.md (make crd-docs)
 *   npx tsx tools/crd-docs.ts --check   # exit 1 when the committed file is not up to date
 *
 * test/crds/crdDocs.test.ts fails when the committed file differs from the output.
 */
import { readFileSync, realpathSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { V1CustomResourceDefinition, V1JSONSchemaProps } from "@kubernetes/client-node";
import { itemsSchema, loadDdqCrds, rootSchema, storageVersion, walkSchema } from "./crdFiles.js";

export const CRD_REFERENCE_PATH = fileURLToPath(
  new URL("../docs/CRD_REFERENCE.md", import.meta.url),
);

/** Inline code that survives backticks and pipes inside a Markdown table cell. */
function code(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longestRun + 1);
  const padded = text.startsWith("`") || text.endsWith("`") ? ` ${text} ` : text;
  return `${fence}${padded}${fence}`.replace(/\|/g, "\\|");
}

/** Plain text in a table cell. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").replace(/\|/g, "\\|");
}

function json(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function typeOf(schema: V1JSONSchemaProps): string {
  if (schema.x_kubernetes_preserve_unknown_fields === true && schema.type === undefined) {
    return "any JSON";
  }
  const type = schema.type ?? "object";
  if (type === "array") {
    const items = itemsSchema(schema);
    return `[]${items === undefined ? "?" : typeOf(items)}`;
  }
  return schema.format === undefined ? type : `${type} (${schema.format})`;
}

function constraints(schema: V1JSONSchemaProps, required: boolean): string {
  const parts: string[] = [];
  if (required) parts.push("required");
  if (schema._enum !== undefined)
    parts.push(`one of ${schema._enum.map((v) => code(json(v))).join(", ")}`);
  if (schema.minimum !== undefined && schema.maximum !== undefined) {
    parts.push(`${schema.minimum}..${schema.maximum}`);
  } else if (schema.minimum !== undefined) {
    parts.push(`>= ${schema.minimum}`);
  } else if (schema.maximum !== undefined) {
    parts.push(`<= ${schema.maximum}`);
  }
  if (schema.minLength !== undefined) parts.push(`min length ${schema.minLength}`);
  if (schema.maxLength !== undefined) parts.push(`max length ${schema.maxLength}`);
  if (schema.maxItems !== undefined) parts.push(`max items ${schema.maxItems}`);
  if (schema.pattern !== undefined) parts.push(`pattern ${code(schema.pattern)}`);
  if (schema.x_kubernetes_list_type !== undefined) {
    const keys = schema.x_kubernetes_list_map_keys;
    parts.push(
      `list type ${schema.x_kubernetes_list_type}` +
        (keys === undefined ? "" : ` (key ${keys.map(code).join(", ")})`),
    );
  }
  const rules = schema.x_kubernetes_validations?.length ?? 0;
  if (rules > 0) parts.push(`${rules} CEL rule${rules === 1 ? "" : "s"}`);
  return parts.join("; ");
}

function fieldTable(schema: V1JSONSchemaProps, root: string, withDefaults: boolean): string[] {
  const header = withDefaults
    ? ["| field | type | default | constraints | description |", "| --- | --- | --- | --- | --- |"]
    : ["| field | type | constraints | description |", "| --- | --- | --- | --- |"];
  const rows = walkSchema(schema, root)
    .filter((node) => node.path !== root)
    .map((node) => {
      const s = node.schema;
      const columns = [
        code(node.path),
        cell(typeOf(s)),
        ...(withDefaults ? [s._default === undefined ? "" : code(json(s._default))] : []),
        constraints(s, node.required),
        cell(s.description ?? ""),
      ];
      return `| ${columns.join(" | ")} |`;
    });
  return [...header, ...rows];
}

function rulesTable(schema: V1JSONSchemaProps, root: string): string[] {
  const rows = walkSchema(schema, root).flatMap((node) =>
    (node.schema.x_kubernetes_validations ?? []).map(
      (rule) =>
        `| ${code(node.path + (rule.fieldPath ?? ""))} | ${code(rule.rule)} | ${cell(rule.message ?? "")} |`,
    ),
  );
  return ["| reported on | rule | message |", "| --- | --- | --- |", ...rows];
}

function renderCrd(crd: V1CustomResourceDefinition): string[] {
  const { names, group, scope } = crd.spec;
  const version = storageVersion(crd);
  const root = rootSchema(crd);
  const spec = root.properties?.["spec"];
  const status = root.properties?.["status"];
  if (spec === undefined || status === undefined) {
    throw new Error(`${names.kind}: the schema has no spec or no status`);
  }
  const subresources = Object.keys(version.subresources ?? {}).filter(
    (key) => (version.subresources as Record<string, unknown> | undefined)?.[key] !== undefined,
  );
  const columns = (version.additionalPrinterColumns ?? []).map(
    (column) =>
      `| ${column.name} | ${code(column.jsonPath)} | ${column.type}${column.format === undefined ? "" : ` (${column.format})`} | ${(column.priority ?? 0) > 0 ? "`-o wide`" : "always"} | ${cell(column.description ?? "")} |`,
  );
  return [
    `## ${names.kind}`,
    "",
    cell(root.description ?? ""),
    "",
    "| | |",
    "| --- | --- |",
    `| API version | ${code(`${group}/${version.name}`)} |`,
    `| scope | ${scope} |`,
    `| kind, list kind | ${code(names.kind)}, ${code(names.listKind ?? `${names.kind}List`)} |`,
    `| plural, singular | ${code(names.plural)}, ${code(names.singular ?? "")} |`,
    `| short names | ${(names.shortNames ?? []).map(code).join(", ")} |`,
    `| categories | ${(names.categories ?? []).map(code).join(", ")} |`,
    `| subresources | ${subresources.join(", ")} |`,
    `| CRD file | ${code(`crds/${group}_${names.plural}.yaml`)} |`,
    "",
    "### Printer columns",
    "",
    "| column | JSONPath | type | shown | description |",
    "| --- | --- | --- | --- | --- |",
    ...columns,
    "",
    "### Spec",
    "",
    cell(spec.description ?? ""),
    "",
    ...fieldTable(spec, "spec", true),
    "",
    "### Validation rules (CEL, checked by the API server)",
    "",
    ...rulesTable(root, ""),
    "",
    "### Status",
    "",
    cell(status.description ?? ""),
    "",
    ...fieldTable(status, "status", false),
    "",
  ];
}

/** The reference document for the given CRDs (by default, ddq's). */
export function renderCrdReference(crds: V1CustomResourceDefinition[] = loadDdqCrds()): string {
  return [
    "# CRD reference",
    "",
    "<!-- Generated from crds/*.yaml by tools/crd-docs.ts (make crd-docs). Do not edit by hand. -->",
    "",
    "The custom resources of ddq, as their CustomResourceDefinitions define them. The API server",
    "checks types, ranges, patterns and the CEL rules listed for each resource, and applies the",
    "defaults; the operator checks what CEL cannot (cron expressions, time zones, schedules that",
    "never fire, Secret references) and reports it in the `Valid` condition with the field at",
    "fault. Ready-to-apply examples are in `examples/`.",
    "",
    ...crds.flatMap(renderCrd),
  ].join("\n");
}

function main(argv: readonly string[]): number {
  const generated = renderCrdReference();
  if (argv.includes("--check")) {
    let current: string | undefined;
    try {
      current = readFileSync(CRD_REFERENCE_PATH, "utf8");
    } catch {
      current = undefined;
    }
    if (current === generated) return 0;
    console.error(`${CRD_REFERENCE_PATH} is out of date: run make crd-docs`);
    return 1;
  }
  writeFileSync(CRD_REFERENCE_PATH, generated);
  console.log(`wrote ${CRD_REFERENCE_PATH}`);
  return 0;
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(realpathSync(resolve(entry))).href) {
  process.exitCode = main(process.argv.slice(2));
}
