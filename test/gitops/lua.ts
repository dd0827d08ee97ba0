import { runOk } from "../env/deployTools.js";

/** The real Lua 5.1 interpreter (Debian package lua5.1, installed by tools/setup.sh). */
export const LUA = process.env.DDQ_LUA ?? "lua5.1";

/** A Lua string literal for any JavaScript string (bytes escaped as \ddd, so UTF-8 survives). */
function luaString(value: string): string {
  let out = '"';
  for (const byte of Buffer.from(value, "utf8")) {
    const ch = String.fromCharCode(byte);
    out += byte >= 0x20 && byte < 0x7f && ch !== '"' && ch !== "\\" ? ch : `\\${String(byte)}`;
  }
  return `${out}"`;
}

/**
 * A JSON value as a Lua table constructor, the way Argo CD hands a resource to a health script:
 * objects become tables keyed by string, arrays 1-based sequences, null nil.
 */
export function toLua(value: unknown): string {
  if (value === null || value === undefined) return "nil";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`cannot pass ${String(value)} to Lua`);
    return String(value);
  }
  if (typeof value === "string") return luaString(value);
  if (Array.isArray(value)) return `{${value.map((item) => toLua(item)).join(", ")}}`;
  if (typeof value === "object") {
    const fields = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => `[${luaString(k)}] = ${toLua(v)}`);
    return `{${fields.join(", ")}}`;
  }
  throw new Error(`cannot pass a ${typeof value} to Lua`);
}

export interface HealthStatus {
  status: string;
  message: string;
}

/** Runs an Argo CD health script (global `obj`, returns `hs`) with lua5.1. */
export async function runHealthCheck(scriptFile: string, resource: unknown): Promise<HealthStatus> {
  const program = [
    `obj = ${toLua(resource)}`,
    `local hs = dofile(${luaString(scriptFile)})`,
    `assert(type(hs) == "table", "the health script must return a table")`,
    `io.write(tostring(hs.status), "\\n", tostring(hs.message))`,
  ].join("\n");
  const out = await runOk(LUA, ["-"], program);
  const newline = out.indexOf("\n");
  return { status: out.slice(0, newline), message: out.slice(newline + 1) };
}
