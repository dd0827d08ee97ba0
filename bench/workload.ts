/** The benchmark's task payload: the same JSON document for both engines. */
export interface BenchPayload {
  /** Index of the task in its scenario (0..count-1). */
  i: number;
  /** Due time, ms since the epoch. */
  due: number;
  /** Padding to the target size. */
  p: string;
}

export interface BenchTask {
  payload: BenchPayload;
  dueAtMs: number;
}

export const PAYLOAD_BYTES = 64;

/** A payload whose JSON encoding is exactly PAYLOAD_BYTES long (for indexes and times in range). */
export function makePayload(i: number, dueAtMs: number): BenchPayload {
  const bare = JSON.stringify({ i, due: dueAtMs, p: "" }).length;
  return { i, due: dueAtMs, p: "x".repeat(Math.max(0, PAYLOAD_BYTES - bare)) };
}

export function makeTasks(count: number, dueAt: (i: number) => number): BenchTask[] {
  return Array.from({ length: count }, (_, i) => {
    const dueAtMs = Math.round(dueAt(i));
    return { payload: makePayload(i, dueAtMs), dueAtMs };
  });
}

export function isBenchPayload(value: unknown): value is BenchPayload {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.i === "number" && typeof v.due === "number" && typeof v.p === "string";
}
