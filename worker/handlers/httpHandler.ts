/**
 * The built-in `http` handler. With a fixed `url`, the task's payload is POSTed to it as the body.
 * Without one, the payload is a request envelope (what the operator sends for a DelayedTask's
 * `target.http`): {"url", "method", "headers": {name: value}, "body", "timeoutSeconds"}.
 * 2xx succeeds (the first 4 KiB of the response body becomes the task's result); 408, 429 and
 * 5xx, timeouts and network errors are retried; any other 4xx (and a malformed envelope) fails
 * the task permanently.
 */
import type { LeasedTask } from "../../proto/gen/ddq/v1/task.js";
import { PermanentError, type TaskContext, type TaskHandler } from "../worker.js";

export interface HttpHandlerOptions {
  /** Fixed target; unset: each payload is a request envelope. */
  url?: string;
  method?: string;
  headers?: Record<string, string>;
  /** Default 30 s. */
  timeoutMs?: number;
}

export interface HttpRequestEnvelope {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutSeconds?: number;
}

const RESULT_BYTES = 4096;

export function parseEnvelope(payload: Uint8Array): HttpRequestEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString("utf8"));
  } catch {
    throw new PermanentError("payload is not a JSON http request envelope");
  }
  if (typeof value !== "object" || value === null)
    throw new PermanentError("payload must be a JSON object");
  const envelope = value as Record<string, unknown>;
  if (typeof envelope.url !== "string" || !/^https?:\/\//.test(envelope.url)) {
    throw new PermanentError("payload.url must be an http(s) URL");
  }
  const out: HttpRequestEnvelope = { url: envelope.url };
  if (typeof envelope.method === "string") out.method = envelope.method;
  if (typeof envelope.body === "string") out.body = envelope.body;
  if (typeof envelope.timeoutSeconds === "number") out.timeoutSeconds = envelope.timeoutSeconds;
  if (typeof envelope.headers === "object" && envelope.headers !== null) {
    out.headers = Object.fromEntries(
      Object.entries(envelope.headers as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
    );
  }
  return out;
}

export function httpHandler(options: HttpHandlerOptions = {}): TaskHandler {
  return async (task: LeasedTask, context: TaskContext) => {
    const envelope: HttpRequestEnvelope =
      options.url === undefined
        ? parseEnvelope(task.payload)
        : { url: options.url, body: Buffer.from(task.payload).toString("utf8") };
    const method = (envelope.method ?? options.method ?? "POST").toUpperCase();
    const timeoutMs =
      envelope.timeoutSeconds !== undefined
        ? envelope.timeoutSeconds * 1000
        : (options.timeoutMs ?? 30_000);
    const headers: Record<string, string> = {
      "content-type": options.url === undefined ? "application/json" : "application/octet-stream",
      ...options.headers,
      ...envelope.headers,
      "ddq-task-id": task.id,
      "ddq-attempt": String(task.attempt),
    };
    if (task.traceParent !== "") headers.traceparent = task.traceParent;
    let response: Response;
    try {
      response = await fetch(envelope.url, {
        method,
        headers,
        ...(method === "GET" || method === "HEAD" ? {} : { body: envelope.body ?? "" }),
        signal: AbortSignal.any([context.signal, AbortSignal.timeout(timeoutMs)]),
      });
    } catch (error) {
      throw new Error(`${method} ${envelope.url}: ${(error as Error).message}`, { cause: error });
    }
    const body = Buffer.from(await response.arrayBuffer());
    if (response.ok) return body.subarray(0, RESULT_BYTES);
    const summary = `${method} ${envelope.url} answered ${response.status}: ${body.subarray(0, 200).toString("utf8")}`;
    if (response.status >= 500 || response.status === 408 || response.status === 429)
      throw new Error(summary);
    throw new PermanentError(summary);
  };
}
