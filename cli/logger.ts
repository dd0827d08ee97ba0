/** Structured logs on stderr: JSON lines (default) or text, filtered by level. */
export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const LEVELS: readonly string[] = Object.keys(ORDER);

/** The level named by a flag value; throws naming the allowed ones. */
export function parseLogLevel(text: string | undefined): LogLevel {
  const value = text ?? "info";
  if (!LEVELS.includes(value)) {
    throw new Error(`--log-level must be one of ${LEVELS.join(", ")}, got "${value}"`);
  }
  return value as LogLevel;
}

export function createLogger(
  component: string,
  level: LogLevel = "info",
  format: "json" | "text" = "json",
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Logger {
  const emit = (at: LogLevel, message: string, fields: Record<string, unknown> = {}): void => {
    if (ORDER[at] < ORDER[level]) return;
    const time = new Date().toISOString();
    if (format === "json") {
      write(JSON.stringify({ time, level: at, component, msg: message, ...fields }));
    } else {
      const extra = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ");
      write(
        `${time} ${at.toUpperCase().padEnd(5)} ${component}: ${message}${extra === "" ? "" : ` ${extra}`}`,
      );
    }
  };
  return {
    debug: (m, f) => {
      emit("debug", m, f);
    },
    info: (m, f) => {
      emit("info", m, f);
    },
    warn: (m, f) => {
      emit("warn", m, f);
    },
    error: (m, f) => {
      emit("error", m, f);
    },
  };
}
