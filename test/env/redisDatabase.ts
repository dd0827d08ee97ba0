import { Redis } from "ioredis";

/** Key in database 0 of the shared test server that hands out database indexes. */
const NEXT_DATABASE_KEY = "ddq-test:next-database";

export interface RedisDatabase {
  /** redis://127.0.0.1:<port>/<db>: pass it to code under test. */
  url: string;
  db: number;
  /** A connected client selecting this database. */
  client: Redis;
  close(): Promise<void>;
}

/**
 * Reserves an empty logical database on the shared test redis-server (databases 1..N-1; 0 holds
 * the allocator), flushes it, and returns a client for it. Each test file calls this once, so
 * files running in parallel never see each other's keys.
 */
export async function freshRedisDatabase(
  serverUrl: string,
  databases: number,
): Promise<RedisDatabase> {
  const allocator = new Redis(serverUrl, { lazyConnect: true });
  await allocator.connect();
  let db: number;
  try {
    const counter = await allocator.incr(NEXT_DATABASE_KEY);
    db = ((counter - 1) % (databases - 1)) + 1;
  } finally {
    allocator.disconnect();
  }
  const url = `${serverUrl}/${db}`;
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  await client.flushdb();
  return {
    url,
    db,
    client,
    close: async () => {
      await client.quit();
    },
  };
}
