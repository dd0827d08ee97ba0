import type { BackoffPolicy } from "./model.js";

/** A number in [0, 1] without exponent notation (String(1e-7) is "1e-7"), to 9 decimals. */
function plainDecimal(value: number): string {
  return value.toFixed(9).replace(/\.?0+$/, "") || "0";
}

/**
 * The compact form a task record stores and fail.lua reads:
 * `f:<delayMs>` or `e:<initialMs>:<maxMs>:<jitter>`.
 */
export function encodeBackoff(policy: BackoffPolicy): string {
  return policy.kind === "fixed"
    ? `f:${policy.delayMs}`
    : `e:${policy.initialMs}:${policy.maxMs}:${plainDecimal(policy.jitter)}`;
}

export function decodeBackoff(encoded: string): BackoffPolicy {
  const [kind, a = "0", b = "0", c = "0"] = encoded.split(":");
  if (kind === "f") return { kind: "fixed", delayMs: Number(a) };
  return { kind: "exponential", initialMs: Number(a), maxMs: Number(b), jitter: Number(c) };
}

/**
 * The retry delay after failed attempt `attempt` (1-based), as fail.lua computes it, for a jitter
 * draw `u` in [0, 1): exponential delays double from initialMs up to maxMs and are then reduced
 * by up to `jitter` of themselves.
 */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, u: number): number {
  if (policy.kind === "fixed") return policy.delayMs;
  const base = Math.min(policy.initialMs * 2 ** (attempt - 1), policy.maxMs);
  return Math.floor(base * (1 - policy.jitter * u));
}
