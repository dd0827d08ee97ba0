/**
 * The protobuf files the API port serves, as server reflection hands them out:
 * `proto/gen/descriptors.binpb` (written by `tools/proto.sh generate`), a
 * google.protobuf.FileDescriptorSet of `ddq/v1` with everything it imports (`google/protobuf/*`,
 * `google/rpc/*`) plus `grpc/health/v1/health.proto` and `grpc/reflection/{v1,v1alpha}`, under
 * their real names, with their real dependency lists and comments. This module indexes that set:
 * files by name, symbols by fully-qualified name, extensions by extended type and number.
 */
import { readFileSync } from "node:fs";
import {
  create,
  createFileRegistry,
  fromBinary,
  type DescEnum,
  type DescExtension,
  type DescFile,
  type DescMessage,
  type FileRegistry,
} from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";

/** Next to the generated TypeScript in the source tree; `npm run build` copies it to dist/. */
export const DESCRIPTOR_SET_URL = new URL("../../proto/gen/descriptors.binpb", import.meta.url);

/** FileDescriptorSet.file is field 1. */
const SET_FILE_FIELD = 1;

let served: ReflectionDescriptors | undefined;

export class ReflectionDescriptors {
  /** File name -> the FileDescriptorProto's bytes exactly as the set holds them. */
  private readonly encoded = new Map<string, Uint8Array>();
  /** Fully-qualified symbol (message, field, oneof, enum, enum value, service, method,
   * extension) -> the name of the file declaring it. */
  private readonly symbols = new Map<string, string>();
  /** Extended message type -> extension field number -> file declaring the extension. */
  private readonly extensions = new Map<string, Map<number, string>>();
  /** Every file, its types resolved (a missing import throws here, at start-up). */
  readonly registry: FileRegistry;

  constructor(set: Uint8Array) {
    const files: FileDescriptorProto[] = [];
    const reader = new BinaryReader(set);
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (field !== SET_FILE_FIELD || wireType !== WireType.LengthDelimited) {
        reader.skip(wireType, field);
        continue;
      }
      const bytes = reader.bytes();
      const file = fromBinary(FileDescriptorProtoSchema, bytes);
      // Two sets concatenated may both hold a shared import: the first copy is served.
      if (this.encoded.has(file.name)) continue;
      this.encoded.set(file.name, bytes);
      files.push(file);
    }
    this.registry = createFileRegistry(create(FileDescriptorSetSchema, { file: files }));
    for (const file of this.registry.files) this.index(file);
  }

  /** The set `tools/proto.sh generate` wrote, read once per process. */
  static served(): ReflectionDescriptors {
    served ??= new ReflectionDescriptors(readFileSync(DESCRIPTOR_SET_URL));
    return served;
  }

  /** Every service the set declares (fully-qualified). */
  get serviceNames(): string[] {
    return [...this.registry.files].flatMap((file) => file.services.map((s) => s.typeName));
  }

  /** The message type `typeName`; throws when the set does not declare it. */
  message(typeName: string): DescMessage {
    const message = this.registry.getMessage(typeName);
    if (message === undefined) throw new Error(`${DESCRIPTOR_SET_URL.pathname} lacks ${typeName}`);
    return message;
  }

  /**
   * The file `name` (e.g. `ddq/v1/task_service.proto`) and every file it imports, transitively:
   * the file first, each import once. Undefined when the set holds no such file.
   */
  fileByName(name: string): Uint8Array[] | undefined {
    const file = this.registry.getFile(name);
    return file === undefined ? undefined : this.withImports(file);
  }

  /** The file declaring `symbol` (e.g. `ddq.v1.TaskService.Enqueue`), with its imports. */
  fileContainingSymbol(symbol: string): Uint8Array[] | undefined {
    const name = this.symbols.get(symbol.startsWith(".") ? symbol.slice(1) : symbol);
    return name === undefined ? undefined : this.fileByName(name);
  }

  /** The file declaring extension `number` of message `extendee`, with its imports. */
  fileContainingExtension(extendee: string, number: number): Uint8Array[] | undefined {
    const name = this.extensions.get(extendee)?.get(number);
    return name === undefined ? undefined : this.fileByName(name);
  }

  /** Extension numbers of message `typeName` (none: empty); undefined when no such message. */
  extensionNumbers(typeName: string): number[] | undefined {
    if (this.registry.getMessage(typeName) === undefined) return undefined;
    return [...(this.extensions.get(typeName)?.keys() ?? [])].sort((a, b) => a - b);
  }

  private withImports(file: DescFile): Uint8Array[] {
    const seen = new Set<string>();
    const order: DescFile[] = [file];
    const answer: Uint8Array[] = [];
    for (let next = order.shift(); next !== undefined; next = order.shift()) {
      if (seen.has(next.proto.name)) continue;
      seen.add(next.proto.name);
      const bytes = this.encoded.get(next.proto.name);
      if (bytes !== undefined) answer.push(bytes);
      order.push(...next.dependencies);
    }
    return answer;
  }

  private index(file: DescFile): void {
    const name = file.proto.name;
    const add = (symbol: string): void => {
      if (!this.symbols.has(symbol)) this.symbols.set(symbol, name);
    };
    const addEnum = (desc: DescEnum): void => {
      add(desc.typeName);
      // Enum values are scoped next to their enum, not inside it (protobuf's C++ scoping).
      const scope = desc.typeName.slice(0, Math.max(0, desc.typeName.lastIndexOf(".")));
      for (const value of desc.values) add(scope === "" ? value.name : `${scope}.${value.name}`);
    };
    const addExtension = (desc: DescExtension): void => {
      add(desc.typeName);
      const numbers = this.extensions.get(desc.extendee.typeName) ?? new Map<number, string>();
      numbers.set(desc.number, name);
      this.extensions.set(desc.extendee.typeName, numbers);
    };
    const addMessage = (desc: DescMessage): void => {
      add(desc.typeName);
      for (const field of desc.fields) add(`${desc.typeName}.${field.name}`);
      for (const oneof of desc.oneofs) add(`${desc.typeName}.${oneof.name}`);
      desc.nestedMessages.forEach(addMessage);
      desc.nestedEnums.forEach(addEnum);
      desc.nestedExtensions.forEach(addExtension);
    };
    file.messages.forEach(addMessage);
    file.enums.forEach(addEnum);
    file.extensions.forEach(addExtension);
    for (const service of file.services) {
      add(service.typeName);
      for (const method of service.methods) add(`${service.typeName}.${method.name}`);
    }
  }
}
