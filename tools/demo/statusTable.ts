/** The demo's live view: one compact row per resource, like `kubectl get -w`, plus web hits. */
export interface DemoResource {
  kind: string;
  metadata: { name: string; creationTimestamp?: string };
  status?: {
    phase?: string;
    scheduledTime?: string;
    completionTime?: string;
    attempts?: number;
    lastError?: string;
    nextScheduleTime?: string;
    lastScheduleTime?: string;
    runs?: number;
    missed?: number;
    conditions?: { type: string; status: string; message?: string }[];
  };
}

function clock(time: string | undefined): string {
  return time === undefined ? "-" : time.slice(11, 19);
}

function pad(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function renderStatus(resources: readonly DemoResource[], hits: readonly string[]): string {
  const rows = [["KIND", "NAME", "PHASE", "NEXT/SCHEDULED", "LAST", "RUNS/ATTEMPTS", "MESSAGE"]];
  for (const r of resources) {
    const s = r.status ?? {};
    const notReady = s.conditions?.find((c) => c.status === "False");
    const message = s.lastError ?? notReady?.message ?? "";
    rows.push(
      r.kind === "DelayedTask"
        ? [
            "DelayedTask",
            r.metadata.name,
            s.phase ?? "-",
            clock(s.scheduledTime),
            clock(s.completionTime),
            String(s.attempts ?? 0),
            message,
          ]
        : [
            "CronTask",
            r.metadata.name,
            s.phase ?? "-",
            clock(s.nextScheduleTime),
            clock(s.lastScheduleTime),
            String(s.runs ?? 0),
            message,
          ],
    );
  }
  const web = hits.length === 0 ? ["  (none yet)"] : hits.map((h) => `  ${h}`);
  return `ddq demo — ${new Date().toISOString().slice(11, 19)} UTC\n\n${pad(rows)}\n\nrequests received by the demo's web server:\n${web.join("\n")}\n`;
}
