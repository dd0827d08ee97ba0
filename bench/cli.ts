/**
 * What every benchmark entry point does around its run: accept only `--quick`, exit if the run
 * overstays its watchdog, and exit with the run's outcome.
 */
export function runBenchmark(
  script: string,
  main: (quick: boolean) => Promise<void>,
  options: { watchdogMinutes: { quick: number; full: number }; failureCode?: () => number },
): void {
  const args = process.argv.slice(2);
  const unknownArgs = args.filter((a) => a !== "--quick");
  if (unknownArgs.length > 0) {
    console.error(
      `unknown argument(s): ${unknownArgs.join(" ")}\nusage: npx tsx ${script} [--quick]`,
    );
    process.exit(2);
  }
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
