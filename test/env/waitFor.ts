export interface WaitOptions {
  /** What is being waited for, used in the timeout error. */
  description: string;
  timeoutMs?: number;
  intervalMs?: number;
  /** Checked before each attempt: a non-undefined return aborts the wait with that error. */
  abortIf?: () => Error | undefined;
}

/**
 * Polls `probe` until it returns a value other than `undefined` (or `false`), or rejects after
 * `timeoutMs`. Errors thrown by the probe count as "not yet" and the last one is reported.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitOptions,
): Promise<T> {
  const { description, timeoutMs = 30_000, intervalMs = 50, abortIf } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const abort = abortIf?.();
    if (abort !== undefined) throw abort;
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? `: last error: ${lastError.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
