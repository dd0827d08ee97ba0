/**
 * gRPC server reflection, `grpc.reflection.v1` and its predecessor `grpc.reflection.v1alpha`
 * (the same messages under two package names), answered from the descriptor set
 * (reflectionDescriptors.ts): real file names and real dependencies, so grpcurl, Postman, evans or
 * a descriptor pool can describe and call every RPC with no proto files at hand. Not guarded by
 * authentication (it describes the public contract only).
 */
import {
  status,
  type MethodDefinition,
  type Server,
  type ServerDuplexStream,
  type ServiceDefinition,
} from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type Message } from "@bufbuild/protobuf";
import type { ReflectionDescriptors } from "./reflectionDescriptors.js";

export const REFLECTION_SERVICE_NAMES = [
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
] as const;

/** A ServerReflectionRequest as @bufbuild/protobuf decodes it. */
export interface ReflectionRequest {
  host: string;
  messageRequest:
    | { case: "fileByFilename"; value: string }
    | { case: "fileContainingSymbol"; value: string }
    | {
        case: "fileContainingExtension";
        value: { containingType: string; extensionNumber: number };
      }
    | { case: "allExtensionNumbersOfType"; value: string }
    | { case: "listServices"; value: string }
    | { case: undefined; value?: undefined };
}

/** The oneof `message_response` of a ServerReflectionResponse (init form). */
export type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | {
      case: "allExtensionNumbersResponse";
      value: { baseTypeName: string; extensionNumber: number[] };
    }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

function notFound(message: string): ReflectionAnswer {
  return { case: "errorResponse", value: { errorCode: status.NOT_FOUND, errorMessage: message } };
}

function files(found: Uint8Array[] | undefined, missing: string): ReflectionAnswer {
  return found === undefined
    ? notFound(missing)
    : { case: "fileDescriptorResponse", value: { fileDescriptorProto: found } };
}

/** The answer to one request: the files asked for with their imports, or an error status. */
export function answerReflection(
  descriptors: ReflectionDescriptors,
  services: readonly string[],
  request: ReflectionRequest["messageRequest"],
): ReflectionAnswer {
  switch (request.case) {
    case "listServices":
      return {
        case: "listServicesResponse",
        value: { service: services.map((name) => ({ name })) },
      };
    case "fileByFilename":
      return files(descriptors.fileByName(request.value), `file not found: ${request.value}`);
    case "fileContainingSymbol":
      return files(
        descriptors.fileContainingSymbol(request.value),
        `symbol not found: ${request.value}`,
      );
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = request.value;
      return files(
        descriptors.fileContainingExtension(containingType, extensionNumber),
        `extension ${extensionNumber} of ${containingType} not found`,
      );
    }
    case "allExtensionNumbersOfType": {
      const numbers = descriptors.extensionNumbers(request.value);
      return numbers === undefined
        ? notFound(`message type not found: ${request.value}`)
        : {
            case: "allExtensionNumbersResponse",
            value: { baseTypeName: request.value, extensionNumber: numbers },
          };
    }
    case undefined:
      return {
        case: "errorResponse",
        value: {
          errorCode: status.INVALID_ARGUMENT,
          errorMessage: "message_request: none of the known requests is set",
        },
      };
  }
}

/** A request whose bytes do not decode (answered INVALID_ARGUMENT in the stream, not INTERNAL). */
class MalformedRequest {
  constructor(readonly reason: string) {}
}

function method(
  pkg: string,
  request: DescMessage,
  response: DescMessage,
): MethodDefinition<Message | MalformedRequest, Message> {
  return {
    path: `/${pkg}.ServerReflection/ServerReflectionInfo`,
    requestStream: true,
    responseStream: true,
    requestSerialize: (message) => {
      if (message instanceof MalformedRequest) throw new Error(message.reason);
      return Buffer.from(toBinary(request, message));
    },
    requestDeserialize: (bytes) => {
      try {
        return fromBinary(request, bytes);
      } catch (error) {
        return new MalformedRequest(error instanceof Error ? error.message : String(error));
      }
    },
    responseSerialize: (message) => Buffer.from(toBinary(response, message)),
    responseDeserialize: (bytes) => fromBinary(response, bytes),
  };
}

/** The response to one decoded (or malformed) request. */
function respond(
  responseType: DescMessage,
  descriptors: ReflectionDescriptors,
  services: readonly string[],
  message: Message | MalformedRequest,
): Message {
  if (message instanceof MalformedRequest) {
    const errorMessage = `not a ServerReflectionRequest: ${message.reason}`;
    return create(responseType, {
      messageResponse: {
        case: "errorResponse",
        value: { errorCode: status.INVALID_ARGUMENT, errorMessage },
      },
    });
  }
  const request = message as unknown as ReflectionRequest;
  return create(responseType, {
    validHost: request.host,
    originalRequest: message,
    messageResponse: answerReflection(descriptors, services, request.messageRequest),
  });
}

/**
 * Adds both reflection services to `server`. `services` are the services the server serves
 * (each must be in the descriptor set); list_services answers them and the reflection services.
 */
export function addReflection(
  server: Server,
  descriptors: ReflectionDescriptors,
  services: readonly string[],
): void {
  const known = new Set(descriptors.serviceNames);
  const listed = [...services, ...REFLECTION_SERVICE_NAMES];
  for (const name of listed) {
    if (!known.has(name))
      throw new Error(`the descriptor set does not describe ${name}: run tools/proto.sh generate`);
  }
  for (const name of REFLECTION_SERVICE_NAMES) {
    const pkg = name.slice(0, name.lastIndexOf("."));
    const requestType = descriptors.message(`${pkg}.ServerReflectionRequest`);
    const responseType = descriptors.message(`${pkg}.ServerReflectionResponse`);
    const definition: ServiceDefinition = {
      ServerReflectionInfo: method(pkg, requestType, responseType),
    };
    server.addService(definition, {
      ServerReflectionInfo: (call: ServerDuplexStream<Message | MalformedRequest, Message>) => {
        call.on("data", (message: Message | MalformedRequest) => {
          call.write(respond(responseType, descriptors, listed, message));
        });
        call.on("end", () => call.end());
        call.on("error", () => undefined);
      },
    });
  }
}
