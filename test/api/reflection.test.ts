/**
 * Server reflection serves the real proto files: their real names (`ddq/v1/task_service.proto`),
 * their real dependency lists, and every type they reach. Checked with the real grpcurl
 * (`list`, `describe` of every service and every type reachable from them) and with a plain
 * grpc-js client of grpc.reflection.v1 and v1alpha, whose answers must build a descriptor pool.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { Client, credentials, Metadata, type ServiceDefinition } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CronServiceService } from "../../proto/gen/ddq/v1/cron_service.js";
import { TaskServiceService } from "../../proto/gen/ddq/v1/task_service.js";
import { WorkerServiceService } from "../../proto/gen/ddq/v1/worker_service.js";
import { ReflectionDescriptors } from "../../scheduler/api/reflectionDescriptors.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { repoRoot } from "../env/deployTools.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { grpcurlAt, type Grpcurl } from "./reflectionGrpcurl.js";
import { reflectionClient, type ReflectionAsk } from "./reflectionClient.js";
import { startTestApi, type TestApi } from "./support.js";

const SERVED = [
  "ddq.v1.CronService",
  "ddq.v1.TaskService",
  "ddq.v1.WorkerService",
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
];
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;

let db: RedisDatabase;
let api: TestApi;
let grpcurl: Grpcurl;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  api = await startTestApi(db);
  grpcurl = await grpcurlAt(api.address);
});

afterAll(async () => {
  await api.close();
  await db.close();
});

async function describeSymbol(symbol: string): Promise<string> {
  const answer = await grpcurl.run([], ["describe", symbol]);
  expect(answer.exitCode, `describe ${symbol}: ${answer.stderr}`).toBe(0);
  return answer.stdout;
}

/** Fully-qualified type names a `describe` output refers to (`.pkg.Type`), comments aside. */
function referencedTypes(described: string): string[] {
  const code = described
    .split("\n")
    .filter((line) => !line.trim().startsWith("//"))
    .join("\n");
  return [...code.matchAll(/(?<![\w.])\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)/g)].map(
    (m) => m[1] ?? "",
  );
}

/** Runs `work` over `items`, `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>) {
  const queue = [...items];
  const workers = Array.from({ length: limit }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  });
  await Promise.all(workers);
}

/** The `import "..."` lines of a proto source file in proto/. */
function importsOf(file: string): string[] {
  const source = readFileSync(join(repoRoot, "proto", file), "utf8");
  return [...source.matchAll(/^import "([^"]+)";/gm)].map((m) => m[1] ?? "");
}

function decodeFiles(files: Uint8Array[]): FileDescriptorProto[] {
  return files.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
}

describe("grpcurl by reflection", () => {
  it("lists the API's services, health and reflection", async () => {
    const answer = await grpcurl.run([], ["list"]);
    expect(answer.exitCode, answer.stderr).toBe(0);
    expect(answer.stdout.split("\n").filter((line) => line !== "")).toEqual(SERVED);
  });

  it("describes every service and every message and enum type reachable from them", async () => {
    const seen = new Set<string>(["google.rpc.Status", "google.rpc.BadRequest"]);
    let frontier = [...seen];
    for (const service of SERVED) {
      const described = await describeSymbol(service);
      expect(described).toContain(`${service} is a service:`);
      for (const type of referencedTypes(described)) {
        if (!seen.has(type)) frontier.push(type);
        seen.add(type);
      }
    }
    const kinds = new Map<string, string>();
    while (frontier.length > 0) {
      const next: string[] = [];
      await eachLimited(frontier, 4, async (type) => {
        const described = await describeSymbol(type);
        const kind = /^(\S+) is an? (message|enum):\n/.exec(described);
        expect(kind?.[1], described).toBe(type);
        kinds.set(type, kind?.[2] ?? "");
        for (const referenced of referencedTypes(described)) {
          if (!seen.has(referenced)) next.push(referenced);
          seen.add(referenced);
        }
      });
      frontier = next;
    }
    expect(Object.fromEntries(kinds)).toMatchObject({
      "ddq.v1.Event": "message",
      "ddq.v1.TaskSpec": "message",
      "ddq.v1.ScheduleSpec": "message",
      "ddq.v1.TaskState": "enum",
      "google.protobuf.Timestamp": "message",
      "google.protobuf.Duration": "message",
      "google.protobuf.Any": "message",
      "google.rpc.BadRequest.FieldViolation": "message",
      "grpc.health.v1.HealthCheckResponse.ServingStatus": "enum",
      "grpc.reflection.v1.ServerReflectionResponse": "message",
    });
    expect(kinds.size).toBeGreaterThan(60);
  }, 300_000);

  it("resolves an imported type: ddq.v1.Event's time is a google.protobuf.Timestamp", async () => {
    expect(await describeSymbol("ddq.v1.Event")).toMatch(
      /^\s*\.google\.protobuf\.Timestamp time = 7;$/m,
    );
    expect(await describeSymbol("ddq.v1.WorkerService.Lease")).toContain(
      "rpc Lease ( .ddq.v1.LeaseRequest ) returns ( .ddq.v1.LeaseResponse );",
    );
  });
});

describe.each(["v1", "v1alpha"] as const)("grpc.reflection.%s asked directly", (version) => {
  let ask: ReflectionAsk;
  let close: () => void;

  beforeAll(() => {
    ({ ask, close } = reflectionClient(api.address, version));
  });
  afterAll(() => {
    close();
  });

  it("serves each file by its real name with its real imports, transitively", async () => {
    const names = [
      "ddq/v1/task.proto",
      "ddq/v1/task_service.proto",
      "ddq/v1/cron_service.proto",
      "ddq/v1/worker_service.proto",
      "google/rpc/status.proto",
      "google/rpc/error_details.proto",
    ];
    for (const name of names) {
      const answer = await ask({ fileByFilename: name, host: "example:1" });
      expect(answer.validHost).toBe("example:1");
      expect(answer.originalRequest?.fileByFilename).toBe(name);
      const files = decodeFiles(answer.fileDescriptorResponse?.fileDescriptorProto ?? []);
      expect(files[0]?.name).toBe(name);
      expect(files[0]?.dependency).toEqual(importsOf(name));
      const served = new Set(files.map((file) => file.name));
      expect(served.size).toBe(files.length);
      for (const file of files) for (const dep of file.dependency) expect(served).toContain(dep);
    }
  });

  it("answers what a descriptor pool can build: Event.time is a google.protobuf.Timestamp", async () => {
    const answer = await ask({ fileByFilename: "ddq/v1/task_service.proto" });
    const files = decodeFiles(answer.fileDescriptorResponse?.fileDescriptorProto ?? []);
    const byName = new Map(files.map((file) => [file.name, file]));
    const [first] = files;
    if (first === undefined) throw new Error("no file");
    const pool = createFileRegistry(first, (name) => byName.get(name));
    const time = pool.getMessage("ddq.v1.Event")?.fields.find((field) => field.name === "time");
    expect(time?.message?.typeName).toBe("google.protobuf.Timestamp");
    expect(pool.getService("ddq.v1.TaskService")?.methods.map((m) => m.name)).toContain(
      "WatchEvents",
    );
  });

  it("finds the file of a service, method, message, nested message, enum value and field", async () => {
    const symbols: Record<string, string> = {
      "ddq.v1.TaskService": "ddq/v1/task_service.proto",
      "ddq.v1.WorkerService.Lease": "ddq/v1/worker_service.proto",
      "ddq.v1.ScheduleSpec": "ddq/v1/cron_service.proto",
      "google.rpc.BadRequest.FieldViolation": "google/rpc/error_details.proto",
      "ddq.v1.TASK_STATE_READY": "ddq/v1/task.proto",
      "ddq.v1.Task.due_time": "ddq/v1/task.proto",
      "grpc.health.v1.Health": "grpc/health/v1/health.proto",
      [`grpc.reflection.${version}.ServerReflection`]: `grpc/reflection/${version}/reflection.proto`,
    };
    for (const [symbol, file] of Object.entries(symbols)) {
      const answer = await ask({ fileContainingSymbol: symbol });
      const [found] = decodeFiles(answer.fileDescriptorResponse?.fileDescriptorProto ?? []);
      expect(found?.name, symbol).toBe(file);
    }
  });

  it("lists the services and answers NOT_FOUND for what is not there", async () => {
    const listed = await ask({ listServices: "*" });
    expect(listed.listServicesResponse?.service.map((s) => s.name).sort()).toEqual(SERVED);
    const missing = [
      { fileByFilename: "ddq_v1.proto" },
      { fileContainingSymbol: "ddq.v1.NoSuchMessage" },
      { fileContainingExtension: { containingType: "ddq.v1.Task", extensionNumber: 1000 } },
      { allExtensionNumbersOfType: "ddq.v1.NoSuchMessage" },
    ];
    for (const request of missing) {
      const answer = await ask(request);
      expect(answer.errorResponse?.errorCode, JSON.stringify(request)).toBe(NOT_FOUND);
    }
    const numbers = await ask({ allExtensionNumbersOfType: "ddq.v1.Task" });
    expect(numbers.allExtensionNumbersResponse).toEqual({
      baseTypeName: "ddq.v1.Task",
      extensionNumber: [],
    });
    expect((await ask({ host: "nothing asked" })).errorResponse?.errorCode).toBe(INVALID_ARGUMENT);
  });
});

describe("the descriptor set", () => {
  it("describes exactly the methods the server registers (tools/proto.sh generate keeps both)", () => {
    const descriptors = ReflectionDescriptors.served();
    const services: ServiceDefinition[] = [
      TaskServiceService,
      CronServiceService,
      WorkerServiceService,
    ];
    const generated = services.flatMap((service) =>
      Object.values(service).map((method) => method.path),
    );
    const described = ["ddq.v1.TaskService", "ddq.v1.CronService", "ddq.v1.WorkerService"].flatMap(
      (name) =>
        descriptors.registry.getService(name)?.methods.map((m) => `/${name}/${m.name}`) ?? [],
    );
    expect(described.sort()).toEqual(generated.sort());
  });
});

/** The error_response (field 7) code (field 1) of a raw ServerReflectionResponse. */
function errorCodeOf(response: Buffer): number | undefined {
  const reader = new BinaryReader(response);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field !== 7) {
      reader.skip(wireType);
      continue;
    }
    const error = new BinaryReader(reader.bytes());
    while (error.pos < error.len) {
      const [errorField, errorWire] = error.tag();
      if (errorField === 1) return error.int32();
      error.skip(errorWire);
    }
  }
  return undefined;
}

describe("a request that is not a ServerReflectionRequest", () => {
  it("is answered INVALID_ARGUMENT in the stream, which stays usable", async () => {
    const client = new Client(api.address, credentials.createInsecure());
    const identity = (bytes: Buffer): Buffer => bytes;
    try {
      const stream = client.makeBidiStreamRequest(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        identity,
        identity,
        new Metadata(),
        { deadline: Date.now() + 30_000 },
      );
      const responses: Buffer[] = [];
      const done = new Promise<void>((resolve, reject) => {
        stream.on("data", (bytes: Buffer) => {
          responses.push(bytes);
          if (responses.length === 2) stream.end();
        });
        stream.on("error", reject);
        stream.on("end", resolve);
      });
      stream.write(Buffer.from([0xff, 0xff, 0xff])); // a truncated varint tag
      stream.write(Buffer.from([0x3a, 0x00])); // list_services: ""
      await done;
      expect(responses.map(errorCodeOf)).toEqual([INVALID_ARGUMENT, undefined]);
    } finally {
      client.close();
    }
  });
});
