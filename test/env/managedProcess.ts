import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, readFileSync } from "node:fs";

export interface ProcessSpec {
  /** Short name used in errors, e.g. "redis-server". */
  name: string;
  command: string;
  args: readonly string[];
  /** stdout and stderr are appended here. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Makes sure no child outlives this process, even when teardown never runs. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
}

/** A child process whose output goes to a log file, with stop (TERM then KILL) and kill -9. */
export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  private exitState: ProcessExit | undefined;
  private startError: Error | undefined;

  private constructor(spec: ProcessSpec) {
    installExitHook();
    this.name = spec.name;
    this.logFile = spec.logFile;
    const log = openSync(spec.logFile, "a");
    try {
      this.child = spawn(spec.command, [...spec.args], {
        stdio: ["ignore", log, log],
        env: spec.env ?? process.env,
        cwd: spec.cwd,
      });
    } finally {
      closeSync(log);
    }
    running.add(this.child);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        running.delete(this.child);
        this.exitState = { code, signal };
        resolve(this.exitState);
      });
      this.child.once("error", (error) => {
        running.delete(this.child);
        this.startError = error;
        this.exitState = { code: null, signal: null };
        resolve(this.exitState);
      });
    });
  }

  static start(spec: ProcessSpec): ManagedProcess {
    return new ManagedProcess(spec);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The exit status if the process has already ended. */
  get exit(): ProcessExit | undefined {
    return this.exitState;
  }

  /** An error describing an unexpected exit, with the end of the log; undefined while running. */
  exitedError(): Error | undefined {
    if (this.exitState === undefined) return undefined;
    if (this.startError !== undefined) {
      return new Error(`${this.name} could not start: ${this.startError.message}`);
    }
    return new Error(
      `${this.name} exited (code ${String(this.exitState.code)}, signal ${String(this.exitState.signal)}); ` +
        `last log lines from ${this.logFile}:\n${this.logTail()}`,
    );
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** SIGTERM, then SIGKILL if the process has not exited within `graceMs`. */
  async stop(graceMs = 10_000): Promise<ProcessExit> {
    if (this.exitState !== undefined) return this.exitState;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** kill -9: no chance to clean up, as in a crash. */
  async kill9(): Promise<ProcessExit> {
    if (this.exitState !== undefined) return this.exitState;
    this.child.kill("SIGKILL");
    return this.exited;
  }
}
