/**
 * A sub-millisecond wall clock: performance.now() anchored to the instant Date.now() ticks over,
 * so it agrees with Date.now() (and Redis TIME on this host) to within microseconds.
 */
export function wallClock(): () => number {
  const start = Date.now();
  let tick = start;
  while (tick === start) tick = Date.now();
  const offset = tick - performance.now();
  return () => offset + performance.now();
}
