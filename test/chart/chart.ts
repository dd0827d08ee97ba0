import { readdirSync } from "node:fs";
import { join } from "node:path";
import { chartDir, parseManifests, runOk, type Manifest } from "../env/deployTools.js";

/** The chart's tested value sets (charts/ddq/ci/*-values.yaml), by short name. */
export const valueSets: string[] = readdirSync(join(chartDir, "ci"))
  .filter((file) => file.endsWith("-values.yaml"))
  .map((file) => file.replace(/-values\.yaml$/, ""))
  .sort();

export function valuesFile(set: string): string {
  return join(chartDir, "ci", `${set}-values.yaml`);
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  valueSet?: string;
  set?: string[];
  /** Pretend the cluster serves monitoring.coreos.com/v1 (prometheus-operator). */
  monitoringApi?: boolean;
  includeCrds?: boolean;
}

export interface Rendered {
  yaml: string;
  objects: Manifest[];
}

/** `helm template` of charts/ddq. */
export async function renderChart(helm: string, options: RenderOptions = {}): Promise<Rendered> {
  const args = [
    "template",
    options.release ?? "ddq",
    chartDir,
    "--namespace",
    options.namespace ?? "ddq",
  ];
  if (options.valueSet !== undefined) args.push("--values", valuesFile(options.valueSet));
  for (const value of options.set ?? []) args.push("--set", value);
  if (options.monitoringApi === true) args.push("--api-versions", "monitoring.coreos.com/v1");
  if (options.includeCrds === true) args.push("--include-crds");
  const yaml = await runOk(helm, args);
  return { yaml, objects: parseManifests(yaml) };
}

export function ofKind<T = Manifest>(objects: Manifest[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- a typed view of a rendered object
export function named<T = Manifest>(objects: Manifest[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} rendered`);
  return found as T;
}
