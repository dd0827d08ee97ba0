/** WatchEvents request fields: where a watch starts, and the positions it resumes after. */
import { WatchEventsRequest_Start } from "../../proto/gen/ddq/v1/task_service.js";
import { invalidArgument } from "../engine/errors.js";

const MAX_UINT64 = 2n ** 64n - 1n;

/** Where a watch starts on shards resume_after does not name; unknown values are refused. */
export function watchStart(start: WatchEventsRequest_Start): "now" | "oldest" {
  if (start === WatchEventsRequest_Start.START_OLDEST) return "oldest";
  if (
    start === WatchEventsRequest_Start.START_NOW ||
    start === WatchEventsRequest_Start.START_UNSPECIFIED
  )
    return "now";
  throw invalidArgument(
    "start",
    `must be one of START_UNSPECIFIED, START_NOW, START_OLDEST (got ${start})`,
  );
}

/** Parses resume_after ids `<shard>:<entry>.<line>` into per-shard positions. */
export function resumePositions(ids: readonly string[], shardCount: number): Map<number, string> {
  const positions = new Map<number, string>();
  ids.forEach((id, i) => {
    // Stream ids are two 64-bit numbers: longer digit runs are no position Redis could hold.
    const match = /^(\d{1,9}):(\d{1,20}-\d{1,20})(\.\d{1,9})?$/.exec(id);
    const shard = Number(match?.[1] ?? NaN);
    const [ms = "", seq = ""] = match?.[2]?.split("-") ?? [];
    if (
      match === null ||
      !Number.isSafeInteger(shard) ||
      shard >= shardCount ||
      BigInt(ms) > MAX_UINT64 ||
      BigInt(seq) > MAX_UINT64
    ) {
      throw invalidArgument(`resume_after[${i}]`, `"${id}" is not an event id of this scheduler`);
    }
    if (positions.has(shard))
      throw invalidArgument(`resume_after[${i}]`, `names shard ${shard} twice`);
    positions.set(shard, `${match[2] ?? "0-0"}${match[3] ?? ""}`);
  });
  return positions;
}
