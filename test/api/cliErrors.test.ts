/**
 * How `ddq` fails: every error is one line on stderr (`ddq: ...`; a command-line mistake adds the
 * usage hint) with the exit code of cli/exitCodes.ts, never a Node stack trace. Unreadable and
 * malformed files, unknown flags, an unreachable scheduler. No scheduler runs here: commands that
 * would talk to one are pointed at a loopback port nobody listens on.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "../../cli/exitCodes.js";
import { freeLoopbackPort } from "../env/ports.js";
import { testScratchDir } from "../env/testContext.js";
import { runCli } from "./support.js";

let dir: string;
let nobody: string;

beforeAll(async () => {
  dir = testScratchDir("api-cli-errors");
  nobody = `127.0.0.1:${String(await freeLoopbackPort())}`;
  writeFileSync(join(dir, "bad.json"), "{bad");
  writeFileSync(join(dir, "nightly.yaml"), "id: nightly-report\nschedules:\n  - '@daily'\n");
  writeFileSync(join(dir, "array.json"), "[1]");
  writeFileSync(
    join(dir, "payload-number.json"),
    JSON.stringify({ id: "x", schedules: ["@daily"], task: { topic: "t", payload: 5 } }),
  );
  writeFileSync(join(dir, "bad-duration.json"), JSON.stringify({ id: "x", jitter: "5x" }));
  mkdirSync(join(dir, "a-directory"));
});

interface Case {
  name: string;
  args: () => string[];
  exit: number;
  /** The first line of stderr. */
  message: RegExp;
  /** A command-line mistake: the usage hint follows on a second line. */
  hint?: boolean;
}

const CASES: Case[] = [
  {
    name: "cron apply of a file that does not exist",
    args: () => ["cron", "apply", "-f", join(dir, "missing.yaml")],
    exit: EXIT.usage,
    message: /^ddq: --file \(DDQ_FILE\): cannot read .*missing\.yaml: ENOENT/,
  },
  {
    name: "cron apply of a directory",
    args: () => ["cron", "apply", "-f", join(dir, "a-directory")],
    exit: EXIT.usage,
    message: /^ddq: --file \(DDQ_FILE\): cannot read .*a-directory: EISDIR/,
  },
  {
    name: "cron apply of a file that is not JSON",
    args: () => ["cron", "apply", "-f", join(dir, "bad.json")],
    exit: EXIT.usage,
    message: /^ddq: --file .*bad\.json: not JSON \(the file is a ScheduleSpec in protobuf JSON/,
  },
  {
    name: "cron apply of a YAML file (the parser quotes its lines: still one line)",
    args: () => ["cron", "apply", "-f", join(dir, "nightly.yaml")],
    exit: EXIT.usage,
    message: /^ddq: --file .*nightly\.yaml: not JSON .* is not valid JSON$/,
  },
  {
    name: "cron apply of JSON that is not an object",
    args: () => ["cron", "apply", "-f", join(dir, "array.json")],
    exit: EXIT.usage,
    message:
      /^ddq: --file .*array\.json: must hold a JSON object \(a ScheduleSpec\), got an array$/,
  },
  {
    name: "cron apply of a field of the wrong type",
    args: () => ["cron", "apply", "-f", join(dir, "payload-number.json")],
    exit: EXIT.usage,
    message: /^ddq: --file .*payload-number\.json: not a ScheduleSpec: /,
  },
  {
    name: "cron apply of a bad duration",
    args: () => ["cron", "apply", "-f", join(dir, "bad-duration.json")],
    exit: EXIT.usage,
    message: /^ddq: --file .*bad-duration\.json: jitter must be a duration/,
  },
  {
    name: "enqueue with a payload file that does not exist",
    args: () => ["enqueue", "--topic", "t", "--payload-file", join(dir, "missing.bin")],
    exit: EXIT.usage,
    message: /^ddq: --payload-file \(DDQ_PAYLOAD_FILE\): cannot read .*missing\.bin: ENOENT/,
  },
  {
    name: "a token file that does not exist",
    args: () => ["get", "x", "--address", nobody, "--token-file", join(dir, "missing.token")],
    exit: EXIT.usage,
    message: /^ddq: --token-file: cannot read .*missing\.token: ENOENT/,
  },
  {
    name: "a CA file that does not exist",
    args: () => ["get", "x", "--address", nobody, "--tls-ca-file", join(dir, "missing.pem")],
    exit: EXIT.usage,
    message: /^ddq: --tls-ca-file \(DDQ_TLS_CA_FILE\): cannot read .*missing\.pem: ENOENT/,
  },
  {
    name: "an unknown flag",
    args: () => ["cron", "ls", "--no-such-flag"],
    exit: EXIT.usage,
    message: /^ddq: Unknown option '--no-such-flag'/,
    hint: true,
  },
  {
    name: "an unknown command",
    args: () => ["frobnicate"],
    exit: EXIT.usage,
    message: /^ddq: unknown command "frobnicate"$/,
    hint: true,
  },
  {
    name: "get with the scheduler unreachable",
    args: () => ["get", "01ARZ3NDEKTSV4RRFFQ69G5FAV-1", "--address", nobody],
    exit: EXIT.unavailable,
    message: /^ddq: .*ECONNREFUSED/,
  },
  {
    name: "cron ls with the scheduler unreachable",
    args: () => ["cron", "ls", "--address", nobody],
    exit: EXIT.unavailable,
    message: /^ddq: .*ECONNREFUSED/,
  },
];

describe("ddq errors: one line, the documented exit code, no stack trace", () => {
  it("for files, flags and an unreachable scheduler", async () => {
    // Each spawn is a tsx start: run them together.
    const results = await Promise.all(
      CASES.map(async (c) => ({ c, result: await runCli(c.args(), { DDQ_ADDRESS: nobody }) })),
    );
    for (const { c, result } of results) {
      const lines = result.stderr.trimEnd().split("\n");
      expect({ name: c.name, code: result.code }).toEqual({ name: c.name, code: c.exit });
      expect(result.stderr, c.name).not.toMatch(/\n\s+at /);
      expect(lines[0], c.name).toMatch(c.message);
      expect(lines.slice(1), c.name).toEqual(c.hint === true ? ["(ddq --help for usage)"] : []);
      expect(result.stdout, c.name).toBe("");
    }
  });
});
