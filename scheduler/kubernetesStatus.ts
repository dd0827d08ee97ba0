/**
 * The HTTP status of a failed Kubernetes API call (client-node's ApiException or a watch error).
 * Shared by the scheduler's Lease backend and the operator.
 */
export function statusCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "number") return code;
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}
