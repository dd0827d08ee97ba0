#!/usr/bin/env node
/**
 * `ddq`: one CLI for every component and for operating ddq (docs/CLI.md).
 *   ddq scheduler | worker | operator            long-running components
 *   ddq enqueue | get | cancel | ls | watch      tasks
 *   ddq dead ls|requeue|purge                    dead letters
 *   ddq cron ls|get|apply|delete|pause|resume|trigger|preview
 */
import { parseArgs } from "node:util";
import { Settings } from "./config.js";
import { EXIT, exitCodeOfGrpc, InputError, UsageError } from "./exitCodes.js";
import {
  cancelCommand,
  cronCommand,
  deadCommand,
  enqueueCommand,
  getCommand,
  lsCommand,
  watchCommand,
  type CommandIo,
} from "./commands/clientCommands.js";
import { readStatusDetails } from "../scheduler/api/grpcStatus.js";
import { Metadata, status } from "@grpc/grpc-js";

const USAGE = `usage: ddq <command> [flags]

components:
  scheduler            run a scheduler replica (gRPC API on --grpc-listen)
  worker               run a worker with a built-in handler (--handler http|log --topics a,b)
  operator             reconcile DelayedTask/CronTask resources (kubeconfig from KUBECONFIG or
                       in-cluster; --scheduler-address, --watch-namespaces a,b, --http-topic)

tasks:
  enqueue --topic T [--payload S | --payload-file F] [--delay 30s | --at TIME] [--priority N]
          [--max-attempts N] [--idempotency-key K]
  get <id>             one task
  cancel <id>          cancel a task (a leased one gets cancel-requested)
  ls [--state S --topic T [--owner UID] [--limit N] [--all]]
                       counts per topic, or the tasks in a state
  watch [--topic T] [--from now|oldest] [--resume-after ID,...] [--count N]
  dead ls|requeue <id>...|purge [--topic T] [--before TIME]
  cron ls|get|apply -f FILE|delete|pause|resume|trigger|preview <id> [--count N]

common flags: --address host:port (DDQ_ADDRESS), --token / --token-file (DDQ_TOKEN_FILE),
  --tls, --tls-ca-file, --tls-cert-file, --tls-key-file, -o table|json
exit codes: 0 ok, 1 failure, 2 usage/invalid argument, 3 not found, 4 conflict,
  5 unavailable/timeout/overloaded, 6 unauthenticated/denied (docs/CLI.md)
`;

const STRING_FLAGS = [
  // client
  "address",
  "scheduler-address",
  "token",
  "token-file",
  "tls-ca-file",
  "tls-cert-file",
  "tls-key-file",
  "topic",
  "payload",
  "payload-file",
  "delay",
  "at",
  "priority",
  "max-attempts",
  "idempotency-key",
  "state",
  "owner",
  "limit",
  "before",
  "count",
  "from",
  "resume-after",
  "page-token",
  "request-id",
  // components
  "grpc-listen",
  "health-listen",
  "metrics-listen",
  "advertise-address",
  "redis-url",
  "redis-password",
  "redis-sentinels",
  "redis-sentinel-master",
  "redis-sentinel-password",
  "redis-cluster-nodes",
  "redis-tls-ca-file",
  "shards",
  "leadership",
  "lease-namespace",
  "identity",
  "auth-tokens-file",
  "tls-client-ca-file",
  "rate-limit-rps",
  "rate-limit-burst",
  "peer-tls-ca-file",
  "peer-tls-server-name",
  "prefix",
  "log-level",
  "log-format",
  "topics",
  "handler",
  "concurrency",
  "http-url",
  "http-timeout",
  "lease-timeout",
  "drain-seconds",
  "watch-namespaces",
  "http-topic",
] as const;
const BOOLEAN_FLAGS = ["all", "tls", "auth-disabled"] as const;

const OPTIONS = {
  ...Object.fromEntries(STRING_FLAGS.map((name) => [name, { type: "string" as const }])),
  ...Object.fromEntries(BOOLEAN_FLAGS.map((name) => [name, { type: "boolean" as const }])),
  output: { type: "string" as const, short: "o" },
  file: { type: "string" as const, short: "f" },
  help: { type: "boolean" as const, short: "h" },
};

const CLIENT_COMMANDS: Record<string, (io: CommandIo) => Promise<number>> = {
  enqueue: enqueueCommand,
  get: getCommand,
  cancel: cancelCommand,
  ls: lsCommand,
  dead: deadCommand,
  cron: cronCommand,
  watch: watchCommand,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(USAGE);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  let parsed: ReturnType<
    typeof parseArgs<{
      args: string[];
      options: typeof OPTIONS;
      allowPositionals: true;
      strict: true;
    }>
  >;
  try {
    parsed = parseArgs({ args: rest, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const flags: Record<string, string | boolean | undefined> = {};
  for (const [key, value] of Object.entries(parsed.values)) {
    if (typeof value === "string" || typeof value === "boolean") flags[key] = value;
  }
  const settings = new Settings(flags);
  const format = settings.string("output", "table");
  if (format !== "table" && format !== "json")
    throw new UsageError(`-o must be table or json, got "${format}"`);
  // Loaded on demand: the components pull in Redis, Kubernetes and metrics code that the client
  // commands do not need (it tripled the start time of every `ddq get`).
  if (command === "scheduler")
    return (await import("./commands/schedulerCommand.js")).runScheduler(settings);
  if (command === "worker")
    return (await import("./commands/workerCommand.js")).runWorker(settings);
  if (command === "operator")
    return (await import("./commands/operatorCommand.js")).runOperator(settings);
  const run = CLIENT_COMMANDS[command];
  if (run === undefined) throw new UsageError(`unknown command "${command}"`);
  return run({ settings, args: parsed.positionals, format: format });
}

/** A message on one line (a parser may quote the input, line breaks included). */
function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, " ").trim();
}

function report(error: unknown): number {
  if (error instanceof InputError) {
    process.stderr.write(`ddq: ${oneLine(error.message)}\n`);
    return EXIT.usage;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`ddq: ${error.message}\n(ddq --help for usage)\n`);
    return EXIT.usage;
  }
  const grpc = error as { code?: unknown; details?: unknown; metadata?: unknown };
  if (typeof grpc.code === "number" && grpc.metadata instanceof Metadata) {
    const details = readStatusDetails({ metadata: grpc.metadata });
    // Field violations of other codes (a stale lease token) are in their message already.
    const text =
      details.fieldViolations.length === 0 || grpc.code !== (status.INVALID_ARGUMENT as number)
        ? String(grpc.details)
        : `invalid request:${details.fieldViolations.map((v) => `\n  ${v.field}: ${v.description}`).join("")}`;
    process.stderr.write(`ddq: ${text}\n`);
    return exitCodeOfGrpc(grpc.code);
  }
  // Anything else (a local failure, a bug): one line, never a stack trace (docs/CLI.md).
  process.stderr.write(`ddq: ${oneLine(error instanceof Error ? error.message : String(error))}\n`);
  return EXIT.failure;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = report(error);
  },
);
