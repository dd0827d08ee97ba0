import { renderTable } from "./table.js";

export interface ResultRow {
  name: string;
  ddq: number;
  bullmq: number;
  /** > 1 means ddq is better; null when the denominator is 0. */
  ratio: number | null;
  unit: string;
  betterIs: "higher" | "lower";
}

export const RATIO_NOTE =
  "ratio > 1 means ddq is better: ddq/BullMQ for throughput, BullMQ/ddq for lateness and memory";

export function resultRow(
  name: string,
  unit: string,
  betterIs: "higher" | "lower",
  ddq: number,
  bullmq: number,
): ResultRow {
  const [num, den] = betterIs === "higher" ? [ddq, bullmq] : [bullmq, ddq];
  const ratio = den === 0 ? null : num / den;
  return {
    name,
    ddq: round(ddq),
    bullmq: round(bullmq),
    ratio: ratio === null ? null : round(ratio),
    unit,
    betterIs,
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function formatValue(value: number, unit: string): string {
  if (unit === "ms" || unit === "CPU s") return value.toFixed(1);
  return Math.round(value).toLocaleString("en-US");
}

export function renderResults(rows: readonly ResultRow[]): string {
  return renderTable(
    ["scenario", "ddq", "BullMQ", "ratio", "unit"],
    rows.map((r) => [
      r.name,
      formatValue(r.ddq, r.unit),
      formatValue(r.bullmq, r.unit),
      r.ratio === null ? "n/a" : `${r.ratio.toFixed(2)}x`,
      r.unit,
    ]),
  );
}
