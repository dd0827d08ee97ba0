/**
 * `ddq reschedule`, `ddq run-now`, `ddq set-priority` (a task not delivered yet), `ddq dead
 * delete` (one dead task by id) and `ddq cron preview` (a stored schedule, or a spec file that is
 * not saved). docs/CLI.md.
 */
import type { DdqClient } from "../../client/ddqClient.js";
import { parseDurationMs } from "../config.js";
import { UsageError } from "../exitCodes.js";
import { printJson, printTable, progress, progressDone, time } from "../output.js";
import { arg, stateName, withClient, type CommandIo } from "./clientCommands.js";
import { scheduleSpecFromFile } from "./scheduleFile.js";

/** An RFC 3339 time flag, or undefined when the flag is not set. */
function timeFlag(io: CommandIo, flag: string): Date | undefined {
  const text = io.settings.string(flag);
  if (text === undefined) return undefined;
  const date = new Date(text);
  if (Number.isNaN(date.getTime()))
    throw new UsageError(`--${flag} must be an RFC 3339 time, got "${text}"`);
  return date;
}

/** `ddq reschedule <id> --delay 10m | --at TIME` */
export async function rescheduleCommand(io: CommandIo): Promise<number> {
  const id = arg(io, 0, "task id");
  const delay = io.settings.string("delay");
  const at = timeFlag(io, "at");
  if ((delay === undefined) === (at === undefined))
    throw new UsageError("reschedule needs exactly one of --delay and --at");
  const due = at ?? { delayMs: parseDurationMs(delay ?? "", "--delay") };
  const result = await withClient(io, (c) => c.reschedule(id, due));
  const state = stateName(result.state);
  if (io.format === "json")
    printJson({ id, state, dueTime: time(result.dueTime), changed: result.changed });
  else
    printTable(
      ["ID", "STATE", "DUE", "CHANGED"],
      [[id, state, time(result.dueTime), String(result.changed)]],
    );
  return 0;
}

/** `ddq run-now <id>...` */
export async function runNowCommand(io: CommandIo): Promise<number> {
  if (io.args.length === 0) throw new UsageError("run-now needs one or more task ids");
  const rows = await withClient(io, async (client) => {
    const out: { id: string; state: string; dueTime: string; changed: boolean }[] = [];
    for (const [i, id] of io.args.entries()) {
      const result = await client.runNow(id);
      out.push({
        id,
        state: stateName(result.state),
        dueTime: time(result.dueTime),
        changed: result.changed,
      });
      if (io.args.length > 1) progress(`ran ${i + 1}/${io.args.length}`);
    }
    progressDone();
    return out;
  });
  if (io.format === "json") printJson(rows);
  else
    printTable(
      ["ID", "STATE", "DUE", "CHANGED"],
      rows.map((r) => [r.id, r.state, r.dueTime, String(r.changed)]),
    );
  return 0;
}

/** `ddq set-priority <id> --priority N` */
export async function setPriorityCommand(io: CommandIo): Promise<number> {
  const id = arg(io, 0, "task id");
  io.settings.required("priority");
  const priority = io.settings.integer("priority", 0, 0, 1000);
  const result = await withClient(io, (c) => c.setPriority(id, priority));
  const state = stateName(result.state);
  if (io.format === "json") printJson({ id, state, priority, changed: result.changed });
  else
    printTable(
      ["ID", "STATE", "PRIORITY", "CHANGED"],
      [[id, state, String(priority), String(result.changed)]],
    );
  return 0;
}

/** `ddq dead delete <id>...` (ids in io.args). */
export async function deadDeleteCommand(io: CommandIo, client: DdqClient): Promise<number> {
  if (io.args.length === 0) throw new UsageError("dead delete needs one or more task ids");
  const rows: { id: string; deleted: boolean }[] = [];
  for (const [i, id] of io.args.entries()) {
    rows.push({ id, deleted: (await client.deleteDead(id)).deleted });
    if (io.args.length > 1) progress(`deleted ${i + 1}/${io.args.length}`);
  }
  progressDone();
  if (io.format === "json") printJson(rows);
  else
    printTable(
      ["ID", "DELETED"],
      rows.map((r) => [r.id, String(r.deleted)]),
    );
  return 0;
}

/**
 * `ddq cron preview <id> | -f FILE [--count N] [--from TIME]` (args after "preview" in io.args):
 * a stored schedule, or a spec that is not saved (checked as `cron apply` would check it).
 */
export async function cronPreviewCommand(io: CommandIo, client: DdqClient): Promise<number> {
  const file = io.settings.string("file");
  const id = io.args[0];
  if ((file === undefined) === (id === undefined))
    throw new UsageError("cron preview needs a schedule id or -f FILE (not both)");
  const count = io.settings.integer("count", 10, 1, 1000);
  const from = timeFlag(io, "from");
  const result =
    file === undefined
      ? await client.previewSchedule(id ?? "", count, from)
      : await client.previewSpec(scheduleSpecFromFile(io.settings), count, from);
  if (io.format === "json") {
    printJson(result);
    return 0;
  }
  const jittered = result.fires.some((f) => f.dueTime?.getTime() !== f.time?.getTime());
  printTable(
    ["UTC", `LOCAL (${result.timeZone})`, ...(jittered ? ["DUE (WITH JITTER)"] : [])],
    result.fires.map((f) => [time(f.time), f.localTime, ...(jittered ? [time(f.dueTime)] : [])]),
  );
  return 0;
}
