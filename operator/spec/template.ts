/**
 * The part both resources share: spec.target, spec.retry, spec.priority and
 * spec.leaseTimeoutSeconds, turned into the task fields of the scheduler (model.ts TaskSpec).
 *
 * A topic target becomes a task on that topic with the payload as given (a string as its UTF-8
 * bytes, any other JSON value as its JSON text). An http target becomes a task on the http topic
 * (DDQ_HTTP_TOPIC, default "ddq.http") whose payload is an HttpRequestEnvelope in JSON, with the
 * values of Secret-backed headers resolved through the injected SecretReader.
 */
import {
  DEFAULT_LIMITS,
  type BackoffPolicy,
  type EngineLimits,
} from "../../scheduler/engine/model.js";
import { validateTopic } from "../../scheduler/engine/validation.js";
import { SPEC_DEFAULTS } from "./defaults.js";
import { DURATION_SYNTAX, parseDurationMs } from "./time.js";
import { specError, type SpecError, type SpecResult } from "./errors.js";
import {
  HTTP_METHODS,
  type HttpHeader,
  type HttpMethod,
  type HttpTarget,
  type JsonValue,
  type RetrySpec,
  type TaskTarget,
  type TaskTemplateSpec,
} from "./types.js";

/**
 * The payload of a task for an http target: the request the http worker makes. `headers` maps
 * each name (as written in the resource) to its value, Secret-backed values resolved. `body` is
 * absent when the resource has none.
 */
export interface HttpRequestEnvelope {
  url: string;
  method: HttpMethod;
  headers: Record<string, string>;
  body?: string;
  timeoutSeconds: number;
}

/** The data of a Secret as the API returns it: values base64-encoded. */
export interface SecretData {
  data?: Record<string, string>;
}

/**
 * Reads a Secret in the given namespace (the resource's own). Resolves to undefined when the
 * Secret does not exist; rejects on any other failure (forbidden, unreachable API server), which
 * the conversion passes on unchanged so that the caller retries instead of calling the spec
 * invalid. A client-node V1Secret satisfies SecretData.
 */
export type SecretReader = (namespace: string, name: string) => Promise<SecretData | undefined>;

export interface TemplateContext {
  /** The resource's namespace: Secrets are read from it. */
  namespace: string;
  /** The topic for http targets. */
  httpTopic: string;
  /** Required when a header has valueFrom. */
  readSecret?: SecretReader | undefined;
  limits: EngineLimits;
}

/** What the template becomes: the task fields that do not depend on the resource's kind. */
export interface ConvertedTemplate {
  topic: string;
  payload: Uint8Array;
  priority: number;
  maxAttempts: number;
  backoff: BackoffPolicy;
  leaseTimeoutMs: number;
  /** "topic" or "http": which target it came from (used to name fields in later errors). */
  targetKind: "topic" | "http";
}

// Control characters other than horizontal tab may not appear in a header value (RFC 9110).
function hasForbiddenControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** Checks the operator's http topic (configuration, not the spec): throws when it is unusable. */
export function checkHttpTopic(httpTopic: string, limits: EngineLimits = DEFAULT_LIMITS): string {
  try {
    return validateTopic("httpTopic", httpTopic, limits);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`invalid http topic ${JSON.stringify(httpTopic)}: ${reason}`, {
      cause: error,
    });
  }
}

/** Encodes target.payload: a string as its UTF-8 bytes, any other JSON value as JSON text. */
export function encodeTopicPayload(payload: JsonValue | undefined): Uint8Array {
  if (payload === undefined) return new Uint8Array();
  return Buffer.from(typeof payload === "string" ? payload : JSON.stringify(payload), "utf8");
}

function isHttpMethod(method: string): method is HttpMethod {
  return (HTTP_METHODS as readonly string[]).includes(method);
}

function checkUrl(url: string, field: string, errors: SpecError[]): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (
    parsed === undefined ||
    (parsed.protocol !== "http:" && parsed.protocol !== "https:") ||
    parsed.hostname === ""
  ) {
    errors.push(
      specError(
        field,
        `must be an absolute URL with scheme http or https and a host, got ${JSON.stringify(url)}`,
      ),
    );
  }
}

async function headerValue(
  header: HttpHeader,
  field: string,
  context: TemplateContext,
  secrets: Map<string, Promise<SecretData | undefined>>,
): Promise<{ value?: string; errors: SpecError[] }> {
  const errors: SpecError[] = [];
  const value = await resolveHeaderValue(header, field, context, secrets, errors);
  return value === undefined ? { errors } : { value, errors };
}

async function resolveHeaderValue(
  header: HttpHeader,
  field: string,
  context: TemplateContext,
  secrets: Map<string, Promise<SecretData | undefined>>,
  errors: SpecError[],
): Promise<string | undefined> {
  const hasValue = header.value !== undefined;
  const hasSource = header.valueFrom !== undefined;
  if (hasValue === hasSource) {
    errors.push(specError(field, "exactly one of value or valueFrom must be set"));
    return undefined;
  }
  if (header.value !== undefined) {
    if (hasForbiddenControl(header.value)) {
      errors.push(
        specError(`${field}.value`, "must not contain control characters (such as CR or LF)"),
      );
      return undefined;
    }
    return header.value;
  }
  const ref = header.valueFrom?.secretKeyRef;
  const refField = `${field}.valueFrom.secretKeyRef`;
  if (ref === undefined) {
    errors.push(specError(refField, "must be set"));
    return undefined;
  }
  const readSecret = context.readSecret;
  if (readSecret === undefined) {
    throw new Error(`${refField}: no SecretReader was given to resolve Secret-backed headers`);
  }
  let pending = secrets.get(ref.name);
  if (pending === undefined) {
    pending = readSecret(context.namespace, ref.name);
    secrets.set(ref.name, pending);
  }
  const secret = await pending;
  const secretName = `${context.namespace}/${ref.name}`;
  if (secret === undefined) {
    errors.push(specError(`${refField}.name`, `Secret "${secretName}" not found`));
    return undefined;
  }
  const encoded = secret.data?.[ref.key];
  if (encoded === undefined) {
    const keys = Object.keys(secret.data ?? {}).sort();
    errors.push(
      specError(
        `${refField}.key`,
        `Secret "${secretName}" has no key "${ref.key}" (its keys: ${keys.length === 0 ? "none" : keys.join(", ")})`,
      ),
    );
    return undefined;
  }
  const value = Buffer.from(encoded, "base64").toString("utf8");
  if (hasForbiddenControl(value)) {
    errors.push(
      specError(
        `${refField}.key`,
        `the value of key "${ref.key}" in Secret "${secretName}" contains control characters ` +
          `(such as CR or LF, often a trailing newline), which a header value must not contain`,
      ),
    );
    return undefined;
  }
  return value;
}

async function httpEnvelope(
  http: HttpTarget,
  context: TemplateContext,
  errors: SpecError[],
): Promise<HttpRequestEnvelope> {
  const at = "spec.target.http";
  checkUrl(http.url, `${at}.url`, errors);
  const method = http.method ?? SPEC_DEFAULTS.httpMethod;
  if (!isHttpMethod(method)) {
    errors.push(specError(`${at}.method`, `must be one of ${HTTP_METHODS.join(", ")}`));
  }
  if (http.body !== undefined && (method === "GET" || method === "HEAD")) {
    errors.push(specError(`${at}.body`, `is not allowed with method ${method}`));
  }
  const timeoutSeconds = http.timeoutSeconds ?? SPEC_DEFAULTS.httpTimeoutSeconds;
  if (!Number.isSafeInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 3600) {
    errors.push(specError(`${at}.timeoutSeconds`, `must be an integer from 1 to 3600`));
  }
  const headers: Record<string, string> = {};
  const seen = new Map<string, number>();
  const secrets = new Map<string, Promise<SecretData | undefined>>();
  const values = await Promise.all(
    (http.headers ?? []).map((header, index) =>
      headerValue(header, `${at}.headers[${index}]`, context, secrets),
    ),
  );
  (http.headers ?? []).forEach((header, index) => {
    const field = `${at}.headers[${index}]`;
    const key = header.name.toLowerCase();
    const first = seen.get(key);
    let nameOk = true;
    if (!HEADER_NAME.test(header.name)) {
      errors.push(
        specError(`${field}.name`, `must be an HTTP token, got ${JSON.stringify(header.name)}`),
      );
      nameOk = false;
    } else if (first !== undefined) {
      errors.push(
        specError(
          `${field}.name`,
          `repeats the name of ${at}.headers[${first}] (header names are case-insensitive)`,
        ),
      );
      nameOk = false;
    } else {
      seen.set(key, index);
    }
    const resolved = values[index];
    if (resolved === undefined) return;
    errors.push(...resolved.errors);
    if (nameOk && resolved.value !== undefined) headers[header.name] = resolved.value;
  });
  return {
    url: http.url,
    method,
    headers,
    ...(http.body === undefined ? {} : { body: http.body }),
    timeoutSeconds,
  };
}

async function convertTarget(
  target: TaskTarget,
  context: TemplateContext,
  errors: SpecError[],
): Promise<{ topic: string; payload: Uint8Array; kind: "topic" | "http" } | undefined> {
  const hasTopic = target.topic !== undefined;
  const hasHttp = target.http !== undefined;
  if (hasTopic === hasHttp) {
    errors.push(specError("spec.target", "exactly one of topic or http must be set"));
    return undefined;
  }
  if (target.topic !== undefined) {
    try {
      validateTopic("spec.target.topic", target.topic, context.limits);
    } catch (error) {
      const reason =
        error instanceof Error
          ? error.message.replace(/^spec\.target\.topic: /, "")
          : String(error);
      errors.push(specError("spec.target.topic", reason));
      return undefined;
    }
    const payload = encodeTopicPayload(target.payload);
    if (payload.length > context.limits.maxPayloadBytes) {
      errors.push(
        specError(
          "spec.target.payload",
          `is ${payload.length} bytes once encoded, more than the limit of ${context.limits.maxPayloadBytes}`,
        ),
      );
      return undefined;
    }
    return { topic: target.topic, payload, kind: "topic" };
  }
  if (target.payload !== undefined) {
    errors.push(
      specError(
        "spec.target.payload",
        "is only allowed with spec.target.topic (an http target sends spec.target.http.body)",
      ),
    );
  }
  const http = target.http;
  if (http === undefined) return undefined;
  const errorsBefore = errors.length;
  const envelope = await httpEnvelope(http, context, errors);
  if (errors.length > errorsBefore) return undefined;
  const payload = Buffer.from(JSON.stringify(envelope), "utf8");
  if (payload.length > context.limits.maxPayloadBytes) {
    errors.push(
      specError(
        "spec.target.http",
        `the request (url, headers and body) is ${payload.length} bytes once encoded, more than ` +
          `the limit of ${context.limits.maxPayloadBytes}`,
      ),
    );
    return undefined;
  }
  return { topic: context.httpTopic, payload, kind: "http" };
}

function duration(
  text: string,
  field: string,
  maxMs: number,
  errors: SpecError[],
): number | undefined {
  const ms = parseDurationMs(text);
  if (ms === undefined) {
    errors.push(specError(field, `must be ${DURATION_SYNTAX}, got ${JSON.stringify(text)}`));
    return undefined;
  }
  if (ms > maxMs) {
    errors.push(specError(field, `must be at most ${maxMs / 3_600_000}h, got ${text}`));
    return undefined;
  }
  return ms;
}

function integerField(
  value: number,
  field: string,
  min: number,
  max: number,
  errors: SpecError[],
): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    errors.push(specError(field, `must be an integer from ${min} to ${max}, got ${value}`));
  }
  return value;
}

function convertBackoff(
  retry: RetrySpec | undefined,
  limits: EngineLimits,
  errors: SpecError[],
): BackoffPolicy | undefined {
  const at = "spec.retry.backoff";
  const backoff = retry?.backoff ?? {};
  const type = backoff.type ?? SPEC_DEFAULTS.backoffType;
  const initialText = backoff.initialDelay ?? SPEC_DEFAULTS.initialDelay;
  const maxText = backoff.maxDelay ?? SPEC_DEFAULTS.maxDelay;
  const initialMs = duration(initialText, `${at}.initialDelay`, limits.maxHorizonMs, errors);
  const maxMs = duration(maxText, `${at}.maxDelay`, limits.maxHorizonMs, errors);
  const jitterPercent = integerField(
    backoff.jitterPercent ?? SPEC_DEFAULTS.jitterPercent,
    `${at}.jitterPercent`,
    0,
    100,
    errors,
  );
  if (initialMs === undefined || maxMs === undefined) return undefined;
  if (type === "Fixed") return { kind: "fixed", delayMs: initialMs };
  if (initialMs === 0) {
    errors.push(specError(`${at}.initialDelay`, "must be more than 0 with type Exponential"));
    return undefined;
  }
  if (initialMs > maxMs) {
    errors.push(
      specError(
        `${at}.initialDelay`,
        `must not exceed ${at}.maxDelay (${maxText}), got ${initialText}`,
      ),
    );
    return undefined;
  }
  return { kind: "exponential", initialMs, maxMs, jitter: jitterPercent / 100 };
}

/**
 * Converts the shared fields of a spec. Errors name spec fields; a SecretReader rejection (not
 * "not found") is rethrown unchanged.
 */
export async function convertTaskTemplate(
  spec: TaskTemplateSpec,
  context: TemplateContext,
): Promise<SpecResult<ConvertedTemplate>> {
  const errors: SpecError[] = [];
  const target = await convertTarget(spec.target, context, errors);
  const backoff = convertBackoff(spec.retry, context.limits, errors);
  const maxAttempts = integerField(
    spec.retry?.maxAttempts ?? SPEC_DEFAULTS.maxAttempts,
    "spec.retry.maxAttempts",
    1,
    context.limits.maxAttempts,
    errors,
  );
  const priority = integerField(
    spec.priority ?? SPEC_DEFAULTS.priority,
    "spec.priority",
    0,
    1000,
    errors,
  );
  const leaseTimeoutSeconds = integerField(
    spec.leaseTimeoutSeconds ?? SPEC_DEFAULTS.leaseTimeoutSeconds,
    "spec.leaseTimeoutSeconds",
    1,
    Math.floor(context.limits.maxLeaseTimeoutMs / 1000),
    errors,
  );
  if (errors.length > 0 || target === undefined || backoff === undefined) {
    return { ok: false, errors };
  }
  return {
    ok: true,
    value: {
      topic: target.topic,
      payload: target.payload,
      priority,
      maxAttempts,
      backoff,
      leaseTimeoutMs: leaseTimeoutSeconds * 1000,
      targetKind: target.kind,
    },
  };
}

/**
 * The resource path of a field the scheduler named when it refused a task built from a template
 * (prepareTask: `topic`, `payload`, `priority`, ... with `prefix`, e.g. "task.").
 */
export function templateFieldPath(
  schedulerField: string,
  targetKind: "topic" | "http",
  prefix = "",
): string | undefined {
  if (!schedulerField.startsWith(prefix)) return undefined;
  const field = schedulerField.slice(prefix.length);
  switch (field) {
    case "topic":
      return targetKind === "topic" ? "spec.target.topic" : "spec.target.http";
    case "payload":
      return targetKind === "topic" ? "spec.target.payload" : "spec.target.http";
    case "priority":
      return "spec.priority";
    case "maxAttempts":
      return "spec.retry.maxAttempts";
    case "backoff.delayMs":
    case "backoff.initialMs":
      return "spec.retry.backoff.initialDelay";
    case "backoff.maxMs":
      return "spec.retry.backoff.maxDelay";
    case "backoff.jitter":
      return "spec.retry.backoff.jitterPercent";
    case "leaseTimeoutMs":
      return "spec.leaseTimeoutSeconds";
    default:
      return undefined;
  }
}
