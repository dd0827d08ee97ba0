/**
 * The client commands of `ddq`: enqueue, get, cancel, ls, dead ..., cron ..., watch. Each talks
 * to a scheduler over gRPC (flags/variables in cli/clientSettings.ts).
 */
import { Schedule, ScheduleSpec } from "../../proto/gen/ddq/v1/cron_service.js";
import { Task, TaskSpec, TaskState } from "../../proto/gen/ddq/v1/task.js";
import {
  cancelTaskResponse_OutcomeToJSON as cancelOutcomeToJSON,
  Event,
  EventType,
} from "../../proto/gen/ddq/v1/task_service.js";
import { DdqClient } from "../../client/ddqClient.js";
import { toDuration } from "../../scheduler/api/protoTime.js";
import { clientOptions } from "../clientSettings.js";
import { parseDurationMs, type Settings } from "../config.js";
import { UsageError } from "../exitCodes.js";
import {
  printJson,
  printTable,
  progress,
  progressDone,
  relative,
  time,
  type OutputFormat,
} from "../output.js";
import { isPrintable } from "../../worker/handlers/printable.js";
import { scheduleSpecFromFile } from "./scheduleFile.js";
import { onTerminate } from "./terminate.js";

/** Tells (on stderr, so scripts' stdout stays clean) how to get the next page. */
function morePages(nextPageToken: string): void {
  if (nextPageToken !== "") process.stderr.write(`more: --page-token ${nextPageToken}\n`);
}

function eventTypeName(type: EventType): string {
  return (EventType as unknown as Record<number, string | undefined>)[type] ?? String(type);
}

const STATE_NAMES = ["scheduled", "ready", "leased", "succeeded", "dead", "cancelled"] as const;

function stateName(state: TaskState): string {
  const name = (TaskState as unknown as Record<number, string | undefined>)[state] ?? String(state);
  return name.replace("TASK_STATE_", "").toLowerCase();
}

function parseState(text: string): TaskState {
  const index = (STATE_NAMES as readonly string[]).indexOf(text.toLowerCase());
  if (index < 0)
    throw new UsageError(`--state must be one of ${STATE_NAMES.join(", ")}, got "${text}"`);
  return [
    TaskState.TASK_STATE_SCHEDULED,
    TaskState.TASK_STATE_READY,
    TaskState.TASK_STATE_LEASED,
    TaskState.TASK_STATE_SUCCEEDED,
    TaskState.TASK_STATE_DEAD,
    TaskState.TASK_STATE_CANCELLED,
  ][index] as TaskState;
}

function payloadText(payload: Buffer): string {
  const text = payload.toString("utf8");
  return isPrintable(text) ? text : `base64:${payload.toString("base64")}`;
}

function taskRows(tasks: readonly Task[]): string[][] {
  return tasks.map((t) => [
    t.id,
    t.topic,
    stateName(t.state),
    relative(t.dueTime),
    `${t.attempt}/${t.maxAttempts}`,
    t.lastError.slice(0, 60),
  ]);
}

const TASK_HEADER = ["ID", "TOPIC", "STATE", "DUE", "ATTEMPTS", "LAST ERROR"];

function taskJson(task: Task): unknown {
  return Task.toJSON(task);
}

export interface CommandIo {
  settings: Settings;
  args: string[];
  format: OutputFormat;
}

function arg(io: CommandIo, index: number, what: string): string {
  const value = io.args[index];
  if (value === undefined) throw new UsageError(`missing ${what}`);
  return value;
}

async function withClient<T>(io: CommandIo, run: (client: DdqClient) => Promise<T>): Promise<T> {
  const client = new DdqClient(clientOptions(io.settings));
  try {
    return await run(client);
  } finally {
    client.close();
  }
}

export async function enqueueCommand(io: CommandIo): Promise<number> {
  const s = io.settings;
  const spec: TaskSpec = TaskSpec.fromPartial({ topic: s.required("topic") });
  const payloadFile = s.string("payload-file");
  const payload = s.string("payload");
  if (payload !== undefined && payloadFile !== undefined)
    throw new UsageError("--payload and --payload-file are exclusive");
  if (payload !== undefined) spec.payload = Buffer.from(payload, "utf8");
  const payloadBytes = s.file("payload-file", { stdin: true });
  if (payloadBytes !== undefined) spec.payload = payloadBytes;
  const delay = s.string("delay");
  const at = s.string("at");
  if (delay !== undefined && at !== undefined)
    throw new UsageError("--delay and --at are exclusive");
  if (delay !== undefined) {
    const ms = parseDurationMs(delay, "--delay");
    spec.due = {
      $case: "delay",
      value: toDuration(ms),
    };
  }
  if (at !== undefined) {
    const date = new Date(at);
    if (Number.isNaN(date.getTime()))
      throw new UsageError(`--at must be an RFC 3339 time, got "${at}"`);
    spec.due = { $case: "dueTime", value: date };
  }
  spec.priority = s.integer("priority", 0, 0, 1000);
  const maxAttempts = s.string("max-attempts");
  if (maxAttempts !== undefined) spec.maxAttempts = s.integer("max-attempts", 0, 1, 1000);
  spec.idempotencyKey = s.string("idempotency-key") ?? "";
  const response = await withClient(io, (c) => c.enqueue(spec));
  if (io.format === "json")
    printJson({
      created: response.created,
      task: response.task === undefined ? null : taskJson(response.task),
    });
  else
    printTable(
      ["ID", "TOPIC", "STATE", "DUE", "CREATED"],
      [
        [
          response.task?.id ?? "",
          response.task?.topic ?? "",
          stateName(response.task?.state ?? TaskState.TASK_STATE_UNSPECIFIED),
          time(response.task?.dueTime),
          String(response.created),
        ],
      ],
    );
  return 0;
}

export async function getCommand(io: CommandIo): Promise<number> {
  const task = await withClient(io, (c) => c.get(arg(io, 0, "task id")));
  if (io.format === "json") {
    printJson(taskJson(task));
    return 0;
  }
  const rows: [string, string][] = [
    ["id", task.id],
    ["topic", task.topic],
    ["state", stateName(task.state)],
    ["due", `${time(task.dueTime)} (${relative(task.dueTime)})`],
    ["attempts", `${task.attempt}/${task.maxAttempts}`],
    ["priority", String(task.priority)],
    ["created", time(task.createTime)],
    ["lease expires", time(task.leaseExpireTime)],
    ["cancel requested", String(task.cancelRequested)],
    ["finished", time(task.finishTime)],
    ["last error", task.lastError === "" ? "-" : task.lastError],
    [
      "owner",
      task.owner === undefined
        ? "-"
        : `${task.owner.kind} ${task.owner.namespace}/${task.owner.name}`,
    ],
    ["payload", payloadText(task.payload).slice(0, 500)],
  ];
  printTable(["FIELD", "VALUE"], rows);
  return 0;
}

export async function cancelCommand(io: CommandIo): Promise<number> {
  const id = arg(io, 0, "task id");
  const result = await withClient(io, (c) => c.cancel(id));
  const outcome = cancelOutcomeToJSON(result.outcome).replace("OUTCOME_", "").toLowerCase();
  if (io.format === "json") printJson({ id, outcome, state: stateName(result.state) });
  else printTable(["ID", "OUTCOME", "STATE"], [[id, outcome, stateName(result.state)]]);
  return 0;
}

export async function lsCommand(io: CommandIo): Promise<number> {
  const s = io.settings;
  const stateText = s.string("state");
  return withClient(io, async (client) => {
    if (stateText === undefined) {
      const counts = await client.counts(s.string("topic") ?? "");
      if (io.format === "json") printJson(counts.topics);
      else
        printTable(
          ["TOPIC", "SCHEDULED", "READY", "LEASED", "SUCCEEDED", "DEAD", "CANCELLED"],
          counts.topics.map((t) => [
            t.topic,
            ...[t.scheduled, t.ready, t.leased, t.succeeded, t.dead, t.cancelled].map(String),
          ]),
        );
      return 0;
    }
    const all = s.boolean("all");
    const tasks: Task[] = [];
    let pageToken = s.string("page-token") ?? "";
    do {
      const page = await client.list({
        state: parseState(stateText),
        topic: s.string("topic") ?? "",
        ownerUid: s.string("owner") ?? "",
        pageSize: s.integer("limit", 100, 1, 1000),
        pageToken,
      });
      tasks.push(...page.tasks);
      pageToken = page.nextPageToken;
      if (all && pageToken !== "") progress(`listed ${tasks.length} tasks...`);
    } while (all && pageToken !== "");
    progressDone();
    if (io.format === "json") printJson({ tasks: tasks.map(taskJson), nextPageToken: pageToken });
    else {
      printTable(TASK_HEADER, taskRows(tasks));
      if (pageToken !== "") morePages(pageToken);
    }
    return 0;
  });
}

export async function deadCommand(io: CommandIo): Promise<number> {
  const [sub, ...rest] = io.args;
  const sio = { ...io, args: rest };
  const s = io.settings;
  return withClient(sio, async (client) => {
    switch (sub ?? "") {
      case "ls": {
        const page = await client.listDead(
          s.string("topic") ?? "",
          s.integer("limit", 100, 1, 1000),
          s.string("page-token") ?? "",
        );
        morePages(page.nextPageToken);
        if (io.format === "json")
          printJson({ tasks: page.tasks.map(taskJson), nextPageToken: page.nextPageToken });
        else printTable(TASK_HEADER, taskRows(page.tasks));
        return 0;
      }
      case "requeue": {
        if (rest.length === 0) throw new UsageError("dead requeue needs one or more task ids");
        const rows: string[][] = [];
        for (const [i, id] of rest.entries()) {
          const result = await client.requeueDead(id);
          rows.push([id, stateName(result.state), String(result.requeued)]);
          if (rest.length > 1) progress(`requeued ${i + 1}/${rest.length}`);
        }
        progressDone();
        if (io.format === "json")
          printJson(
            rows.map(([id, state, requeued]) => ({ id, state, requeued: requeued === "true" })),
          );
        else printTable(["ID", "STATE", "REQUEUED"], rows);
        return 0;
      }
      case "purge": {
        const before = s.string("before");
        const date = before === undefined ? undefined : new Date(before);
        if (date !== undefined && Number.isNaN(date.getTime()))
          throw new UsageError(`--before must be an RFC 3339 time, got "${before}"`);
        progress("purging dead tasks...");
        const result = await client.purgeDead(s.string("topic") ?? "", date);
        progressDone();
        if (io.format === "json") printJson({ purged: result.purged });
        else process.stdout.write(`purged ${result.purged} dead task(s)\n`);
        return 0;
      }
      default:
        throw new UsageError(
          "usage: ddq dead ls|requeue <id>...|purge [--topic T] [--before TIME]",
        );
    }
  });
}

export async function cronCommand(io: CommandIo): Promise<number> {
  const [sub, ...rest] = io.args;
  const id = (): string => {
    const value = rest[0];
    if (value === undefined) throw new UsageError(`cron ${sub ?? ""} needs a schedule id`);
    return value;
  };
  return withClient(io, async (client) => {
    switch (sub ?? "") {
      case "ls": {
        const page = await client.listSchedules(
          io.settings.integer("limit", 100, 1, 1000),
          io.settings.string("page-token") ?? "",
        );
        morePages(page.nextPageToken);
        if (io.format === "json")
          printJson(
            page.schedules.map((x) => ({
              spec: x.spec === undefined ? null : ScheduleSpec.toJSON(x.spec),
              status: x.status,
            })),
          );
        else
          printTable(
            ["ID", "SCHEDULE", "ZONE", "SUSPENDED", "NEXT", "LAST", "RUNS", "MISSED"],
            page.schedules.map((x) => [
              x.spec?.id ?? "",
              x.spec?.schedules.join(" | ") ?? "",
              x.spec?.timeZone === "" ? "UTC" : (x.spec?.timeZone ?? ""),
              String(x.status?.suspended ?? false),
              relative(x.status?.nextScheduleTime),
              relative(x.status?.lastScheduleTime),
              String(x.status?.runs ?? 0),
              String(x.status?.missed ?? 0),
            ]),
          );
        return 0;
      }
      case "get": {
        const { schedule } = await client.getSchedule(id());
        printJson(schedule === undefined ? null : Schedule.toJSON(schedule));
        return 0;
      }
      case "apply": {
        const spec = scheduleSpecFromFile(io.settings);
        const result = await client.upsertSchedule(spec);
        if (io.format === "json") printJson(result);
        else
          printTable(
            ["ID", "CREATED", "GENERATION", "NEXT"],
            [
              [
                spec.id,
                String(result.created),
                String(result.generation),
                time(result.nextScheduleTime),
              ],
            ],
          );
        return 0;
      }
      case "delete":
        // Safe to resend: a schedule already gone is reported, not an error.
        process.stdout.write(
          (await client.deleteSchedule(id())).deleted
            ? `deleted ${id()}\n`
            : `no schedule ${id()}: nothing deleted\n`,
        );
        return 0;
      case "pause":
        await client.pauseSchedule(id());
        process.stdout.write(`paused ${id()}\n`);
        return 0;
      case "resume":
        await client.resumeSchedule(id());
        process.stdout.write(`resumed ${id()}\n`);
        return 0;
      case "trigger": {
        const result = await client.triggerSchedule(id(), io.settings.string("request-id") ?? "");
        if (io.format === "json") printJson(result);
        else process.stdout.write(`triggered ${result.occurrenceId}\n`);
        return 0;
      }
      case "preview": {
        const result = await client.previewSchedule(
          id(),
          io.settings.integer("count", 10, 1, 1000),
        );
        if (io.format === "json") printJson(result);
        else
          printTable(
            ["UTC", `LOCAL (${result.timeZone})`],
            result.fires.map((f) => [time(f.time), f.localTime]),
          );
        return 0;
      }
      default:
        throw new UsageError(
          "usage: ddq cron ls|get|apply -f FILE|delete|pause|resume|trigger|preview <id>",
        );
    }
  });
}

export async function watchCommand(io: CommandIo): Promise<number> {
  const s = io.settings;
  const controller = new AbortController();
  void onTerminate().then(() => {
    controller.abort();
  });
  const limit = s.integer("count", 0, 0, Number.MAX_SAFE_INTEGER);
  const from = s.string("from", "now");
  if (from !== "now" && from !== "oldest") {
    throw new UsageError(`--from must be now or oldest, got "${String(from)}"`);
  }
  let seen = 0;
  const client = new DdqClient(clientOptions(s));
  try {
    const widths = [20, 16, 30, 16, 7];
    const row = (cells: string[]): string =>
      `${cells.map((c, i) => (i < widths.length ? c.padEnd(widths[i] ?? 0) : c)).join("  ")}\n`;
    if (io.format === "table")
      process.stdout.write(row(["TIME", "EVENT", "TASK", "TOPIC", "ATTEMPT", "EVENT ID"]));
    for await (const event of client.watch({
      topics: s.list("topic"),
      start: from,
      resumeAfter: s.list("resume-after"),
      signal: controller.signal,
    })) {
      if (io.format === "json") process.stdout.write(`${JSON.stringify(Event.toJSON(event))}\n`);
      else
        process.stdout.write(
          row([
            time(event.time),
            eventTypeName(event.type).replace("EVENT_TYPE_", "").toLowerCase(),
            event.taskId,
            event.topic,
            String(event.attempt),
            event.eventId,
          ]),
        );
      seen += 1;
      if (limit > 0 && seen >= limit) break;
    }
  } finally {
    client.close();
  }
  return 0;
}
