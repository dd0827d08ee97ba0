/**
 * Settings of the long-running commands: a flag wins over its environment variable, which wins
 * over the default (names in docs/CONFIGURATION.md). Every value is checked here, so a bad one
 * stops the process at start with a message naming the flag and the variable.
 */
import { readFileSync } from "node:fs";
import { InputError, UsageError } from "./exitCodes.js";
import { parseLogLevel, type LogLevel } from "./logger.js";

export type Flags = Record<string, string | boolean | undefined>;

export class Settings {
  constructor(
    private readonly flags: Flags,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** `--redis-url` <-> DDQ_REDIS_URL. */
  static envName(flag: string): string {
    return `DDQ_${flag.toUpperCase().replaceAll("-", "_")}`;
  }

  string(flag: string, fallback?: string): string | undefined {
    const value = this.flags[flag];
    if (typeof value === "string") return value;
    const env = this.env[Settings.envName(flag)];
    if (env !== undefined && env !== "") return env;
    return fallback;
  }

  required(flag: string): string {
    const value = this.string(flag);
    if (value === undefined) {
      throw new UsageError(`--${flag} (or ${Settings.envName(flag)}) is required`);
    }
    return value;
  }

  boolean(flag: string, fallback = false): boolean {
    const value = this.flags[flag];
    if (typeof value === "boolean") return value;
    const text = typeof value === "string" ? value : this.env[Settings.envName(flag)];
    if (text === undefined || text === "") return fallback;
    if (/^(1|true|yes)$/i.test(text)) return true;
    if (/^(0|false|no)$/i.test(text)) return false;
    throw new UsageError(
      `--${flag} (${Settings.envName(flag)}) must be true or false, got "${text}"`,
    );
  }

  integer(flag: string, fallback: number, min: number, max: number): number {
    const text = this.string(flag);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new UsageError(
        `--${flag} (${Settings.envName(flag)}) must be an integer from ${min} to ${max}, got "${text}"`,
      );
    }
    return value;
  }

  /** --log-level, checked. */
  logLevel(): LogLevel {
    try {
      return parseLogLevel(this.string("log-level"));
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }

  /** A host:port flag with its default. */
  listen(flag: string, fallback: string): string {
    return checkListenAddress(flag, this.string(flag, fallback) ?? fallback);
  }

  /** The plaintext gRPC health and Prometheus metrics addresses every component serves. */
  observability(): { healthListen: string; metricsListen: string } {
    return {
      healthListen: this.listen("health-listen", "0.0.0.0:7071"),
      metricsListen: this.listen("metrics-listen", "0.0.0.0:9464"),
    };
  }

  list(flag: string): string[] {
    return (this.string(flag) ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
  }

  /**
   * The contents of the file a flag names (with `stdin`, `-` is standard input). A file that
   * cannot be read is a usage error naming the flag, the path and the reason.
   */
  file(flag: string, options: { stdin?: boolean } = {}): Buffer | undefined {
    const path = this.string(flag);
    if (path === undefined) return undefined;
    try {
      return options.stdin === true && path === "-" ? readFileSync(0) : readFileSync(path);
    } catch (error) {
      throw new InputError(
        `--${flag} (${Settings.envName(flag)}): cannot read ${path}: ${(error as Error).message}`,
      );
    }
  }
}

/** "host:port" with a port; `[::]:7070` and `0.0.0.0:7070` included. */
export function checkListenAddress(flag: string, value: string): string {
  if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(value)) {
    throw new UsageError(`--${flag} must be host:port, got "${value}"`);
  }
  return value;
}

/** Milliseconds of "500ms", "30s", "5m", "1h30m" or a plain number of milliseconds. */
export function parseDurationMs(text: string, what: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "ms"];
    total += Number(m[1]) * unit;
    matched = re.lastIndex;
  }
  if (matched !== text.length || text.length === 0) {
    throw new UsageError(`${what} must be a duration like 500ms, 30s, 5m or 1h30m, got "${text}"`);
  }
  return Math.round(total);
}
