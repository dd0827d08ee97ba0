/** Where shard leases live: Redis (outside Kubernetes) or coordination.k8s.io/v1 Leases. */
export interface LeaseBackend {
  readonly kind: "redis" | "kubernetes";
  /**
   * Acquires the shard's lease for this identity, or renews it if already held. `epoch` is set
   * when the backend itself moved the shard epoch on acquisition (the Redis backend does it in
   * the same script); otherwise the elector bumps it.
   */
  tryAcquireOrRenew(shard: number): Promise<{ held: boolean; epoch?: string; holder?: string }>;
  /** Gives the lease up if this identity holds it, so a successor need not wait for expiry. */
  release(shard: number): Promise<void>;
}

/** client-go's leader-election timing. */
export interface LeaseTiming {
  /** How long a lease is valid after its last renewal; others wait this long to take it. */
  leaseDurationMs: number;
  /** A leader that has not renewed for this long stops acting as leader. */
  renewDeadlineMs: number;
  /** How often to try to acquire and renew. */
  retryPeriodMs: number;
}

export const DEFAULT_LEASE_TIMING: LeaseTiming = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/** client-go's rule: leaseDuration > renewDeadline > 1.2 x retryPeriod (JitterFactor). */
export function checkLeaseTiming(timing: LeaseTiming): void {
  const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = timing;
  if (!(leaseDurationMs > renewDeadlineMs)) {
    throw new Error(
      `leaseDuration (${leaseDurationMs} ms) must be greater than renewDeadline (${renewDeadlineMs} ms)`,
    );
  }
  if (!(renewDeadlineMs > 1.2 * retryPeriodMs)) {
    throw new Error(
      `renewDeadline (${renewDeadlineMs} ms) must be greater than 1.2 x retryPeriod (${retryPeriodMs} ms)`,
    );
  }
  if (!(retryPeriodMs > 0)) throw new Error("retryPeriod must be positive");
}
