import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { RedisServer } from "../test/env/redisServer.js";
import { withTimeout } from "./timeouts.js";

const tempDirs = new Set<string>();
process.once("exit", () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs `body` against a fresh redis-server (loopback port, no persistence, default config
 * otherwise: hz 10), then stops the server and removes its directory, also on error.
 */
export async function withFreshRedis<T>(body: (server: RedisServer) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "ddq-bench-"));
  tempDirs.add(dir);
  try {
    const server = await RedisServer.start({ dir });
    try {
      return await body(server);
    } finally {
      await withTimeout(server.stop(), 20_000, "stopping redis-server");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

/** `used_memory` from INFO memory, in bytes. */
export async function usedMemory(url: string): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on("error", () => undefined);
  try {
    const info = await withTimeout(client.info("memory"), 10_000, "INFO memory");
    const match = /^used_memory:(\d+)\r?$/m.exec(info);
    if (match?.[1] === undefined) throw new Error("INFO memory has no used_memory field");
    return Number(match[1]);
  } finally {
    client.disconnect();
  }
}
