import { CoordinationV1Api, type KubeConfig, type V1Lease } from "@kubernetes/client-node";
import type { LeaseBackend } from "./leaseBackend.js";
import { MicroTime, readMicroTime } from "./microTime.js";
import { statusCode } from "../kubernetesStatus.js";

interface Observed {
  /** holderIdentity + renewTime + resourceVersion as last seen. */
  fingerprint: string;
  /** Local monotonic time when the record was last seen to change. */
  atMs: number;
}

/**
 * Shard leases as coordination.k8s.io/v1 Lease objects, one per shard, following client-go's
 * resourcelock semantics: a lease held by another identity is taken over only after it has not
 * changed for leaseDuration as observed by *this* process's clock (no cross-node clock
 * comparison), and every write is a compare-and-swap on resourceVersion.
 */
export class KubernetesLeaseBackend implements LeaseBackend {
  readonly kind = "kubernetes";
  private readonly api: CoordinationV1Api;
  private readonly observed = new Map<number, Observed>();

  constructor(
    kubeConfig: KubeConfig,
    private readonly namespace: string,
    private readonly namePrefix: string,
    private readonly identity: string,
    private readonly leaseDurationMs: number,
    private readonly monotonicNow: () => number = () => performance.now(),
  ) {
    this.api = kubeConfig.makeApiClient(CoordinationV1Api);
  }

  leaseName(shard: number): string {
    return `${this.namePrefix}-shard-${shard}`;
  }

  async tryAcquireOrRenew(shard: number): Promise<{ held: boolean; holder?: string }> {
    const name = this.leaseName(shard);
    const now = new MicroTime();
    let current: V1Lease;
    try {
      current = await this.api.readNamespacedLease({ name, namespace: this.namespace });
    } catch (error) {
      if (statusCode(error) !== 404) throw error;
      try {
        await this.api.createNamespacedLease({
          namespace: this.namespace,
          body: this.record(name, now, now, 0),
        });
        return { held: true };
      } catch (createError) {
        if (statusCode(createError) === 409) return { held: false };
        throw createError;
      }
    }
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const fingerprint = `${holder}|${readMicroTime(spec.renewTime)?.toISOString() ?? ""}|${current.metadata?.resourceVersion ?? ""}`;
    const seen = this.observed.get(shard);
    if (seen?.fingerprint !== fingerprint)
      this.observed.set(shard, { fingerprint, atMs: this.monotonicNow() });
    const observedAt = this.observed.get(shard)?.atMs ?? this.monotonicNow();
    const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.leaseDurationMs / 1000)) * 1000;
    const heldByMe = holder === this.identity;
    const expired = holder === "" || observedAt + durationMs <= this.monotonicNow();
    if (!heldByMe && !expired) return { held: false, holder };

    const acquireTime = (heldByMe ? readMicroTime(spec.acquireTime) : undefined) ?? now;
    const transitions = (spec.leaseTransitions ?? 0) + (heldByMe ? 0 : 1);
    const body = this.record(name, acquireTime, now, transitions);
    if (body.metadata !== undefined)
      body.metadata.resourceVersion = current.metadata?.resourceVersion ?? "";
    try {
      await this.api.replaceNamespacedLease({ name, namespace: this.namespace, body });
      return { held: true };
    } catch (error) {
      if (statusCode(error) === 409) return { held: false, holder };
      throw error;
    }
  }

  async release(shard: number): Promise<void> {
    const name = this.leaseName(shard);
    try {
      const current = await this.api.readNamespacedLease({ name, namespace: this.namespace });
      if (current.spec?.holderIdentity !== this.identity) return;
      // As client-go does: clear the holder and shorten the duration so a successor takes over now.
      const spec = current.spec ?? {};
      spec.holderIdentity = "";
      spec.leaseDurationSeconds = 1;
      spec.renewTime = new MicroTime();
      const acquireTime = readMicroTime(spec.acquireTime);
      if (acquireTime !== undefined) spec.acquireTime = acquireTime;
      const body: V1Lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", spec };
      if (current.metadata !== undefined) body.metadata = current.metadata;
      await this.api.replaceNamespacedLease({ name, namespace: this.namespace, body });
    } catch (error) {
      if (statusCode(error) !== 404 && statusCode(error) !== 409) throw error;
    }
  }

  private record(
    name: string,
    acquireTime: Date,
    renewTime: Date,
    leaseTransitions: number,
  ): V1Lease {
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name, namespace: this.namespace, labels: { "app.kubernetes.io/part-of": "ddq" } },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
        acquireTime,
        renewTime,
        leaseTransitions,
      },
    };
  }
}
