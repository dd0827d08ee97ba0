import { randomUUID } from "node:crypto";

/**
 * `length` (at most 30) random hex digits for ids and tokens on hot paths (a lease call needs
 * two). Taken from randomUUID, which draws from a cached pool of secure random bytes, where a
 * small randomBytes call costs a system call each time. Of a version 4 UUID
 * (xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx), the 30 x digits are random; 4 and y are not used.
 */
export function randomHex(length: number): string {
  if (!Number.isInteger(length) || length < 0 || length > 30)
    throw new RangeError(`randomHex: length must be an integer from 0 to 30, got ${length}`);
  const u = randomUUID();
  return (u.slice(0, 8) + u.slice(9, 13) + u.slice(15, 18) + u.slice(20, 23) + u.slice(24)).slice(
    0,
    length,
  );
}
