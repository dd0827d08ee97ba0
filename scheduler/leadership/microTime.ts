/**
 * A Date that serializes as a Kubernetes MicroTime (`2026-11-21T02:18:19.829000Z`).
 * @kubernetes/client-node serializes every date field with `toISOString()` (millisecond
 * precision), which the API server rejects for MicroTime fields such as a Lease's
 * acquireTime/renewTime (kubernetes-client/javascript#828). Use it for those fields.
 */
export class MicroTime extends Date {
  override toISOString(): string {
    return super.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
  }
}

/**
 * A MicroTime from a field client-node read: typed as Date, but left as the wire string by its
 * deserializer for MicroTime fields. Accepts either.
 */
export function readMicroTime(value: Date | string | undefined): MicroTime | undefined {
  if (value === undefined) return undefined;
  const time = new MicroTime(value);
  return Number.isNaN(time.getTime()) ? undefined : time;
}
