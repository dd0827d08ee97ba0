/**
 * Who may call, and how much: bearer tokens from a token file, TLS and mTLS (certificates from
 * test/env/pki.ts), per-client rate limits, back-pressure, graceful shutdown (health turns
 * NOT_SERVING, long-polls return, new calls are refused), and server reflection.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { Client, credentials, Metadata, type ClientUnaryCall } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DdqClient, type ClientOptions } from "../../client/ddqClient.js";
import type { LeaseResponse } from "../../proto/gen/ddq/v1/worker_service.js";
import { ApiServer, SERVICE_NAMES, type ApiServerOptions } from "../../scheduler/api/apiServer.js";
import { NoAuthentication, StaticAuthenticator } from "../../scheduler/api/authenticator.js";
import type { Scheduler } from "../../scheduler/scheduler.js";
import { healthCheck, healthStatus, NOT_SERVING, SERVING } from "../env/grpcHealth.js";
import { createControlPlanePki, type ControlPlanePki } from "../env/pki.js";
import type { RedisDatabase } from "../env/redisDatabase.js";
import { testScratchDir, useFreshRedisDatabase } from "../env/testContext.js";
import { waitFor } from "../env/waitFor.js";
import { startTestScheduler } from "../scheduler/support.js";
import { ALL_METHODS, callError, expectStatus, failure, GrpcCode, RawClient } from "./grpcCalls.js";

const identity = (value: Buffer): Buffer => value;

const ALICE = "alice-token-0123456789abcdef";
const BOB = "bob-token-0123456789abcdef";

let db: RedisDatabase;
let scheduler: Scheduler;
let dir: string;
let pki: ControlPlanePki;
/** A second CA the servers do not trust. */
let otherPki: ControlPlanePki;
let tokensFile: string;
const servers: ApiServer[] = [];
const clients: DdqClient[] = [];

beforeAll(async () => {
  db = await useFreshRedisDatabase();
  dir = testScratchDir("api-auth");
  [pki, otherPki, scheduler] = await Promise.all([
    createControlPlanePki(join(dir, "pki")),
    createControlPlanePki(join(dir, "other-pki")),
    startTestScheduler(db),
  ]);
  tokensFile = join(dir, "tokens.csv");
  writeFileSync(tokensFile, `# token,client\n${ALICE},alice\n\n${BOB}, bob\n`);
});

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(servers.map((s) => s.shutdown(1_000)));
  await scheduler.stop();
  await db.close();
});

async function serve(options: Partial<ApiServerOptions>): Promise<ApiServer> {
  const server = await ApiServer.start(scheduler, {
    listen: "127.0.0.1:0",
    authenticator: StaticAuthenticator.fromFile(tokensFile, false),
    rateLimit: { ratePerSecond: 1_000_000, burst: 1_000_000 },
    log: () => undefined,
    ...options,
  });
  servers.push(server);
  return server;
}

function connect(server: ApiServer, options: Partial<ClientOptions> = {}): DdqClient {
  const client = new DdqClient({
    address: `127.0.0.1:${server.port}`,
    timeoutMs: 5_000,
    ...options,
  });
  clients.push(client);
  return client;
}

const file = (path: string): Buffer => readFileSync(path);

describe("bearer tokens", () => {
  it("no token or a wrong one is UNAUTHENTICATED; a good token is served", async () => {
    const server = await serve({});
    await expectStatus(connect(server).counts(), GrpcCode.UNAUTHENTICATED);
    await expectStatus(
      connect(server, { token: "wrong-token-0123456789" }).counts(),
      GrpcCode.UNAUTHENTICATED,
    );
    const malformed = connect(server);
    const metadata = new Metadata();
    metadata.set("authorization", "Basic YWxpY2U6c2VjcmV0");
    const basic = await failure(
      new Promise((resolve, reject) => {
        malformed.tasks.countTasks({ topic: "" }, metadata, (error, response) => {
          if (error === null) resolve(response);
          else reject(error);
        });
      }),
    );
    expect(GrpcCode[basic.code]).toBe("UNAUTHENTICATED");
    expect(basic.message).toContain("Bearer");
    expect((await connect(server, { token: ALICE }).counts()).topics).toEqual([]);
    expect((await connect(server, { token: BOB }).counts()).topics).toEqual([]);
    // Unauthenticated calls are answered before the handler: none was served.
    expect(server.callsAnswered.get(`CountTasks ${GrpcCode.UNAUTHENTICATED}`)).toBe(3);
    expect(server.callsAnswered.get(`CountTasks ${GrpcCode.OK}`)).toBe(2);
  });

  it("the rate limiter keys on the client name: each client has its own bucket, with RetryInfo", async () => {
    const server = await serve({ rateLimit: { ratePerSecond: 0.5, burst: 2 } });
    const alice = connect(server, { token: ALICE });
    const bob = connect(server, { token: BOB });
    await alice.counts();
    await alice.counts();
    const limited = await expectStatus(alice.counts(), GrpcCode.RESOURCE_EXHAUSTED);
    expect(limited.message).toContain("client alice");
    expect(limited.retryAfterMs).toBeGreaterThan(0);
    expect(limited.retryAfterMs).toBeLessThanOrEqual(2_000);
    // Bob's bucket is untouched by Alice's calls.
    await bob.counts();
    await bob.counts();
    const bobLimited = await expectStatus(bob.counts(), GrpcCode.RESOURCE_EXHAUSTED);
    expect(bobLimited.message).toContain("client bob");
    // Rejected calls without credentials take no token of anyone's bucket.
    await expectStatus(connect(server).counts(), GrpcCode.UNAUTHENTICATED);
    // The bucket refills (a token per 2 s): Alice is served again (rejected polls take none).
    await waitFor(async () => (await alice.counts()).topics, {
      description: "alice served after RetryInfo's delay",
      timeoutMs: 30_000,
    });
  });
});

describe("TLS", () => {
  it("a client trusting the CA is served; plaintext and untrusting clients cannot connect", async () => {
    const server = await serve({
      tls: { certPem: file(pki.serving.certFile), keyPem: file(pki.serving.keyFile) },
    });
    const trusted = connect(server, { token: ALICE, tls: { caPem: file(pki.ca.certFile) } });
    expect((await trusted.counts()).topics).toEqual([]);
    // TLS is no credential: a call without a token is still refused.
    await expectStatus(
      connect(server, { tls: { caPem: file(pki.ca.certFile) } }).counts(),
      GrpcCode.UNAUTHENTICATED,
    );
    await expectStatus(connect(server, { token: ALICE }).counts(), GrpcCode.UNAVAILABLE);
    await expectStatus(
      connect(server, { token: ALICE, tls: { caPem: file(otherPki.ca.certFile) } }).counts(),
      GrpcCode.UNAVAILABLE,
    );
  });

  it("mTLS: a client certificate is accepted without a token (client cert:<CN>); none, or an untrusted one, fails the handshake", async () => {
    const server = await serve({
      tls: {
        certPem: file(pki.serving.certFile),
        keyPem: file(pki.serving.keyFile),
        clientCaPem: file(pki.ca.certFile),
      },
      authenticator: StaticAuthenticator.fromFile(tokensFile, true),
      rateLimit: { ratePerSecond: 0.001, burst: 1 },
    });
    const caPem = file(pki.ca.certFile);
    const withCert = connect(server, {
      tls: { caPem, certPem: file(pki.admin.certFile), keyPem: file(pki.admin.keyFile) },
    });
    expect((await withCert.counts()).topics).toEqual([]);
    // The certificate's CN is the client the rate limiter keys on.
    const limited = await expectStatus(withCert.counts(), GrpcCode.RESOURCE_EXHAUSTED);
    expect(limited.message).toContain("client cert:ddq-test-admin");
    // A token with the certificate: the token names the client.
    const both = connect(server, {
      token: BOB,
      tls: { caPem, certPem: file(pki.admin.certFile), keyPem: file(pki.admin.keyFile) },
    });
    expect((await both.counts()).topics).toEqual([]);
    await expectStatus(
      connect(server, { token: ALICE, tls: { caPem } }).counts(),
      GrpcCode.UNAVAILABLE,
    );
    await expectStatus(
      connect(server, {
        tls: {
          caPem,
          certPem: file(otherPki.admin.certFile),
          keyPem: file(otherPki.admin.keyFile),
        },
      }).counts(),
      GrpcCode.UNAVAILABLE,
    );
  });
});

/** A Lease long-poll that can be cancelled; resolves with the answer or the error. */
function longPoll(
  client: DdqClient,
  topic: string,
  waitSeconds: number,
): {
  call: ClientUnaryCall;
  answer: Promise<{ tasks?: LeaseResponse["tasks"]; code: number; atMs: number }>;
} {
  let call: ClientUnaryCall | undefined;
  const answer = new Promise<{ tasks?: LeaseResponse["tasks"]; code: number; atMs: number }>(
    (resolve) => {
      call = client.worker.lease(
        { topics: [topic], max: 1, wait: { seconds: waitSeconds, nanos: 0 }, requestId: "" },
        client.metadata(),
        { deadline: Date.now() + (waitSeconds + 10) * 1000 },
        (error, response) => {
          if (error === null)
            resolve({ tasks: response.tasks, code: GrpcCode.OK, atMs: performance.now() });
          else resolve({ code: callError(error).code, atMs: performance.now() });
        },
      );
    },
  );
  if (call === undefined) throw new Error("lease call not started");
  return { call, answer };
}

describe("back-pressure", () => {
  it("maxInFlight=1: with one long-poll in flight a second call is RESOURCE_EXHAUSTED with RetryInfo", async () => {
    const server = await serve({ authenticator: new NoAuthentication(), maxInFlight: 1 });
    const client = connect(server);
    const poll = longPoll(client, "auth.busy", 30);
    await waitFor(() => server.callsInFlight === 1, { description: "the long-poll is in flight" });
    const refused = await expectStatus(client.counts(), GrpcCode.RESOURCE_EXHAUSTED);
    expect(refused.message).toContain("limit");
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    poll.call.cancel();
    expect((await poll.answer).code).toBe(GrpcCode.CANCELLED);
    await waitFor(() => server.callsInFlight === 0, {
      description: "the long-poll ended on the server",
    });
    expect((await client.counts()).topics).toEqual([]);
  });
});

describe("cancelled calls", () => {
  it("watches and long-polls a client cancels at once leave no call in flight", async () => {
    const server = await serve({ authenticator: new NoAuthentication() });
    const raw = new RawClient(`127.0.0.1:${server.port}`);
    const watch = ALL_METHODS.find((m) => m.name === "watchEvents");
    if (watch === undefined) throw new Error("no WatchEvents");
    try {
      for (let i = 0; i < 60; i += 1) {
        // Cancelled before, while and after the handler starts (deadlines far away).
        await raw.call(watch, Buffer.alloc(0), { deadlineMs: 120_000, streamMs: i % 4 });
      }
      const client = connect(server);
      const polls = Array.from({ length: 10 }, () => longPoll(client, "auth.cancel", 50));
      for (const poll of polls) poll.call.cancel();
      await Promise.all(polls.map((p) => p.answer));
      await waitFor(() => server.callsInFlight === 0, {
        description: "every cancelled call ended on the server",
        timeoutMs: 30_000,
      });
    } finally {
      raw.close();
    }
  });
});

describe("graceful shutdown", () => {
  it("long-polls return at once (empty), health turns NOT_SERVING, new calls are UNAVAILABLE", async () => {
    const server = await ApiServer.start(scheduler, {
      listen: "127.0.0.1:0",
      healthListen: "127.0.0.1:0",
      authenticator: new NoAuthentication(),
      rateLimit: { ratePerSecond: 1_000_000, burst: 1_000_000 },
      log: () => undefined,
    });
    servers.push(server);
    const address = `127.0.0.1:${server.port}`;
    const healthAddress = `127.0.0.1:${server.healthPort}`;
    expect(await healthCheck(address)).toEqual({ code: GrpcCode.OK, status: SERVING });
    expect(await healthCheck(healthAddress, "ddq.v1.WorkerService")).toEqual({
      code: GrpcCode.OK,
      status: SERVING,
    });
    // A health watcher sees the transition as it happens.
    const watcher = new Client(healthAddress, credentials.createInsecure());
    const statuses: number[] = [];
    const watch = watcher.makeServerStreamRequest(
      "/grpc.health.v1.Health/Watch",
      identity,
      identity,
      Buffer.alloc(0),
      new Metadata(),
    );
    watch.on("data", (bytes: Buffer) => statuses.push(healthStatus(bytes)));
    watch.on("error", () => undefined);
    await waitFor(() => statuses.includes(SERVING), { description: "health watch started" });

    const client = connect(server);
    const poll = longPoll(client, "auth.shutdown", 30);
    await waitFor(() => server.callsInFlight === 1, { description: "the long-poll is in flight" });
    const started = performance.now();
    const stopped = server.shutdown(5_000);
    const answer = await poll.answer;
    expect(answer).toMatchObject({ code: GrpcCode.OK, tasks: [] });
    expect(answer.atMs - started).toBeLessThan(1_000);
    await waitFor(() => statuses.includes(NOT_SERVING), {
      description: "health watch saw NOT_SERVING",
    });
    expect(GrpcCode[(await failure(client.counts())).code]).toBe("UNAVAILABLE");
    expect(GrpcCode[(await failure(connect(server).counts())).code]).toBe("UNAVAILABLE");
    // The watch stream is the last thing holding the servers open.
    watch.cancel();
    watcher.close();
    await stopped;
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(server.callsInFlight).toBe(0);
    expect((await healthCheck(healthAddress)).code).toBe(GrpcCode.UNAVAILABLE);
  });
});

/** The service names a grpc.reflection.v1 list_services answer holds. */
function listedServices(bytes: Buffer): string[] {
  const names: string[] = [];
  const response = new BinaryReader(bytes);
  while (response.pos < response.len) {
    const [field, wireType] = response.tag();
    if (field !== 6) {
      response.skip(wireType);
      continue;
    }
    const list = new BinaryReader(response.bytes());
    while (list.pos < list.len) {
      const [listField, listWire] = list.tag();
      if (listField !== 1) {
        list.skip(listWire);
        continue;
      }
      const service = new BinaryReader(list.bytes());
      while (service.pos < service.len) {
        const [serviceField, serviceWire] = service.tag();
        if (serviceField === 1) names.push(service.string());
        else service.skip(serviceWire);
      }
    }
  }
  return names;
}

describe("reflection", () => {
  it("lists the ddq.v1 services over grpc.reflection.v1", async () => {
    const server = await serve({ authenticator: new NoAuthentication() });
    const client = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
    try {
      const stream = client.makeBidiStreamRequest(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        identity,
        identity,
        new Metadata(),
        { deadline: Date.now() + 5_000 },
      );
      const answer = new Promise<Buffer>((resolve, reject) => {
        stream.once("data", resolve);
        stream.once("error", reject);
      });
      // ServerReflectionRequest { list_services: "" } (field 7).
      stream.write(Buffer.from([0x3a, 0x00]));
      const names = listedServices(await answer);
      stream.end();
      expect(names).toEqual(expect.arrayContaining([...SERVICE_NAMES]));
    } finally {
      client.close();
    }
  });
});
