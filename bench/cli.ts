import { spawn } from "node:child_process";

/**
 * V8 options the cron and end-to-end benchmarks run with (both engines share the benchmark
 * process; the end-to-end benchmark's `ddq scheduler` process inherits them): a 64 MiB
 * young-generation semi-space, what the chart gives the scheduler (`scheduler.semiSpaceMiB`).
 * With Node's default (16 MiB), tasks in flight were promoted and the old generation's
 * collections paused the event loop for 20-30 ms every few seconds, which set the cron
 * benchmark's p99. The engine benchmark keeps Node's defaults: docs/BENCHMARKS.md.
 */
export const SCHEDULER_NODE_OPTIONS = "--max-semi-space-size=64";

/**
 * Runs this process again with `options` added to NODE_OPTIONS unless they are there (V8 sizes
 * its heap at start-up). Returns true in the parent, which then only relays the child's exit.
 */
function reexecWithNodeOptions(options: string): boolean {
  const current = process.env.NODE_OPTIONS ?? "";
  if (current.includes(options)) return false;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, NODE_OPTIONS: `${current} ${options}`.trim() },
  });
  // Ctrl-C reaches the child from the terminal; SIGTERM is relayed. The child cleans up.
  process.on("SIGINT", () => undefined);
  process.on("SIGTERM", () => child.kill("SIGTERM"));
  child.on("exit", (code, signal) => process.exit(code ?? (signal === null ? 1 : 2)));
  return true;
}

/**
 * What every benchmark entry point does around its run: accept only `--quick`, run with its
 * `nodeOptions` (if any), exit if the run overstays its watchdog, and exit with the run's outcome.
 */
export function runBenchmark(
  script: string,
  main: (quick: boolean) => Promise<void>,
  options: {
    watchdogMinutes: { quick: number; full: number };
    failureCode?: () => number;
    /** Added to NODE_OPTIONS (the process runs itself again with them). */
    nodeOptions?: string;
  },
): void {
  const args = process.argv.slice(2);
  const unknownArgs = args.filter((a) => a !== "--quick");
  if (unknownArgs.length > 0) {
    console.error(
      `unknown argument(s): ${unknownArgs.join(" ")}\nusage: npx tsx ${script} [--quick]`,
    );
    process.exit(2);
  }
  if (options.nodeOptions !== undefined && reexecWithNodeOptions(options.nodeOptions)) return;
  const quick = args.includes("--quick");
  const minutes = quick ? options.watchdogMinutes.quick : options.watchdogMinutes.full;
  setTimeout(() => {
    console.error(`[bench] watchdog: the run did not finish within ${minutes} minutes`);
    process.exit(2);
  }, minutes * 60_000).unref();
  main(quick).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exit(options.failureCode?.() ?? 1);
    },
  );
}
