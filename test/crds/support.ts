/**
 * Helpers for tests against the real API server with ddq's CRDs installed: installing them (and
 * waiting until they serve), a namespace per test file, typed custom-object calls, and the
 * reasons of a rejected request.
 */
import { randomBytes } from "node:crypto";
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
} from "@kubernetes/client-node";
import { loadDdqCrds } from "../../tools/crdFiles.js";
import { isApiStatus } from "../env/kubeClients.js";
import { waitFor } from "../env/waitFor.js";

export const GROUP = "ddq.io";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/**
 * Creates ddq's CRDs (unless another test file of this run did) and waits until they are
 * Established and their watch cache answers: a just-created CRD answers 429 until then, so a
 * list at resourceVersion "0" (served from the watch cache) is the signal.
 */
export async function installDdqCrds(admin: KubeConfig): Promise<void> {
  const api = admin.makeApiClient(ApiextensionsV1Api);
  const objects = admin.makeApiClient(CustomObjectsApi);
  for (const crd of loadDdqCrds()) {
    try {
      await api.createCustomResourceDefinition({ body: crd });
    } catch (error) {
      if (!isApiStatus(error, 409)) throw error;
    }
  }
  for (const crd of loadDdqCrds()) {
    const name = crd.metadata?.name ?? "";
    await waitFor(
      async () => {
        const current = await api.readCustomResourceDefinition({ name });
        const conditions = current.status?.conditions ?? [];
        const problem = conditions.find(
          (c) => c.type === "NonStructuralSchema" && c.status === "True",
        );
        if (problem !== undefined) {
          throw new Error(`${name} is not structural: ${problem.message ?? ""}`);
        }
        return conditions.some((c) => c.type === "Established" && c.status === "True");
      },
      { description: `the CRD ${name} to become Established` },
    );
    await waitFor(
      () =>
        objects
          .listNamespacedCustomObject({
            group: crd.spec.group,
            version: VERSION,
            namespace: "default",
            plural: crd.spec.names.plural,
            resourceVersion: "0",
          })
          .then(() => true),
      { description: `the ${crd.spec.names.kind} watch cache to initialize` },
    );
  }
}

/** A new namespace with a random suffix. */
export async function createTestNamespace(admin: KubeConfig, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString("hex")}`;
  await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
}

/** A custom object as the API server returns it (JSON, not client-node models). */
export interface CustomObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

function asCustomObject(value: unknown): CustomObject {
  if (typeof value !== "object" || value === null || !("metadata" in value)) {
    throw new Error(`not a custom object: ${JSON.stringify(value)}`);
  }
  return value as CustomObject;
}

export type Plural = "delayedtasks" | "crontasks";

/** Typed calls on ddq's custom objects in one namespace. */
export class DdqObjects {
  private readonly api: CustomObjectsApi;

  constructor(
    admin: KubeConfig,
    readonly namespace: string,
  ) {
    this.api = admin.makeApiClient(CustomObjectsApi);
  }

  async create(
    plural: Plural,
    body: object,
    options: { dryRun?: boolean; strict?: boolean } = {},
  ): Promise<CustomObject> {
    const created: unknown = await this.api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: this.namespace,
      plural,
      body,
      ...(options.dryRun === true ? { dryRun: "All" } : {}),
      ...(options.strict === true ? { fieldValidation: "Strict" } : {}),
    });
    return asCustomObject(created);
  }

  async get(plural: Plural, name: string): Promise<CustomObject> {
    const found: unknown = await this.api.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: this.namespace,
      plural,
      name,
    });
    return asCustomObject(found);
  }

  async replace(plural: Plural, body: CustomObject): Promise<CustomObject> {
    const replaced: unknown = await this.api.replaceNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: this.namespace,
      plural,
      name: body.metadata.name,
      body,
    });
    return asCustomObject(replaced);
  }

  async replaceStatus(plural: Plural, body: CustomObject): Promise<CustomObject> {
    const replaced: unknown = await this.api.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      namespace: this.namespace,
      plural,
      name: body.metadata.name,
      body,
    });
    return asCustomObject(replaced);
  }
}

export interface RejectionCause {
  field: string;
  message: string;
  reason: string;
}

export interface Rejection {
  code: number;
  message: string;
  causes: RejectionCause[];
}

interface StatusBody {
  message?: string;
  details?: { causes?: { field?: string; message?: string; reason?: string }[] };
}

/** The API server's refusal of `request`; fails when the request succeeds. */
export async function rejection(request: Promise<unknown>): Promise<Rejection> {
  try {
    await request;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const raw: unknown = (error as ApiException<unknown>).body;
    const body = (typeof raw === "string" ? JSON.parse(raw) : raw) as StatusBody;
    return {
      code: error.code,
      message: body.message ?? "",
      causes: (body.details?.causes ?? []).map((cause) => ({
        field: cause.field ?? "",
        message: cause.message ?? "",
        reason: cause.reason ?? "",
      })),
    };
  }
  throw new Error("expected the API server to reject the request, but it accepted it");
}
