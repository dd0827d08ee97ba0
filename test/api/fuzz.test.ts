/**
 * Fuzzing every RPC of the API over real sockets: random bytes (mostly not a message at all), and
 * random messages of the right shape (from the .proto descriptors the ts-proto types are generated
 * from) with extreme numbers, huge strings, unknown enum numbers and out-of-range timestamps and
 * durations. The server must never crash, never answer INTERNAL (or any server-side error) for bad
 * input, and still work normally afterwards.
 */
import { fileURLToPath } from "node:url";
import { loadSync, type MessageTypeDefinition } from "@grpc/proto-loader";
import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ScheduleSpec } from "../../proto/gen/ddq/v1/cron_service.js";
import { TaskSpec } from "../../proto/gen/ddq/v1/task.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import {
  ALL_METHODS,
  CLIENT_ERROR_CODES,
  GrpcCode,
  RawClient,
  type RawAnswer,
  type RpcMethod,
} from "./grpcCalls.js";
import { startTestApi, type TestApi } from "./support.js";

const RANDOM_BYTES_RUNS = 120;
const MESSAGE_RUNS = 150;
const RECEIVE_LIMIT = 1024 * 1024;

let db: RedisDatabase;
let api: TestApi;
let raw: RawClient;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  api = await startTestApi(
    db,
    { maxReceiveBytes: RECEIVE_LIMIT },
    { limits: { maxPayloadBytes: 8 * 1024, maxBatchSize: 50 } },
  );
  raw = new RawClient(api.address);
});

/**
 * Ids, topics and lease tokens that exist, mixed into the random strings so that random requests
 * reach past validation: tasks in every state, a schedule, live and spent lease tokens.
 */
const known: string[] = [];
let seeds = 0;

/** Fresh tasks in every state for each method (the previous method's calls changed them). */
async function seedKnownValues(): Promise<void> {
  known.length = 0;
  seeds += 1;
  const client = api.client();
  const topic = "fuzz.topic";
  const enqueued = await client.enqueueBatch([
    ...Array.from({ length: 4 }, () => TaskSpec.fromPartial({ topic, maxAttempts: 1 })),
    TaskSpec.fromPartial({ topic, due: { $case: "delay", value: { seconds: 3600, nanos: 0 } } }),
  ]);
  known.push(...enqueued.results.map((r) => r.task?.id ?? ""));
  const leased = await client.lease({ topics: [topic], max: 3, wait: { seconds: 5, nanos: 0 } });
  const [toAck, toFail] = leased.tasks;
  known.push(...leased.tasks.map((t) => t.leaseToken));
  if (toAck !== undefined)
    await client.ack([
      { id: toAck.id, topic, leaseToken: toAck.leaseToken, result: Buffer.alloc(0) },
    ]);
  if (toFail !== undefined) await client.fail(toFail.id, topic, toFail.leaseToken, "dead", false);
  await client.upsertSchedule(
    ScheduleSpec.fromPartial({ id: `fuzz-${seeds}`, schedules: ["@hourly"], task: { topic } }),
  );
  known.push(`fuzz-${seeds}`, (await client.triggerSchedule(`fuzz-${seeds}`)).occurrenceId);
}

afterAll(async () => {
  raw.close();
  await api.close();
  await db.close();
});

/** Long-polls answer before their deadline: keep Lease's short so a random `wait` costs little. */
function deadlineOf(method: RpcMethod): number {
  return method.name === "lease" ? 600 : 10_000;
}

const answers = new Map<string, number>();

function check(method: RpcMethod, answer: RawAnswer, input: () => string): void {
  const key = `${method.name} ${GrpcCode[answer.code]}`;
  answers.set(key, (answers.get(key) ?? 0) + 1);
  if (answer.code === GrpcCode.OK || CLIENT_ERROR_CODES.has(answer.code)) return;
  throw new Error(
    `${method.path} answered ${GrpcCode[answer.code]} (${answer.details}) to ${input()}`,
  );
}

// --- random messages of the right shape ------------------------------------------------------

const definitions = loadSync(
  ["ddq/v1/task_service.proto", "ddq/v1/cron_service.proto", "ddq/v1/worker_service.proto"],
  {
    includeDirs: [fileURLToPath(new URL("../../proto/", import.meta.url))],
    keepCase: true,
    longs: String,
    enums: Number,
    defaults: false,
  },
);

interface FieldDescriptor {
  name: string;
  label: string;
  type: string;
  typeName: string;
}

function messageFields(typeName: string): FieldDescriptor[] {
  const definition = (definitions[`ddq.v1.${typeName}`] ?? definitions[typeName]) as
    MessageTypeDefinition<unknown, unknown> | undefined;
  if (definition === undefined) throw new Error(`no message type ${typeName}`);
  return (definition.type as { field: FieldDescriptor[] }).field;
}

const INT64_EXTREMES = [
  0n,
  -1n,
  1n,
  2n ** 53n,
  2n ** 53n + 1n,
  -(2n ** 53n),
  2n ** 63n - 1n,
  -(2n ** 63n),
  315_576_000_000n,
  253_402_300_800n,
];
const INT32_EXTREMES = [0, -1, 1, 1000, 1001, 10_000, 2 ** 31 - 1, -(2 ** 31)];

const int64 = fc
  .oneof(fc.constantFrom(...INT64_EXTREMES), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }))
  .map(String);
const int32 = fc.oneof(fc.constantFrom(...INT32_EXTREMES), fc.integer());
/** Plausible and hostile strings (built after the known values are seeded). */
const text = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom("fuzz.topic", "fuzz-1", "", ...known) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        "*/5 * * * *",
        "@every 1h",
        "0 0 30 2 *",
        "Europe/Berlin",
        "Etc/GMT+14",
        "01ARZ3NDEKTSV4RRFFQ69G5FAV-0",
        "0:0-0",
        "3:99999999999999-0.7",
        "MDo1",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      ),
    },
    { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }) },
    { weight: 1, arbitrary: fc.string({ minLength: 20_000, maxLength: 200_000 }) },
  );
const bytes = fc.oneof(
  { weight: 5, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 8 * 1024 - 2, maxLength: 8 * 1024 + 2 }) },
);
/** Timestamp and Duration: any seconds and nanos, mostly out of their documented ranges. */
const secondsNanos = fc.record({ seconds: int64, nanos: int32 }, { requiredKeys: [] });

function scalar(field: FieldDescriptor, depth: number): fc.Arbitrary<unknown> {
  switch (field.type) {
    case "TYPE_STRING":
      return text();
    case "TYPE_BYTES":
      return bytes.map((b) => Buffer.from(b));
    case "TYPE_BOOL":
      return fc.boolean();
    case "TYPE_DOUBLE":
    case "TYPE_FLOAT":
      return fc.oneof(fc.double(), fc.constantFrom(Number.NaN, -0, 0.5, 1, 2));
    case "TYPE_INT32":
    case "TYPE_SINT32":
    case "TYPE_SFIXED32":
      return int32;
    case "TYPE_UINT32":
    case "TYPE_FIXED32":
      return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case "TYPE_INT64":
    case "TYPE_SINT64":
    case "TYPE_SFIXED64":
      return int64;
    case "TYPE_ENUM":
      // Known values and numbers no enum has.
      return fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: -3, max: 1000 }));
    case "TYPE_MESSAGE":
      if (/google\.protobuf\.(Timestamp|Duration)$/.test(field.typeName)) return secondsNanos;
      return message(field.typeName, depth + 1);
    default:
      throw new Error(`field ${field.name}: type ${field.type} not generated`);
  }
}

/** Any message of the type (oneof members may come several at once: the last one wins). */
function message(typeName: string, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  if (depth > 4) return fc.constant({});
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of messageFields(typeName)) {
    const value = scalar(field, depth);
    model[field.name] =
      field.label === "LABEL_REPEATED"
        ? fc.array(value, { maxLength: depth === 0 ? 6 : 3 })
        : value;
  }
  return fc.record(model, { requiredKeys: [] });
}

interface ProtoLoaderMethod {
  requestSerialize(value: unknown): Buffer;
  requestType: { type: { name: string } };
}

function loaderMethod(method: RpcMethod): ProtoLoaderMethod {
  const service = definitions[`ddq.v1.${method.service}`] as Record<string, ProtoLoaderMethod>;
  const name = method.path.split("/").at(-1) ?? "";
  const found = service[name];
  if (found === undefined) throw new Error(`no method ${method.path}`);
  return found;
}

const describeValue = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    typeof v === "string" && v.length > 200
      ? `<${v.length} chars>`
      : typeof v === "object" && v !== null && "type" in v && v.type === "Buffer"
        ? "<bytes>"
        : v,
  );

describe("random bytes at every RPC", () => {
  it.each(ALL_METHODS.map((m) => [m.path, m] as const))("%s", async (_path, method) => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.uint8Array({ maxLength: 2048 }),
          // Field 1 announcing 5 bytes, then fewer or more, then garbage.
          fc
            .tuple(fc.uint8Array({ maxLength: 16 }), fc.uint8Array({ maxLength: 64 }))
            .map(([tail, garbage]) => Uint8Array.from([0x0a, 0x05, ...tail, ...garbage])),
        ),
        async (body) => {
          const answer = await raw.call(method, Buffer.from(body), {
            deadlineMs: deadlineOf(method),
            streamMs: 30,
          });
          check(method, answer, () => `bytes ${Buffer.from(body).toString("hex")}`);
        },
      ),
      { numRuns: RANDOM_BYTES_RUNS },
    );
  });
});

describe("random well-shaped messages at every RPC", () => {
  beforeEach(seedKnownValues);

  it.each(ALL_METHODS.map((m) => [m.path, m] as const))("%s", async (_path, method) => {
    const loader = loaderMethod(method);
    await fc.assert(
      fc.asyncProperty(message(loader.requestType.type.name), async (value) => {
        const body = loader.requestSerialize(value);
        const answer = await raw.call(method, body, {
          deadlineMs: deadlineOf(method),
          streamMs: 30,
        });
        check(method, answer, () => describeValue(value));
      }),
      { numRuns: MESSAGE_RUNS },
    );
  });
});

describe("afterwards", () => {
  it("the server answered no INTERNAL, holds no call, and a normal round trip works", async () => {
    const internal = [...api.server.callsAnswered.entries()].filter(([key]) =>
      key.endsWith(` ${GrpcCode.INTERNAL}`),
    );
    expect(internal).toEqual([]);
    // Every method was reached with input the server refused, and with input it accepted.
    expect([...answers.keys()].some((k) => k.endsWith(" INVALID_ARGUMENT"))).toBe(true);
    // Calls the client gave up on (streams cancelled after a moment) end on the server too.
    await waitFor(() => api.server.callsInFlight === 0, {
      description: "no call left in flight on the server",
      timeoutMs: 30_000,
    });
    const client = api.client();
    const topic = "fuzz.after";
    const { task, created } = await client.enqueue(
      TaskSpec.fromPartial({ topic, payload: Buffer.from("still works") }),
    );
    expect(created).toBe(true);
    const leased = await client.lease({ topics: [topic], max: 1, wait: { seconds: 5, nanos: 0 } });
    expect(leased.tasks.map((t) => t.id)).toEqual([task?.id]);
    const lease = leased.tasks[0];
    if (lease === undefined) throw new Error("nothing leased");
    const ack = await client.ack([
      { id: lease.id, topic, leaseToken: lease.leaseToken, result: Buffer.from("ok") },
    ]);
    expect(ack.results).toEqual([{ code: GrpcCode.OK, message: "" }]);
    expect(Buffer.from((await client.get(lease.id)).result).toString()).toBe("ok");
  });
});
