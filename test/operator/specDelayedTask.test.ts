/** DelayedTask -> TaskSpec: pure conversion, its defaults, and the errors CEL cannot report. */
import { describe, expect, it } from "vitest";
import { DEFAULT_DEFAULTS, DEFAULT_LIMITS, type TaskSpec } from "../../scheduler/engine/model.js";
import { prepareTask } from "../../scheduler/engine/validation.js";
import {
  delayedTaskIdempotencyKey,
  delayedTaskToTaskSpec,
} from "../../operator/spec/delayedTask.js";
import { formatSpecErrors, type SpecError, type SpecResult } from "../../operator/spec/errors.js";
import type { HttpRequestEnvelope, SecretData } from "../../operator/spec/template.js";
import type { DelayedTask, DelayedTaskSpec } from "../../operator/spec/types.js";

const CREATED = "2026-11-21T10:00:00Z";
const CREATED_MS = Date.parse(CREATED);
const NOW = CREATED_MS + 5_000;
const UID = "6f1c2a9e-3b4d-4e5f-8a9b-0c1d2e3f4a5b";

function resource(spec: DelayedTaskSpec, generation = 3): DelayedTask {
  return {
    apiVersion: "ddq.io/v1alpha1",
    kind: "DelayedTask",
    metadata: {
      name: "cancel-order-1234",
      namespace: "shop",
      uid: UID,
      generation,
      creationTimestamp: CREATED,
    },
    spec,
  };
}

const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

/** A SecretReader over fixed Secrets of namespace "shop", counting reads. */
function secrets(data: Record<string, Record<string, string>>) {
  const reads: string[] = [];
  const readSecret = (namespace: string, name: string): Promise<SecretData | undefined> => {
    reads.push(`${namespace}/${name}`);
    const secret = namespace === "shop" ? data[name] : undefined;
    return Promise.resolve(secret === undefined ? undefined : { data: secret });
  };
  return { readSecret, reads };
}

function ok<T>(result: SpecResult<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${formatSpecErrors(result.errors)}`);
  return result.value;
}

function errorsOf<T>(result: SpecResult<T>): SpecError[] {
  if (result.ok) throw new Error("expected spec errors, got success");
  return result.errors;
}

function envelope(spec: TaskSpec): HttpRequestEnvelope {
  return JSON.parse(
    Buffer.from(spec.payload ?? new Uint8Array()).toString("utf8"),
  ) as HttpRequestEnvelope;
}

describe("a topic target", () => {
  it("becomes a task due at creation + delay, with the defaults, keyed by uid and generation", async () => {
    const spec = ok(
      await delayedTaskToTaskSpec(
        resource({ delay: "1h30m", target: { topic: "orders", payload: { orderId: 1234 } } }),
        { nowMs: NOW },
      ),
    );
    expect(spec).toEqual({
      topic: "orders",
      payload: Buffer.from('{"orderId":1234}'),
      due: { atMs: CREATED_MS + 90 * 60_000 },
      priority: 0,
      maxAttempts: 5,
      backoff: { kind: "exponential", initialMs: 1000, maxMs: 600_000, jitter: 0.2 },
      leaseTimeoutMs: 30_000,
      idempotencyKey: `ddq.io/DelayedTask/${UID}/3`,
      owner: { kind: "DelayedTask", namespace: "shop", name: "cancel-order-1234", uid: UID },
    });
    // What the scheduler will accept as it is.
    expect(() => prepareTask(spec, DEFAULT_LIMITS, DEFAULT_DEFAULTS)).not.toThrow();
  });

  it("is due at runAt, whatever the offset it is written in", async () => {
    const spec = ok(
      await delayedTaskToTaskSpec(
        resource({ runAt: "2026-12-24T18:00:00.250+01:00", target: { topic: "t" } }),
        { nowMs: NOW },
      ),
    );
    expect(spec.due).toEqual({ atMs: Date.parse("2026-12-24T17:00:00.250Z") });
  });

  it("counts the delay from a creationTimestamp given as a Date", async () => {
    const task = resource({ delay: "1500ms", target: { topic: "t" } });
    task.metadata.creationTimestamp = new Date(CREATED_MS);
    const spec = ok(await delayedTaskToTaskSpec(task, { nowMs: NOW }));
    expect(spec.due).toEqual({ atMs: CREATED_MS + 1500 });
  });

  it.each([
    ["a string, as its UTF-8 bytes", "héllo {not json}", "héllo {not json}"],
    ["a number, as JSON", 42, "42"],
    ["a list, as JSON", [1, "two", null], '[1,"two",null]'],
    ["a boolean, as JSON", false, "false"],
    ["nothing, as no bytes", undefined, ""],
  ])("carries a payload that is %s", async (_name, payload, expected) => {
    const spec = ok(
      await delayedTaskToTaskSpec(
        resource({
          delay: "1s",
          target: payload === undefined ? { topic: "t" } : { topic: "t", payload },
        }),
        { nowMs: NOW },
      ),
    );
    expect(Buffer.from(spec.payload ?? new Uint8Array()).toString("utf8")).toBe(expected);
  });

  it("maps retry, priority and lease timeout", async () => {
    const spec = ok(
      await delayedTaskToTaskSpec(
        resource({
          delay: "1s",
          target: { topic: "t" },
          retry: { maxAttempts: 8, backoff: { type: "Fixed", initialDelay: "30s" } },
          priority: 700,
          leaseTimeoutSeconds: 900,
        }),
        { nowMs: NOW },
      ),
    );
    expect(spec).toMatchObject({
      maxAttempts: 8,
      backoff: { kind: "fixed", delayMs: 30_000 },
      priority: 700,
      leaseTimeoutMs: 900_000,
    });
    const exponential = ok(
      await delayedTaskToTaskSpec(
        resource({
          delay: "1s",
          target: { topic: "t" },
          retry: { backoff: { initialDelay: "2s", maxDelay: "5m", jitterPercent: 0 } },
        }),
        { nowMs: NOW },
      ),
    );
    expect(exponential.backoff).toEqual({
      kind: "exponential",
      initialMs: 2000,
      maxMs: 300_000,
      jitter: 0,
    });
  });

  it("changes its idempotency key with the generation only", () => {
    const first = resource({ delay: "1s", target: { topic: "t" } }, 1);
    expect(delayedTaskIdempotencyKey(first.metadata)).toBe(`ddq.io/DelayedTask/${UID}/1`);
    expect(delayedTaskIdempotencyKey({ ...first.metadata, generation: 2 })).toBe(
      `ddq.io/DelayedTask/${UID}/2`,
    );
  });
});

describe("an http target", () => {
  const credentials = { "shop-api": { authorization: b64("Bearer t0k3n"), tenant: b64("acme") } };

  it("becomes a task on ddq.http carrying the request, Secret headers resolved", async () => {
    const { readSecret, reads } = secrets(credentials);
    const spec = ok(
      await delayedTaskToTaskSpec(
        resource({
          delay: "30m",
          target: {
            http: {
              url: "https://shop.example.com/api/orders/1234/cancel",
              headers: [
                {
                  name: "Authorization",
                  valueFrom: { secretKeyRef: { name: "shop-api", key: "authorization" } },
                },
                {
                  name: "X-Tenant",
                  valueFrom: { secretKeyRef: { name: "shop-api", key: "tenant" } },
                },
                { name: "Content-Type", value: "application/json" },
              ],
              body: '{"reason":"timeout"}',
            },
          },
        }),
        { nowMs: NOW, readSecret },
      ),
    );
    expect(spec.topic).toBe("ddq.http");
    expect(envelope(spec)).toEqual({
      url: "https://shop.example.com/api/orders/1234/cancel",
      method: "POST",
      headers: {
        Authorization: "Bearer t0k3n",
        "X-Tenant": "acme",
        "Content-Type": "application/json",
      },
      body: '{"reason":"timeout"}',
      timeoutSeconds: 30,
    });
    expect(reads).toEqual(["shop/shop-api"]); // one read per Secret
  });

  it("uses the operator's http topic, and leaves out an absent body", async () => {
    const spec = ok(
      await delayedTaskToTaskSpec(
        resource({
          delay: "1s",
          target: { http: { url: "http://10.0.0.7:8080/ping", method: "GET", timeoutSeconds: 5 } },
        }),
        { nowMs: NOW, httpTopic: "webhooks.internal" },
      ),
    );
    expect(spec.topic).toBe("webhooks.internal");
    const request = envelope(spec);
    expect(request).toEqual({
      url: "http://10.0.0.7:8080/ping",
      method: "GET",
      headers: {},
      timeoutSeconds: 5,
    });
    expect(request).not.toHaveProperty("body");
  });

  it.each([
    [
      "a missing Secret",
      { name: "nope", key: "authorization" },
      "spec.target.http.headers[0].valueFrom.secretKeyRef.name",
      'Secret "shop/nope" not found',
    ],
    [
      "a missing key",
      { name: "shop-api", key: "password" },
      "spec.target.http.headers[0].valueFrom.secretKeyRef.key",
      'Secret "shop/shop-api" has no key "password" (its keys: authorization, tenant)',
    ],
  ])("reports %s on the reference", async (_name, secretKeyRef, field, message) => {
    const { readSecret } = secrets(credentials);
    const errors = errorsOf(
      await delayedTaskToTaskSpec(
        resource({
          delay: "1s",
          target: {
            http: {
              url: "https://x.example",
              headers: [{ name: "Authorization", valueFrom: { secretKeyRef } }],
            },
          },
        }),
        { nowMs: NOW, readSecret },
      ),
    );
    expect(errors).toEqual([{ field, message }]);
  });

  it("refuses a Secret value with a trailing newline", async () => {
    const { readSecret } = secrets({ creds: { token: b64("Bearer abc\n") } });
    const errors = errorsOf(
      await delayedTaskToTaskSpec(
        resource({
          delay: "1s",
          target: {
            http: {
              url: "https://x.example",
              headers: [
                {
                  name: "Authorization",
                  valueFrom: { secretKeyRef: { name: "creds", key: "token" } },
                },
              ],
            },
          },
        }),
        { nowMs: NOW, readSecret },
      ),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]?.field).toBe("spec.target.http.headers[0].valueFrom.secretKeyRef.key");
    expect(errors[0]?.message).toMatch(/contains control characters .* trailing newline/);
  });

  it("passes on a failure to read a Secret (the operator retries) instead of calling the spec invalid", async () => {
    const forbidden = new Error('secrets "creds" is forbidden');
    const result = delayedTaskToTaskSpec(
      resource({
        delay: "1s",
        target: {
          http: {
            url: "https://x.example",
            headers: [{ name: "A", valueFrom: { secretKeyRef: { name: "creds", key: "a" } } }],
          },
        },
      }),
      { nowMs: NOW, readSecret: () => Promise.reject(forbidden) },
    );
    await expect(result).rejects.toBe(forbidden);
  });

  it("needs a SecretReader only for Secret-backed headers", async () => {
    const task = resource({
      delay: "1s",
      target: {
        http: {
          url: "https://x.example",
          headers: [{ name: "A", valueFrom: { secretKeyRef: { name: "creds", key: "a" } } }],
        },
      },
    });
    await expect(delayedTaskToTaskSpec(task, { nowMs: NOW })).rejects.toThrow(/no SecretReader/);
  });
});

describe("spec errors the API server cannot report", () => {
  const big = "x".repeat(DEFAULT_LIMITS.maxPayloadBytes);

  it.each<[string, DelayedTaskSpec, SpecError[]]>([
    [
      "a payload with an http target",
      { delay: "1s", target: { http: { url: "https://x.example" }, payload: { a: 1 } } },
      [
        {
          field: "spec.target.payload",
          message:
            "is only allowed with spec.target.topic (an http target sends spec.target.http.body)",
        },
      ],
    ],
    [
      "a runAt past the scheduler's horizon",
      { runAt: "2029-01-01T00:00:00Z", target: { topic: "t" } },
      [
        {
          field: "spec.runAt",
          message:
            "is more than 732 days ahead (the scheduler's horizon): 2029-01-01T00:00:00Z, now 2026-11-21T10:00:05.000Z",
        },
      ],
    ],
    [
      "a payload over 1 MiB once encoded",
      { delay: "1s", target: { topic: "t", payload: [big] } },
      [
        {
          field: "spec.target.payload",
          message: `is ${DEFAULT_LIMITS.maxPayloadBytes + 4} bytes once encoded, more than the limit of ${DEFAULT_LIMITS.maxPayloadBytes}`,
        },
      ],
    ],
  ])("%s", async (_name, spec, expected) => {
    expect(errorsOf(await delayedTaskToTaskSpec(resource(spec), { nowMs: NOW }))).toEqual(expected);
  });

  it("reports a request over 1 MiB on spec.target.http", async () => {
    const errors = errorsOf(
      await delayedTaskToTaskSpec(
        resource({ delay: "1s", target: { http: { url: "https://x.example", body: big } } }),
        { nowMs: NOW },
      ),
    );
    expect(errors.map((e) => e.field)).toEqual(["spec.target.http"]);
    expect(errors[0]?.message).toMatch(/the request \(url, headers and body\) is \d+ bytes/);
  });

  it("re-checks what CEL checks, for objects that did not come through the API server", async () => {
    const errors = errorsOf(
      await delayedTaskToTaskSpec(
        resource({
          runAt: "2026-12-24T18:00:00Z",
          delay: "5m",
          target: {
            topic: "t",
            http: { url: "https://x.example" },
          },
          retry: { maxAttempts: 0, backoff: { initialDelay: "2h", maxDelay: "1h" } },
          priority: 1001,
          leaseTimeoutSeconds: 0,
        }),
        { nowMs: NOW },
      ),
    );
    expect(errors.map((e) => e.field)).toEqual([
      "spec",
      "spec.target",
      "spec.retry.backoff.initialDelay",
      "spec.retry.maxAttempts",
      "spec.priority",
      "spec.leaseTimeoutSeconds",
    ]);
  });

  it("reports every error of an http target at once, by field", async () => {
    const { readSecret } = secrets({});
    const errors = errorsOf(
      await delayedTaskToTaskSpec(
        resource({
          delay: "5 minutes",
          target: {
            http: {
              url: "ftp://files.example/x",
              method: "GET",
              body: "x",
              headers: [
                { name: "A", valueFrom: { secretKeyRef: { name: "missing", key: "k" } } },
                { name: "a", value: "dup" },
                { name: "B", value: "line\nbreak" },
              ],
            },
          },
        }),
        { nowMs: NOW, readSecret },
      ),
    );
    expect(errors.map((e) => e.field)).toEqual([
      "spec.delay",
      "spec.target.http.url",
      "spec.target.http.body",
      "spec.target.http.headers[0].valueFrom.secretKeyRef.name",
      "spec.target.http.headers[1].name",
      "spec.target.http.headers[2].value",
    ]);
    expect(formatSpecErrors(errors)).toMatch(
      /^spec\.delay: must be a duration .*; spec\.target\.http\.url: must be an absolute URL/,
    );
  });

  it("refuses an unusable http topic option outright (configuration, not spec)", async () => {
    await expect(
      delayedTaskToTaskSpec(resource({ delay: "1s", target: { topic: "t" } }), {
        httpTopic: "no spaces allowed",
      }),
    ).rejects.toThrow(/invalid http topic "no spaces allowed"/);
  });
});
