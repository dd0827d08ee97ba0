import { readFileSync } from "node:fs";
import type { RedisClient } from "./redisClient.js";

/** Every Lua script of the engine: one file per atomic operation, in ./scripts/. */
export const SCRIPT_NAMES = [
  "enqueue",
  "fireDue",
  "lease",
  "extend",
  "ack",
  "fail",
  "recoverExpired",
  "cancel",
  "requeueDead",
  "purgeDead",
  "expireFinished",
  "acquireLeader",
  "releaseLeader",
  "releaseRoute",
  "bumpEpoch",
  "cronUpsert",
  "cronFire",
  "cronDelete",
  "cronSuspend",
  "changeWaiting",
  "deleteDead",
  "listAfter",
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

const scriptsDir = new URL("./scripts/", import.meta.url);
const INCLUDE = /^-- @include "([a-zA-Z]+)"$/m;

/** The source of a script with its `-- @include "name"` lines replaced by includes/name.lua. */
export function scriptSource(name: ScriptName): string {
  const source = readFileSync(new URL(`${name}.lua`, scriptsDir), "utf8");
  return source.replace(INCLUDE, (_line, include: string) =>
    readFileSync(new URL(`includes/${include}.lua`, scriptsDir), "utf8"),
  );
}

export type ScriptArg = string | number | Buffer;
type RawCommand = (numKeys: number, ...args: ScriptArg[]) => Promise<unknown>;

/**
 * Runs the engine's scripts on one ioredis connection. Scripts are registered with
 * `defineCommand`, so each is sent with EVALSHA and, when the server answers NOSCRIPT (after a
 * restart or failover), resent with EVAL. Replies come back as Buffers (payloads are bytes).
 */
export class ScriptRunner {
  private readonly commands = new Map<ScriptName, RawCommand>();

  constructor(readonly redis: RedisClient) {
    for (const name of SCRIPT_NAMES) {
      const command = `ddq_${name}`;
      if (!(command in redis)) redis.defineCommand(command, { lua: scriptSource(name) });
      const fn = Reflect.get(redis, `${command}Buffer`) as RawCommand;
      this.commands.set(name, fn.bind(redis));
    }
  }

  run(name: ScriptName, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
    const command = this.commands.get(name);
    if (command === undefined) throw new Error(`unknown script ${name}`);
    return command(keys.length, ...keys, ...args);
  }
}

/** Reply helpers: scripts answer with nested arrays of Buffers and integers. */
export function replyArray(reply: unknown): unknown[] {
  if (!Array.isArray(reply)) throw new Error(`unexpected script reply: ${String(reply)}`);
  return reply;
}

export function replyString(value: unknown): string {
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  throw new Error(`unexpected script reply element: ${String(value)}`);
}

export function replyNumber(value: unknown): number {
  const n = typeof value === "number" ? value : Number(replyString(value));
  if (!Number.isFinite(n)) throw new Error(`unexpected non-numeric script reply: ${String(value)}`);
  return n;
}

export function replyBytes(value: unknown): Uint8Array {
  if (Buffer.isBuffer(value)) return value;
  return Buffer.from(replyString(value), "utf8");
}
