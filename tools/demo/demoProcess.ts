/** A ddq component run by the demo as a child process, its output going to a log file. */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../../cli/ddq.ts", import.meta.url));

export class DemoProcess {
  private stdout = "";

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {}

  /** Starts `ddq <args>`; resolves with its `{"ready":true,...}` line once it prints it. */
  static async start(
    name: string,
    args: string[],
    env: Record<string, string>,
    logFile: string,
  ): Promise<{ process: DemoProcess; ready: Record<string, unknown> }> {
    const log = createWriteStream(logFile, { flags: "a" });
    // `node --import tsx`: the component is this very child, so signals reach it.
    const child = spawn(process.execPath, ["--import", "tsx", cli, ...args], {
      env: { ...process.env, DDQ_LOG_FORMAT: "text", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const demo = new DemoProcess(name, child);
    child.stderr.pipe(log);
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        log.write(chunk);
        demo.stdout += chunk.toString();
        const line = demo.stdout.split("\n").find((l) => l.startsWith('{"ready":true'));
        if (line !== undefined) resolve(JSON.parse(line) as Record<string, unknown>);
      });
      child.once("exit", (code) => {
        reject(
          new Error(`${name} exited with ${String(code)} before it was ready (log: ${logFile})`),
        );
      });
    });
    return { process: demo, ready };
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
