/**
 * Errors that mean "Redis cannot be reached or cannot serve now", as opposed to a bug: the
 * connection dropped or stalled, the server is loading or failing over, the cluster is down.
 * The API answers them UNAVAILABLE with a retry delay (grpcStatus.ts), never INTERNAL.
 */

/** Raised by ddq itself when Redis is known to be unreachable (see RedisAvailability). */
export class RedisUnavailableError extends Error {
  override readonly name = "RedisUnavailableError";
}

/** Socket-level error codes of a connection that failed or broke. */
const CONNECTION_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** Error names of ioredis for commands that could not be sent or answered. */
const CONNECTION_ERROR_NAMES = new Set(["MaxRetriesPerRequestError", "ClusterAllFailedError"]);

/** Messages of ioredis (and Node) for a connection that is not usable. */
const CONNECTION_MESSAGES = [
  /^Connection is closed\.?$/,
  /Stream isn't writeable/,
  /Command timed out/,
  /Failed to refresh slots cache/,
  /Cluster isn't ready/,
  /Too many Cluster redirections/,
  /All sentinels are unreachable/,
  /None of the sentinels are available/,
  /Reached the max retries per request limit/,
  /^(?:connect|read|write) (?:E[A-Z]+)/,
  /socket hang up/,
];

/**
 * Redis error replies that a retry later can succeed after: cluster down or resharding, a
 * server loading its dataset, a replica promoted or demoted (failover), a busy script, too few
 * replicas. They may come prefixed ("ERR ", or wrapped by a script error).
 */
const RETRYABLE_REPLY =
  /(?:^|[\s:(-])(CLUSTERDOWN|LOADING|READONLY|MASTERDOWN|TRYAGAIN|BUSY|NOREPLICAS)\b/;

/** True for an error that means Redis is unreachable or temporarily unable to serve. */
export function isRedisUnavailableError(error: unknown): boolean {
  if (error instanceof RedisUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  if (CONNECTION_ERROR_NAMES.has(error.name)) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && CONNECTION_CODES.has(code)) return true;
  if (CONNECTION_MESSAGES.some((pattern) => pattern.test(error.message))) return true;
  // Only Redis replies (ioredis ReplyError) carry these words as a status.
  return error.name === "ReplyError" && RETRYABLE_REPLY.test(error.message);
}
