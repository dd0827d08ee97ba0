/**
 * Forwarding between scheduler replicas. Each replica leads some shards; a write for a shard it
 * does not lead (a task id's shard, an idempotency key's shard, a schedule's shard) goes to that
 * shard's leader, whose address the leader recorded when it took the shard. A forwarded call
 * carries `ddq-forwarded-by` and is never forwarded again: a stale route ends as UNAVAILABLE,
 * which clients retry. The caller's `authorization` travels with the call.
 */
import { Client, Metadata, type ChannelCredentials, type ServiceError } from "@grpc/grpc-js";
import { DdqError } from "../engine/errors.js";
import type { Scheduler } from "../scheduler.js";
import type { CallContext } from "./callGuard.js";

/** Header of a call one replica forwarded to another. */
export const FORWARDED_BY = "ddq-forwarded-by";

/** What a generated ts-proto method definition provides for a unary call. */
export interface UnaryMethod<Req, Res> {
  path: string;
  requestSerialize: (value: Req) => Buffer;
  responseDeserialize: (value: Buffer) => Res;
}

export class PeerRouter {
  private readonly clients = new Map<string, Client>();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly credentials: ChannelCredentials,
    private readonly serverName?: string,
  ) {}

  /** True when this call was forwarded by another replica (it must be served here). */
  static isForwarded(context: CallContext): boolean {
    return context.metadata.get(FORWARDED_BY).length > 0;
  }

  private client(address: string): Client {
    let client = this.clients.get(address);
    if (client === undefined) {
      client = new Client(address, this.credentials, {
        "grpc.max_receive_message_length": 64 * 1024 * 1024,
        "grpc.max_send_message_length": 64 * 1024 * 1024,
        ...(this.serverName === undefined
          ? {}
          : { "grpc.ssl_target_name_override": this.serverName }),
      });
      this.clients.set(address, client);
    }
    return client;
  }

  /** The leader's address for `shard`; NOT_LEADER (UNAVAILABLE to clients) when none is known. */
  async addressOf(shard: number): Promise<string> {
    const address = await this.scheduler.leaderAddress(shard);
    if (address === undefined) {
      throw new DdqError(
        "NOT_LEADER",
        `no known leader for shard ${shard}; retry shortly`,
        undefined,
        shard,
      );
    }
    return address;
  }

  /** Sends `request` to the leader of `shard` and answers with its response (or its error). */
  async forward<Req, Res>(
    shard: number,
    method: UnaryMethod<Req, Res>,
    request: Req,
    context: CallContext,
  ): Promise<Res> {
    return this.forwardTo(await this.addressOf(shard), method, request, context);
  }

  /**
   * Sends `request` to the replica at `address`, with the call's deadline (the peer gets what
   * remains of it) and cancellation; nothing is sent once the call was aborted.
   */
  forwardTo<Req, Res>(
    address: string,
    method: UnaryMethod<Req, Res>,
    request: Req,
    context: CallContext,
  ): Promise<Res> {
    // The reason is the status the call answers (see CallContext.signal).
    if (context.signal.aborted) return Promise.reject(context.signal.reason as Error);
    const metadata = new Metadata();
    for (const value of context.metadata.get("authorization")) metadata.add("authorization", value);
    metadata.set(FORWARDED_BY, this.scheduler.identity);
    const deadline = Number.isFinite(context.deadlineMs) ? context.deadlineMs : Date.now() + 30_000;
    return new Promise<Res>((resolve, reject) => {
      const call = this.client(address).makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        metadata,
        { deadline },
        (error: ServiceError | null, response?: Res) => {
          context.signal.removeEventListener("abort", cancel);
          if (error !== null) reject(error);
          else if (response === undefined)
            reject(new Error(`${method.path}: empty answer from ${address}`));
          else resolve(response);
        },
      );
      function cancel(): void {
        call.cancel();
      }
      context.signal.addEventListener("abort", cancel, { once: true });
    });
  }

  /**
   * Runs `local`; if it needs a shard this replica does not lead (NOT_LEADER naming the shard)
   * and the call was not forwarded already, forwards the whole request to that shard's leader.
   * Only for calls that write one shard, so that nothing was written here before the refusal.
   */
  async singleShard<Req, Res>(
    method: UnaryMethod<Req, Res>,
    request: Req,
    context: CallContext,
    local: () => Promise<Res>,
  ): Promise<Res> {
    try {
      return await local();
    } catch (error) {
      if (
        !(error instanceof DdqError) ||
        error.code !== "NOT_LEADER" ||
        error.shard === undefined ||
        PeerRouter.isForwarded(context)
      ) {
        throw error;
      }
      return this.forward(error.shard, method, request, context);
    }
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
