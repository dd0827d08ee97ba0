export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Rejects with a descriptive error when `promise` has not settled within `ms`. */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string | (() => string),
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`timed out after ${ms} ms: ${typeof what === "string" ? what : what()}`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `task` over consecutive slices of `items`, at most `concurrency` slices in flight. */
export async function inBatches<T>(
  items: readonly T[],
  batchSize: number,
  concurrency: number,
  task: (batch: readonly T[]) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const start = next;
      next += batchSize;
      await task(items.slice(start, start + batchSize));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}
