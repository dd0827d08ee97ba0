/**
 * The real grpcurl (pinned, built from its Go module: test/env/thirdPartyTools.ts) against a test
 * API server, by server reflection only: no proto files. JSON in, JSON out (`-emit-defaults`, so
 * zero values are printed), errors as JSON statuses on stderr (`-format-error`) with their details
 * decoded through reflection too.
 */
import { execFile } from "node:child_process";
import { expect } from "vitest";
import { resolveGrpcurl } from "../env/thirdPartyTools.js";

export interface GrpcurlRun {
  /** 0, or 64 + the gRPC status code of a failed call, or 1 for other failures. */
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A gRPC error status as `grpcurl -format-error` prints it. */
export interface GrpcurlStatus {
  code: number;
  message: string;
  details?: { "@type": string; [field: string]: unknown }[];
}

/** grpcurl exits with this plus the status code when a call fails. */
const STATUS_EXIT_OFFSET = 64;

export type JsonObject = Record<string, unknown>;

export interface Grpcurl {
  /** `grpcurl -plaintext <args...> <address> <tail...>`. */
  run(args: string[], tail: string[]): Promise<GrpcurlRun>;
  /** A unary call that must succeed; its response. */
  call(method: string, request: JsonObject, headers?: string[]): Promise<JsonObject>;
  /** A call that must fail; its status. */
  fail(method: string, request: JsonObject, headers?: string[]): Promise<GrpcurlStatus>;
  /** A server-streaming call cut by its deadline: the messages received before it. */
  stream(
    method: string,
    request: JsonObject,
    seconds: number,
    headers?: string[],
  ): Promise<JsonObject[]>;
}

function exec(binary: string, args: string[]): Promise<GrpcurlRun> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (error, out, err) => {
      if (error !== null && typeof error.code !== "number") {
        reject(new Error(`grpcurl ${args.join(" ")}: ${error.message}\n${err}`));
        return;
      }
      resolve({ exitCode: error === null ? 0 : Number(error.code), stdout: out, stderr: err });
    });
  });
}

/** Top-level JSON objects printed one after another (grpcurl's stream output). */
export function jsonObjects(text: string): JsonObject[] {
  const objects: JsonObject[] = [];
  let depth = 0;
  let start = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === "\\") i++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === "{") {
      if (depth === 0) start = i;
      depth++;
    } else if (char === "}") {
      depth--;
      if (depth === 0) objects.push(JSON.parse(text.slice(start, i + 1)) as JsonObject);
    }
  }
  return objects;
}

function describeRun(what: string, run: GrpcurlRun): string {
  return `${what}: exit ${run.exitCode}\n${run.stdout}\n${run.stderr}`;
}

export async function grpcurlAt(address: string): Promise<Grpcurl> {
  const binary = await resolveGrpcurl();
  const run = (args: string[], tail: string[]): Promise<GrpcurlRun> =>
    exec(binary, ["-plaintext", ...args, address, ...tail]);
  const invoke = (method: string, request: JsonObject, headers: string[], seconds = 60) =>
    run(
      [
        "-emit-defaults",
        "-format-error",
        "-max-time",
        String(seconds),
        "-d",
        JSON.stringify(request),
        ...headers.flatMap((header) => ["-rpc-header", header]),
      ],
      [method],
    );
  return {
    run,
    call: async (method, request, headers = []) => {
      const answer = await invoke(method, request, headers);
      expect(answer.exitCode, describeRun(method, answer)).toBe(0);
      const [response] = jsonObjects(answer.stdout);
      if (response === undefined) throw new Error(describeRun(`${method}: no response`, answer));
      return response;
    },
    fail: async (method, request, headers = []) => {
      const answer = await invoke(method, request, headers);
      expect(answer.exitCode, describeRun(method, answer)).toBeGreaterThan(STATUS_EXIT_OFFSET);
      const status = JSON.parse(answer.stderr) as GrpcurlStatus;
      expect(answer.exitCode).toBe(STATUS_EXIT_OFFSET + status.code);
      return status;
    },
    stream: async (method, request, seconds, headers = []) => {
      const answer = await invoke(method, request, headers, seconds);
      // The stream ends at the call's deadline: the client's timer (DEADLINE_EXCEEDED) or the
      // server's end of the stream at that deadline (OK, as API.md says) may come first.
      const DEADLINE_EXCEEDED = 4;
      expect([0, STATUS_EXIT_OFFSET + DEADLINE_EXCEEDED], describeRun(method, answer)).toContain(
        answer.exitCode,
      );
      return jsonObjects(answer.stdout);
    },
  };
}

/** Property `path` (dot-separated, numeric indexes for arrays) of a JSON response. */
export function at(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

export function list(value: unknown, path: string): JsonObject[] {
  const found = at(value, path);
  expect(Array.isArray(found), `${path} is a list`).toBe(true);
  return found as JsonObject[];
}

/** One step of the call table: it calls `method` (and may call others to check the effect). */
export interface CallStep {
  method: string;
  run(): Promise<void>;
}

/** A unary call that must succeed, with the credentials the test server wants. */
export type AuthorizedCall = (method: string, request: JsonObject) => Promise<JsonObject>;
