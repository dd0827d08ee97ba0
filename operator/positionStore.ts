/**
 * Where the operator's WatchEvents stream stands on every shard of the scheduler, kept durably in
 * an annotation of a Lease (`<lease>-watch`, next to the leader-election Lease: the operator's RBAC
 * has leases and nothing else that it may write in its own namespace). Saved at most once per
 * interval; an operator restarted resumes after these ids, so no transition of a task is missed.
 */
import { statusCode } from "../scheduler/kubernetesStatus.js";
import {
  CoordinationV1Api,
  type KubeConfig,
  type V1Lease,
  type V1ObjectMeta,
} from "@kubernetes/client-node";

export const POSITIONS_ANNOTATION = "ddq.io/watch-positions";

export class PositionStore {
  private readonly api: CoordinationV1Api;
  private current: V1Lease | undefined;
  private savedText: string | undefined;

  constructor(
    kubeConfig: KubeConfig,
    private readonly namespace: string,
    readonly name: string,
  ) {
    this.api = kubeConfig.makeApiClient(CoordinationV1Api);
  }

  /** The saved ids (one per shard), or [] when none were saved. */
  async load(): Promise<string[]> {
    try {
      this.current = await this.api.readNamespacedLease({
        name: this.name,
        namespace: this.namespace,
      });
    } catch (error) {
      if (statusCode(error) === 404) return [];
      throw error;
    }
    const text = this.current.metadata?.annotations?.[POSITIONS_ANNOTATION];
    this.savedText = text;
    if (text === undefined) return [];
    try {
      const parsed: unknown = JSON.parse(text);
      return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === "string") : [];
    } catch {
      return [];
    }
  }

  /** Writes the ids unless unchanged since the last save; a conflict re-reads and retries. */
  async save(positions: string[]): Promise<void> {
    const text = JSON.stringify([...positions].sort());
    if (text === this.savedText) return;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        if (this.current === undefined) {
          this.current = await this.api.createNamespacedLease({
            namespace: this.namespace,
            body: {
              apiVersion: "coordination.k8s.io/v1",
              kind: "Lease",
              metadata: {
                name: this.name,
                namespace: this.namespace,
                labels: { "app.kubernetes.io/part-of": "ddq" },
                annotations: { [POSITIONS_ANNOTATION]: text },
              },
              spec: {},
            },
          });
        } else {
          const current = this.current.metadata;
          const metadata: V1ObjectMeta = {
            name: this.name,
            namespace: this.namespace,
            annotations: { ...current?.annotations, [POSITIONS_ANNOTATION]: text },
          };
          if (current?.labels !== undefined) metadata.labels = current.labels;
          if (current?.resourceVersion !== undefined)
            metadata.resourceVersion = current.resourceVersion;
          const body: V1Lease = {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata,
            spec: {},
          };
          this.current = await this.api.replaceNamespacedLease({
            name: this.name,
            namespace: this.namespace,
            body,
          });
        }
        this.savedText = text;
        return;
      } catch (error) {
        const code = statusCode(error);
        if (code !== 409 && code !== 404) throw error;
        this.current = undefined;
        try {
          this.current = await this.api.readNamespacedLease({
            name: this.name,
            namespace: this.namespace,
          });
        } catch (readError) {
          if (statusCode(readError) !== 404) throw readError;
        }
      }
    }
    throw new Error(
      `saving watch positions on Lease ${this.namespace}/${this.name}: 3 conflicts in a row`,
    );
  }
}
