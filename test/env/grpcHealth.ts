/** A raw grpc.health.v1 Check, as a kubelet `grpc` probe makes it (no generated code). */
import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";
import { Client, credentials, Metadata, status as GrpcCode } from "@grpc/grpc-js";

export const SERVING = 1;
export const NOT_SERVING = 2;

const identity = (value: Buffer): Buffer => value;

/** HealthCheckResponse.status of a raw answer. */
export function healthStatus(bytes: Buffer): number {
  const reader = new BinaryReader(bytes);
  let status = 0;
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) status = reader.int32();
    else reader.skip(wireType);
  }
  return status;
}

/** The gRPC code of the Check call and, when OK, the serving status of `service`. */
export function healthCheck(
  address: string,
  service = "",
): Promise<{ code: number; status?: number }> {
  const client = new Client(address, credentials.createInsecure());
  // HealthCheckRequest { service } (field 1).
  const request = Buffer.from(
    service === "" ? new Uint8Array() : new BinaryWriter().uint32(10).string(service).finish(),
  );
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      identity,
      identity,
      request,
      new Metadata(),
      { deadline: Date.now() + 3_000 },
      (error, response) => {
        client.close();
        if (error === null && response !== undefined)
          resolve({ code: GrpcCode.OK, status: healthStatus(response) });
        else resolve({ code: error?.code ?? GrpcCode.UNKNOWN });
      },
    );
  });
}
