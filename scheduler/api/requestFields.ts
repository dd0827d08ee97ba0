/**
 * Bounds of request fields the engine takes as they come (tokens, request ids, filters): each has
 * a documented limit (docs/API.md "Limits") and is INVALID_ARGUMENT naming the field beyond it.
 */
import { invalidArgument } from "../engine/errors.js";
import type { EngineLimits } from "../engine/model.js";
import { validateTopic } from "../engine/validation.js";

/** Longest lease token accepted (the server issues 32 hex digits, a dot and an index). */
export const MAX_LEASE_TOKEN_LENGTH = 128;
/** Longest client-chosen request id (Lease, TriggerSchedule). */
export const MAX_REQUEST_ID_LENGTH = 128;
/** Longest owner uid filter (an OwnerReference field's own limit). */
export const MAX_OWNER_UID_LENGTH = 253;
/** Topics one WatchEvents may filter on. */
export const MAX_WATCH_TOPICS = 1000;
/** Longest time zone name (IANA names are far shorter). */
export const MAX_TIME_ZONE_LENGTH = 64;

/** A lease token as Extend, Ack and Fail take it: required, at most MAX_LEASE_TOKEN_LENGTH. */
export function checkLeaseToken(field: string, token: string): string {
  if (token === "") throw invalidArgument(field, "is required (the token Lease returned)");
  if (token.length > MAX_LEASE_TOKEN_LENGTH) {
    throw invalidArgument(
      field,
      `must be at most ${MAX_LEASE_TOKEN_LENGTH} characters, got ${token.length}`,
    );
  }
  return token;
}

/** The topic of a task a worker holds (Extend, Ack, Fail): a valid topic name. */
export function checkTaskTopic(field: string, topic: string, limits: EngineLimits): string {
  return validateTopic(field, topic, limits);
}

export function checkMaxLength(field: string, value: string, max: number): string {
  if (value.length > max) {
    throw invalidArgument(field, `must be at most ${max} characters, got ${value.length}`);
  }
  return value;
}
