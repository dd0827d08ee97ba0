/**
 * Errors in a custom resource's spec, each naming the field at fault by its path in the resource
 * (e.g. `spec.schedule`, `spec.target.http.headers[1].valueFrom.secretKeyRef.key`).
 */
import { isDdqError } from "../../scheduler/engine/errors.js";

export interface SpecError {
  /** Path of the field in the resource. */
  field: string;
  /** What is wrong, without the field name. */
  message: string;
}

export type SpecResult<T> = { ok: true; value: T } | { ok: false; errors: SpecError[] };

export function specError(field: string, message: string): SpecError {
  return { field, message };
}

/** One line per error, as for the message of a Valid=False condition: "field: message; ...". */
export function formatSpecErrors(errors: readonly SpecError[]): string {
  return errors.map((error) => `${error.field}: ${error.message}`).join("; ");
}

/**
 * Turns a scheduler validation error (DdqError INVALID_ARGUMENT with `field`) into a SpecError,
 * translating the scheduler's field name into the resource's path with `fieldPath`. A field
 * without a translation is reported on `spec` with the scheduler's whole message (which names
 * its field). Any other error is not about the spec and is rethrown.
 */
export function specErrorFromScheduler(
  error: unknown,
  fieldPath: (schedulerField: string) => string | undefined,
): SpecError {
  if (!isDdqError(error, "INVALID_ARGUMENT") || error.field === undefined) throw error;
  const path = fieldPath(error.field);
  if (path === undefined) return { field: "spec", message: error.message };
  const prefix = `${error.field}: `;
  const message = error.message.startsWith(prefix)
    ? error.message.slice(prefix.length)
    : error.message;
  return { field: path, message };
}
