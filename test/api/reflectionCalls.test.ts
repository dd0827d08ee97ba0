/**
 * Every RPC of every service on the API port, called by the real grpcurl through server
 * reflection alone (no proto files), with a bearer token as a real client sends it. The methods
 * are discovered by reflection (`grpcurl list <service>`), and the test fails when one of them
 * has no step in the call tables (reflectionTaskCalls.ts, reflectionCronCalls.ts): an RPC added to
 * the protos must be added there.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StaticAuthenticator } from "../../scheduler/api/authenticator.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { useFreshRedisDatabase } from "../env/testContext.js";
import { cronAndHealthCalls } from "./reflectionCronCalls.js";
import { grpcurlAt, type AuthorizedCall, type Grpcurl } from "./reflectionGrpcurl.js";
import { taskAndWorkerCalls } from "./reflectionTaskCalls.js";
import { startTestApi, type TestApi } from "./support.js";

const TOKEN = "grpcurl-by-reflection";
const AUTH = [`authorization: Bearer ${TOKEN}`];
const INVALID_ARGUMENT = 3;
const UNAUTHENTICATED = 16;

let db: RedisDatabase;
let api: TestApi;
let grpcurl: Grpcurl;

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  const tokens = new Map([[createHash("sha256").update(TOKEN).digest("hex"), "grpcurl"]]);
  api = await startTestApi(db, { authenticator: new StaticAuthenticator(tokens, false) });
  grpcurl = await grpcurlAt(api.address);
});

afterAll(async () => {
  await api.close();
  await db.close();
});

/** Services the API port serves, as reflection lists them, and their methods. */
async function discoverMethods(): Promise<string[]> {
  const services = await grpcurl.run([], ["list"]);
  expect(services.exitCode, services.stderr).toBe(0);
  const names = services.stdout.split("\n").filter((line) => line !== "");
  const called = names.filter((name) => !name.startsWith("grpc.reflection."));
  const methods: string[] = [];
  for (const service of called) {
    const answer = await grpcurl.run([], ["list", service]);
    expect(answer.exitCode, answer.stderr).toBe(0);
    methods.push(...answer.stdout.split("\n").filter((line) => line !== ""));
  }
  return methods;
}

describe("grpcurl by server reflection, no proto files", () => {
  it("calls every RPC reflection lists, each with a meaningful answer", async () => {
    const call: AuthorizedCall = (method, request) => grpcurl.call(method, request, AUTH);
    const steps = [
      ...taskAndWorkerCalls(grpcurl, call, AUTH),
      ...cronAndHealthCalls(grpcurl, call, AUTH),
    ];
    const discovered = await discoverMethods();
    const covered = steps.map((step) => step.method);
    expect(
      discovered.filter((method) => !covered.includes(method)),
      "RPCs with no call",
    ).toEqual([]);
    expect(
      covered.filter((method) => !discovered.includes(method)),
      "calls of no RPC",
    ).toEqual([]);
    for (const step of steps) await step.run();
  }, 300_000);

  it("carries an error status with its google.rpc.BadRequest details, decoded by reflection", async () => {
    const status = await grpcurl.fail("ddq.v1.TaskService.Enqueue", { task: { topic: "" } }, AUTH);
    expect(status.code).toBe(INVALID_ARGUMENT);
    expect(status.details).toEqual([
      expect.objectContaining({
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        fieldViolations: [expect.objectContaining({ field: "task.topic" })],
      }),
    ]);
  });

  it("describes and calls without credentials only what needs none", async () => {
    const status = await grpcurl.fail("ddq.v1.TaskService.CountTasks", {});
    expect(status.code).toBe(UNAUTHENTICATED);
    const described = await grpcurl.run([], ["describe", "ddq.v1.TaskService.CountTasks"]);
    expect(described.exitCode, described.stderr).toBe(0);
  });
});
