import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release, totalmem, type } from "node:os";
import { fileURLToPath } from "node:url";
import { redisServerBinary } from "../test/env/redisServer.js";

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memTotalBytes: number;
  os: string;
  node: string;
  /** NODE_OPTIONS of the benchmark process (bench/cli.ts SCHEDULER_NODE_OPTIONS). */
  nodeOptions: string;
  redisServer: string;
  bullmq: string;
  ioredis: string;
  /** 1-, 5- and 15-minute load averages when the run started (the machine may be shared). */
  loadAverageAtStart: number[];
}

function packageVersion(name: string): string {
  const file = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
  const version =
    typeof parsed === "object" && parsed !== null && "version" in parsed ? parsed.version : "";
  return typeof version === "string" ? version : "unknown";
}

/** The ddq commit measured, and whether scheduler/ had uncommitted changes (read-only git). */
export function ddqRevision(): { commit: string; schedulerModified: boolean | "unknown" } {
  const git = (...args: string[]): string | undefined => {
    try {
      return execFileSync("git", args, {
        cwd: fileURLToPath(new URL("..", import.meta.url)),
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      });
    } catch {
      return undefined;
    }
  };
  const status = git("status", "--porcelain", "--", "scheduler");
  return {
    commit: git("rev-parse", "HEAD")?.trim() ?? "unknown",
    schedulerModified: status === undefined ? "unknown" : status.trim() !== "",
  };
}

export function describeMachine(): MachineInfo {
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    memTotalBytes: totalmem(),
    os: `${type()} ${release()}`,
    node: process.version,
    nodeOptions: process.env.NODE_OPTIONS ?? "",
    redisServer: execFileSync(redisServerBinary(), ["--version"], { encoding: "utf8" }).trim(),
    bullmq: packageVersion("bullmq"),
    ioredis: packageVersion("ioredis"),
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
