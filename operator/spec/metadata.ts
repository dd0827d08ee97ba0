/** What the conversions need from a resource's metadata, checked. */
import { createHash } from "node:crypto";
import type { ResourceMetadata } from "./types.js";

export interface ResourceIdentity {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  generation: number;
  /** metadata.creationTimestamp in epoch ms, when present. */
  createdAtMs: number | undefined;
}

/** Epoch ms of a Kubernetes timestamp (string or Date), or undefined when absent or unparsable. */
export function timestampMs(value: string | Date | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The identity of a resource read from the API server. Throws (a programming error, not a spec
 * error) when name, namespace or uid is missing: the API server always sets them.
 */
export function resourceIdentity(kind: string, metadata: ResourceMetadata): ResourceIdentity {
  const { name, namespace, uid } = metadata;
  if (name === undefined || namespace === undefined || uid === undefined) {
    throw new Error(`${kind} without metadata.name, metadata.namespace or metadata.uid`);
  }
  return {
    kind,
    namespace,
    name,
    uid,
    generation: metadata.generation ?? 1,
    createdAtMs: timestampMs(metadata.creationTimestamp),
  };
}

/** A short, stable hash for ids that must fit a length limit. */
export function shortHash(text: string, length = 10): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}
