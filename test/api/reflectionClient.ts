/**
 * A plain grpc-js client of grpc.reflection.v1 / v1alpha for the reflection tests, its messages
 * loaded by @grpc/proto-loader from the reflection.proto that the @grpc/reflection package ships
 * (not from ddq's descriptor set, so it checks the server's answers independently).
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import {
  credentials,
  loadPackageDefinition,
  type Client,
  type ClientDuplexStream,
  type GrpcObject,
  type ServiceClientConstructor,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

export interface ReflectionRequestJson {
  host?: string;
  fileByFilename?: string;
  fileContainingSymbol?: string;
  fileContainingExtension?: { containingType: string; extensionNumber: number };
  allExtensionNumbersOfType?: string;
  listServices?: string;
}

export interface ReflectionResponseJson {
  validHost: string;
  originalRequest?: ReflectionRequestJson;
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  allExtensionNumbersResponse?: { baseTypeName: string; extensionNumber: number[] };
  listServicesResponse?: { service: { name: string }[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

export type ReflectionAsk = (request: ReflectionRequestJson) => Promise<ReflectionResponseJson>;

type ReflectionStub = Client & {
  ServerReflectionInfo(options: {
    deadline: number;
  }): ClientDuplexStream<ReflectionRequestJson, ReflectionResponseJson>;
};

function protoFile(version: "v1" | "v1alpha"): string {
  const entry = createRequire(import.meta.url).resolve("@grpc/reflection");
  // build/src/index.js -> build/proto/grpc/reflection/<version>/reflection.proto
  return join(dirname(entry), "..", "proto", "grpc", "reflection", version, "reflection.proto");
}

/** One request per stream, answered by the first response. */
export function reflectionClient(
  address: string,
  version: "v1" | "v1alpha",
): { ask: ReflectionAsk; close: () => void } {
  const definition = loadSync(protoFile(version), {
    longs: Number,
    enums: String,
    defaults: false,
    arrays: true,
  });
  const grpc = loadPackageDefinition(definition).grpc as GrpcObject;
  const reflection = (grpc.reflection as GrpcObject)[version] as GrpcObject;
  const Stub = reflection.ServerReflection as ServiceClientConstructor;
  const stub = new Stub(address, credentials.createInsecure()) as unknown as ReflectionStub;
  const ask: ReflectionAsk = (request) =>
    new Promise((resolve, reject) => {
      const stream = stub.ServerReflectionInfo({ deadline: Date.now() + 30_000 });
      stream.once("data", (response: ReflectionResponseJson) => {
        resolve(response);
        stream.end();
      });
      stream.once("error", reject);
      stream.write(request);
    });
  return {
    ask,
    close: () => {
      stub.close();
    },
  };
}
