/**
 * The CustomResourceDefinitions in crds/, loaded as client-node models (the shape the API
 * clients send), and a walk over their schemas. Used by tools/crd-docs.ts and the tests.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  loadAllYaml,
  V1JSONSchemaProps,
  type V1CustomResourceDefinition,
  type V1CustomResourceDefinitionVersion,
} from "@kubernetes/client-node";

export const CRD_DIR = fileURLToPath(new URL("../crds/", import.meta.url));

/** The CRD files, in the order the reference documents them. */
export const CRD_FILES = ["ddq.io_delayedtasks.yaml", "ddq.io_crontasks.yaml"] as const;

export function loadCrdFile(path: string): V1CustomResourceDefinition {
  const documents: unknown[] = loadAllYaml(readFileSync(path, "utf8"));
  const [crd] = documents;
  if (documents.length !== 1 || !isCrd(crd)) {
    throw new Error(`${path}: expected exactly one CustomResourceDefinition`);
  }
  return crd;
}

function isCrd(value: unknown): value is V1CustomResourceDefinition {
  return (
    typeof value === "object" &&
    value !== null &&
    "kind" in value &&
    value.kind === "CustomResourceDefinition"
  );
}

/** ddq's CRDs: DelayedTask, then CronTask. */
export function loadDdqCrds(): V1CustomResourceDefinition[] {
  return CRD_FILES.map((file) => loadCrdFile(`${CRD_DIR}${file}`));
}

/** The one served and stored version (ddq has one version per CRD). */
export function storageVersion(crd: V1CustomResourceDefinition): V1CustomResourceDefinitionVersion {
  const version = crd.spec.versions.find((candidate) => candidate.storage);
  if (version === undefined) throw new Error(`${crd.metadata?.name ?? "?"}: no storage version`);
  return version;
}

export function rootSchema(crd: V1CustomResourceDefinition): V1JSONSchemaProps {
  const schema = storageVersion(crd).schema?.openAPIV3Schema;
  if (schema === undefined) throw new Error(`${crd.metadata?.name ?? "?"}: no schema`);
  return schema;
}

/**
 * The items schema of an array. client-node types `items` as any and leaves it as written in
 * YAML (keys such as "x-kubernetes-validations"); this returns it in the model's form
 * (x_kubernetes_validations), as a copy: the CRD object itself stays as it is, so that sending
 * it to the API server still serializes it correctly.
 */
export function itemsSchema(schema: V1JSONSchemaProps): V1JSONSchemaProps | undefined {
  const items: unknown = schema.items;
  if (items instanceof V1JSONSchemaProps) return items;
  return isRecord(items) ? schemaFromYaml(items) : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A schema as written in YAML, in client-node's model form (recursively). */
function schemaFromYaml(raw: Record<string, unknown>): V1JSONSchemaProps {
  const schema = new V1JSONSchemaProps();
  for (const { name, baseName } of V1JSONSchemaProps.getAttributeTypeMap()) {
    const value = raw[baseName];
    if (value === undefined) continue;
    if (baseName === "properties" && isRecord(value)) {
      schema.properties = Object.fromEntries(
        Object.entries(value).map(([key, child]) => [
          key,
          isRecord(child) ? schemaFromYaml(child) : new V1JSONSchemaProps(),
        ]),
      );
    } else {
      // Other keys hold plain data (validation rules use the same names in both forms).
      Object.assign(schema, { [name]: value });
    }
  }
  return schema;
}

export interface SchemaNode {
  /** Path from the root, e.g. "spec.target.http.headers[].name"; "" for the root. */
  path: string;
  schema: V1JSONSchemaProps;
  /** Whether the parent object lists it as required. */
  required: boolean;
  depth: number;
}

/** Every schema node, depth first, properties in the order they are written. */
export function walkSchema(
  schema: V1JSONSchemaProps,
  path = "",
  required = false,
  depth = 0,
): SchemaNode[] {
  const nodes: SchemaNode[] = [{ path, schema, required, depth }];
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    const childPath = path === "" ? name : `${path}.${name}`;
    nodes.push(
      ...walkSchema(child, childPath, schema.required?.includes(name) ?? false, depth + 1),
    );
  }
  const items = itemsSchema(schema);
  if (items !== undefined) nodes.push(...walkSchema(items, `${path}[]`, false, depth + 1));
  return nodes;
}

/** The schema at a path of walkSchema's form, or undefined. */
export function schemaAt(schema: V1JSONSchemaProps, path: string): V1JSONSchemaProps | undefined {
  return walkSchema(schema).find((node) => node.path === path)?.schema;
}
