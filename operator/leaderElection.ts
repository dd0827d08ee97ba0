/**
 * Leader election of the operator with one coordination.k8s.io Lease, client-go's semantics (the
 * Lease record, compare-and-swap on resourceVersion, takeover only after the record has not
 * changed for leaseDuration by this process's clock) from scheduler/leadership's
 * KubernetesLeaseBackend. The elector renews every retryPeriod; a leader that cannot renew for
 * renewDeadline stops leading (before anyone else may take over at leaseDuration).
 */
import type { Log } from "./context.js";
import type { KubeConfig } from "@kubernetes/client-node";
import { KubernetesLeaseBackend } from "../scheduler/leadership/kubernetesLeaseBackend.js";

export interface LeaderElectionOptions {
  namespace: string;
  /** The Lease's name. Default "ddq-operator". */
  name?: string;
  identity: string;
  /** Default 15 s / 10 s / 2 s (client-go's defaults). */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  /** Awaited by stop() before the Lease is released. */
  onStoppedLeading: () => void | Promise<void>;
  log?: Log;
}

class NamedLease extends KubernetesLeaseBackend {
  constructor(
    kubeConfig: KubeConfig,
    namespace: string,
    private readonly name: string,
    identity: string,
    leaseDurationMs: number,
  ) {
    super(kubeConfig, namespace, name, identity, leaseDurationMs);
  }

  override leaseName(): string {
    return this.name;
  }
}

export class LeaderElector {
  private readonly lease: NamedLease;
  private leading = false;
  private lastRenewMs = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  readonly leaseName: string;

  constructor(
    kubeConfig: KubeConfig,
    private readonly options: LeaderElectionOptions,
  ) {
    this.leaseName = options.name ?? "ddq-operator";
    this.lease = new NamedLease(
      kubeConfig,
      options.namespace,
      this.leaseName,
      options.identity,
      options.leaseDurationMs ?? 15_000,
    );
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.schedule(this.options.retryPeriodMs ?? 2_000);
      });
    }, delayMs);
  }

  private async tick(): Promise<void> {
    const now = performance.now();
    let held = false;
    // Another holder (an answer) ends leadership at once; an error only after renewDeadline.
    let heldByOther = false;
    try {
      const result = await this.lease.tryAcquireOrRenew(0);
      held = result.held;
      heldByOther = !held;
      if (!held && !this.leading)
        this.options.log?.("waiting for leadership", { holder: result.holder ?? "" });
    } catch (error) {
      this.options.log?.("lease renewal failed", { error: (error as Error).message }, "warn");
    }
    if (this.stopped) {
      // A renew in flight during stop() may just have taken the Lease: hand it back.
      if (held && !this.leading) await this.lease.release(0).catch(() => undefined);
      return;
    }
    if (held) {
      this.lastRenewMs = now;
      if (!this.leading) {
        this.leading = true;
        this.options.log?.("became leader", { lease: this.leaseName });
        this.options.onStartedLeading();
      }
    } else if (
      this.leading &&
      (heldByOther ||
        performance.now() - this.lastRenewMs > (this.options.renewDeadlineMs ?? 10_000))
    ) {
      this.leading = false;
      this.options.log?.("lost leadership", { lease: this.leaseName }, "warn");
      void this.options.onStoppedLeading();
    }
  }

  /** Stops renewing; a leader releases the Lease so that a successor takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
    if (this.leading) {
      this.leading = false;
      // Stop working first, then release: a successor never overlaps with this replica.
      await this.options.onStoppedLeading();
      try {
        await this.lease.release(0);
      } catch (error) {
        this.options.log?.("lease release failed", { error: (error as Error).message }, "warn");
      }
    }
  }
}
