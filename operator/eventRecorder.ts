/**
 * Kubernetes Events (core/v1) about the custom resources: best effort, like client-go's recorder.
 * A failed create is logged, never retried into the reconcile; a global token bucket (like
 * client-go's spam filter) drops Events beyond the rate rather than slow reconciliation down.
 */
import type { Log } from "./context.js";
import { randomBytes } from "node:crypto";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { ResourceMetadata } from "./spec/types.js";

export type EventType = "Normal" | "Warning";

export interface EventSubject {
  apiVersion?: string;
  kind?: string;
  metadata: ResourceMetadata;
}

export interface RecordedEvent {
  namespace: string;
  name: string;
  kind: string;
  type: EventType;
  reason: string;
  message: string;
}

export class EventRecorder {
  private readonly api: CoreV1Api;
  private tokens: number;
  private tokensAtMs = Date.now();
  private readonly inFlight = new Set<Promise<void>>();
  readonly stats = { created: 0, failed: 0, dropped: 0 };

  constructor(
    kubeConfig: KubeConfig,
    private readonly identity: string,
    private readonly log: Log,
    private readonly ratePerSecond = 100,
    private readonly burst = 1000,
  ) {
    this.api = kubeConfig.makeApiClient(CoreV1Api);
    this.tokens = burst;
  }

  record(subject: EventSubject, type: EventType, reason: string, message: string): void {
    const now = Date.now();
    this.tokens = Math.min(
      this.burst,
      this.tokens + ((now - this.tokensAtMs) / 1000) * this.ratePerSecond,
    );
    this.tokensAtMs = now;
    if (this.tokens < 1) {
      this.stats.dropped += 1;
      return;
    }
    this.tokens -= 1;
    const { name = "", namespace = "default", uid, resourceVersion } = subject.metadata;
    const time = new Date(now);
    const created = this.api
      .createNamespacedEvent({
        namespace,
        body: {
          metadata: { name: `${name}.${randomBytes(8).toString("hex")}`, namespace },
          involvedObject: {
            apiVersion: subject.apiVersion ?? "ddq.io/v1alpha1",
            kind: subject.kind ?? "",
            name,
            namespace,
            ...(uid === undefined ? {} : { uid }),
            ...(resourceVersion === undefined ? {} : { resourceVersion }),
          },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: "ddq-operator" },
          reportingComponent: "ddq.io/operator",
          reportingInstance: this.identity,
          firstTimestamp: time,
          lastTimestamp: time,
          count: 1,
        },
      })
      .then(
        () => {
          this.stats.created += 1;
        },
        (error: unknown) => {
          this.stats.failed += 1;
          this.log(
            "event not recorded",
            {
              object: `${namespace}/${name}`,
              reason,
              error: (error as Error).message,
            },
            "warn",
          );
        },
      )
      .finally(() => this.inFlight.delete(created));
    this.inFlight.add(created);
  }

  /** Waits for the Events being created. */
  async flush(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }
}
