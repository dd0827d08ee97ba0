/**
 * Checks of a request's encoded bytes that its decoded form cannot show, for every field of every
 * request message (found from the API's descriptor set, so new RPCs and fields are covered):
 *
 * - google.protobuf.Timestamp: 0 <= nanos < 1e9 and seconds within 0001-01-01..9999-12-31 (ts-proto
 *   folds a Timestamp into a Date, where nanos = 1.5e9 silently becomes +1.5 s);
 * - google.protobuf.Duration: |nanos| < 1e9, seconds and nanos of the same sign, |seconds| <=
 *   315,576,000,000 (the message's own rules);
 * - enums: only declared values (proto3 decodes any number; a typo'd value must not pass as one
 *   the server silently ignores).
 *
 * A violation names the field by its proto path from the request's root (`tasks[2].due_time`).
 * Call only on bytes that decoded: malformed ones are answered before this.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { ReflectionDescriptors } from "./reflectionDescriptors.js";

export interface WireViolation {
  field: string;
  description: string;
}

/** Where a field of interest leads: a leaf check, or a message that holds some. */
type FieldCheck =
  | { kind: "timestamp" | "duration" }
  | { kind: "enum"; values: ReadonlyMap<number, string>; typeName: string }
  | { kind: "message"; shape: MessageShape };

interface FieldShape {
  /** Proto (snake_case) name. */
  name: string;
  repeated: boolean;
  check: FieldCheck;
}

/** The fields of a message that need a check, by field number (absent: none). */
type MessageShape = Map<number, FieldShape>;

const MIN_TIMESTAMP_SECONDS = -62_135_596_800n; // 0001-01-01T00:00:00Z
const MAX_TIMESTAMP_SECONDS = 253_402_300_799n; // 9999-12-31T23:59:59Z
const MAX_DURATION_SECONDS = 315_576_000_000n;
/** Nesting deeper than this is not followed (no ddq request comes near it). */
const MAX_DEPTH = 32;

/** What a field of `message` calls for, from the descriptor set's resolved types. */
function checkOf(
  field: DescMessage["fields"][number],
  shapeOf: (message: DescMessage, depth: number) => MessageShape,
  depth: number,
): FieldCheck | undefined {
  const kind = field.fieldKind === "list" ? field.listKind : field.fieldKind;
  if (kind === "enum" && field.enum !== undefined) {
    const values = new Map(field.enum.values.map((v) => [v.number, v.name] as const));
    return { kind: "enum", values, typeName: field.enum.typeName };
  }
  if (kind !== "message" || field.message === undefined) return undefined;
  const typeName = field.message.typeName;
  if (typeName === "google.protobuf.Timestamp") return { kind: "timestamp" };
  if (typeName === "google.protobuf.Duration") return { kind: "duration" };
  // Followed even if it holds nothing to check (yet: a recursive type is still being built).
  return depth < MAX_DEPTH
    ? { kind: "message", shape: shapeOf(field.message, depth + 1) }
    : undefined;
}

function buildShapes(): (message: DescMessage) => MessageShape {
  const memo = new Map<string, MessageShape>();
  const shapeOf = (message: DescMessage, depth: number): MessageShape => {
    const known = memo.get(message.typeName);
    if (known !== undefined) return known;
    const shape: MessageShape = new Map();
    memo.set(message.typeName, shape); // before recursing: a recursive type sees itself
    for (const field of message.fields) {
      const check = checkOf(field, shapeOf, depth);
      if (check === undefined) continue;
      shape.set(field.number, { name: field.name, repeated: field.fieldKind === "list", check });
    }
    return shape;
  };
  return (message) => shapeOf(message, 0);
}

function bigintOf(value: bigint | string): bigint {
  return typeof value === "bigint" ? value : BigInt(value);
}

/** Seconds (field 1) and nanos (field 2) of an encoded Timestamp or Duration. */
function secondsNanos(bytes: Uint8Array): { seconds: bigint; nanos: number } {
  const reader = new BinaryReader(bytes);
  let seconds = 0n;
  let nanos = 0;
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    if (no === 1 && wireType === WireType.Varint) seconds = bigintOf(reader.int64());
    else if (no === 2 && wireType === WireType.Varint) nanos = reader.int32();
    else reader.skip(wireType, no);
  }
  return { seconds, nanos };
}

function timestampViolation(bytes: Uint8Array): string | undefined {
  const { seconds, nanos } = secondsNanos(bytes);
  if (nanos < 0 || nanos >= 1e9) {
    return `nanos must be from 0 to 999,999,999 (a normalized Timestamp), got ${nanos}`;
  }
  if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS) {
    return `seconds must be within 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z, got ${seconds}`;
  }
  return undefined;
}

function durationViolation(bytes: Uint8Array): string | undefined {
  const { seconds, nanos } = secondsNanos(bytes);
  if (nanos <= -1e9 || nanos >= 1e9) {
    return `nanos must be within ±999,999,999, got ${nanos}`;
  }
  if ((seconds > 0n && nanos < 0) || (seconds < 0n && nanos > 0)) {
    return "seconds and nanos must have the same sign";
  }
  if (seconds > MAX_DURATION_SECONDS || seconds < -MAX_DURATION_SECONDS) {
    return `seconds must be within ±${MAX_DURATION_SECONDS}, got ${seconds}`;
  }
  return undefined;
}

function enumViolation(
  check: { values: ReadonlyMap<number, string>; typeName: string },
  value: number,
): string | undefined {
  if (check.values.has(value)) return undefined;
  const known = [...check.values].map(([n, name]) => `${name} = ${n}`).join(", ");
  return `${value} is not a value of ${check.typeName} (one of ${known})`;
}

/** The first violation in an encoded message of `shape`; `at` prefixes field paths. */
function walk(bytes: Uint8Array, shape: MessageShape, at: string): WireViolation | undefined {
  const reader = new BinaryReader(bytes);
  const seen = new Map<number, number>();
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    const field = shape.get(no);
    if (field === undefined) {
      reader.skip(wireType, no);
      continue;
    }
    const check = field.check;
    const pathOf = (): string => {
      const index = seen.get(no) ?? 0;
      seen.set(no, index + 1);
      return field.repeated ? `${at}${field.name}[${index}]` : `${at}${field.name}`;
    };
    if (check.kind === "enum") {
      const values: number[] = [];
      if (wireType === WireType.LengthDelimited) {
        const packed = new BinaryReader(reader.bytes());
        while (packed.pos < packed.len) values.push(packed.int32());
      } else if (wireType === WireType.Varint) {
        values.push(reader.int32());
      } else {
        reader.skip(wireType, no);
      }
      for (const value of values) {
        const path = pathOf();
        const description = enumViolation(check, value);
        if (description !== undefined) return { field: path, description };
      }
      continue;
    }
    if (wireType !== WireType.LengthDelimited) {
      // Not what the field's type is encoded as: the decoder already answered for that.
      reader.skip(wireType, no);
      continue;
    }
    const nested = reader.bytes();
    const path = pathOf();
    if (check.kind === "message") {
      const violation = walk(nested, check.shape, `${path}.`);
      if (violation !== undefined) return violation;
      continue;
    }
    const description =
      check.kind === "timestamp" ? timestampViolation(nested) : durationViolation(nested);
    if (description !== undefined) return { field: path, description };
  }
  return undefined;
}

let requestShapes: Map<string, MessageShape> | undefined;

/**
 * Request shapes by method path (`/ddq.v1.TaskService/Enqueue`), built once from the descriptor
 * set the API serves by reflection (proto/gen/descriptors.binpb), so both read one contract.
 */
function shapesByPath(): Map<string, MessageShape> {
  if (requestShapes !== undefined) return requestShapes;
  const shapeOf = buildShapes();
  requestShapes = new Map();
  for (const file of ReflectionDescriptors.served().registry.files) {
    for (const service of file.services) {
      for (const method of service.methods) {
        requestShapes.set(`/${service.typeName}/${method.name}`, shapeOf(method.input));
      }
    }
  }
  return requestShapes;
}

/** The wire check of a method's requests (undefined when its request has nothing to check). */
export function wireCheckOf(
  path: string,
): ((bytes: Uint8Array) => WireViolation | undefined) | undefined {
  const shape = shapesByPath().get(path);
  if (shape === undefined || shape.size === 0) return undefined;
  return (bytes) => {
    try {
      return walk(bytes, shape, "");
    } catch {
      // Bytes the (more lenient) generated decoder took but this reader cannot follow, e.g. a
      // zero tag, where the decoder stops: what it decoded is checked by the handler.
      return undefined;
    }
  };
}
