/** Human tables (default) and JSON (`-o json`) for the client commands. */
export type OutputFormat = "table" | "json";

export function printJson(
  value: unknown,
  write: (text: string) => void = (t) => process.stdout.write(t),
): void {
  write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Columns padded to their widest cell; empty tables print the header only. */
export function printTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  write: (text: string) => void = (t) => process.stdout.write(t),
): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  write(`${[line(header), ...rows.map(line)].join("\n")}\n`);
}

export function time(date: Date | undefined): string {
  return date === undefined ? "-" : date.toISOString().replace(".000Z", "Z");
}

/** "in 4m12s" / "3s ago" relative to now. */
export function relative(date: Date | undefined, nowMs = Date.now()): string {
  if (date === undefined) return "-";
  const delta = date.getTime() - nowMs;
  const abs = Math.abs(delta);
  const text =
    abs < 1000
      ? `${abs}ms`
      : abs < 60_000
        ? `${Math.round(abs / 1000)}s`
        : abs < 3_600_000
          ? `${Math.floor(abs / 60_000)}m${Math.round((abs % 60_000) / 1000)}s`
          : `${Math.floor(abs / 3_600_000)}h${Math.round((abs % 3_600_000) / 60_000)}m`;
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}

/** Progress on stderr, only when it is a terminal (scripts' output stays clean). */
export function progress(message: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${message}`);
}

export function progressDone(): void {
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[2K");
}
