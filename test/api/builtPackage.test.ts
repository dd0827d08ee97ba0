/**
 * The package as it ships: `npm run build`, then `node dist/cli/ddq.js scheduler` (the image's
 * entry point) serving real calls. The sources run under tsx everywhere else, where files beside
 * them (the .proto files, the Lua scripts, the descriptor set) always exist; this catches a
 * runtime read of a file the build does not copy into dist/ (the wire checks once read the
 * .proto files, which dist/ does not hold, and the built scheduler could not start).
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DdqClient } from "../../client/ddqClient.js";
import { TaskSpec } from "../../proto/gen/ddq/v1/task.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { GrpcCode } from "./grpcCalls.js";
import { killAllCli, LOOPBACK_LISTENERS, startCli, waitReady } from "./support.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
/** tsc on two busy cores: generous. */
const BUILD_TIMEOUT_MS = 600_000;

let db: RedisDatabase;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  await run("npm", ["run", "--silent", "build"], { cwd: root, timeout: BUILD_TIMEOUT_MS });
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  killAllCli();
  await db.close();
});

describe("the built package", () => {
  it("starts the scheduler from dist/ and serves calls", async () => {
    const proc = startCli(
      [
        "scheduler",
        "--auth-disabled",
        "--redis-url",
        db.url,
        "--shards",
        "2",
        ...LOOPBACK_LISTENERS,
      ],
      {},
      { compiled: true },
    );
    const ready = await waitReady(proc, 60_000);
    const client = new DdqClient({ address: `127.0.0.1:${String(ready.grpcPort)}` });
    try {
      const { task } = await client.enqueue(TaskSpec.fromPartial({ topic: "built.package" }));
      expect((await client.get(task?.id ?? "")).topic).toBe("built.package");
      // Bad input answers as from the sources: INVALID_ARGUMENT naming the field.
      const refused = await client.enqueue(TaskSpec.fromPartial({ topic: "" })).then(
        () => undefined,
        (error: unknown) => error as { code?: number; details?: string },
      );
      expect(refused?.code).toBe(GrpcCode.INVALID_ARGUMENT);
      expect(refused?.details).toContain("topic");
    } finally {
      client.close();
    }
  });
});
