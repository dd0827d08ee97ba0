/**
 * The typed gRPC client of ddq: producers (enqueue, get, cancel, list, watch), cron, dead letters
 * and the worker calls, as promises. Credentials: a bearer token (sent as call metadata) and
 * optional TLS/mTLS. Errors are grpc-js ServiceErrors; `readStatusDetails` reads field violations
 * (every error that concerns a request field names it in a google.rpc.BadRequest, whatever its
 * code) and retry hints off them, and off an Ack item's refusal through `ackItemError`.
 */
import {
  credentials as grpcCredentials,
  Metadata,
  status as GrpcCode,
  type CallOptions,
  type ChannelCredentials,
  type ClientUnaryCall,
  type ServiceError,
} from "@grpc/grpc-js";
import {
  CronServiceClient,
  type DeleteScheduleResponse,
  type GetScheduleResponse,
  type ListSchedulesResponse,
  type PreviewScheduleResponse,
  type ScheduleSpec,
  type TriggerScheduleResponse,
  type UpsertScheduleResponse,
} from "../proto/gen/ddq/v1/cron_service.js";
import type { Task, TaskSpec as PbTaskSpec } from "../proto/gen/ddq/v1/task.js";
import {
  TaskServiceClient,
  WatchEventsRequest_Start,
  type CancelTaskResponse,
  type CountTasksResponse,
  type DeleteDeadResponse,
  type EnqueueBatchResponse,
  type EnqueueResponse,
  type Event,
  type GetTaskResponse,
  type ListDeadResponse,
  type ListTasksRequest,
  type ListTasksResponse,
  type PurgeDeadResponse,
  type RequeueDeadResponse,
  type RescheduleTaskRequest,
  type RescheduleTaskResponse,
  type RunTaskNowResponse,
  type SetTaskPriorityResponse,
  type WatchEventsResponse,
} from "../proto/gen/ddq/v1/task_service.js";
import {
  WorkerServiceClient,
  type AckItem,
  type AckResponse,
  type ExtendResponse,
  type FailResponse,
  type LeaseRequest,
  type LeaseResponse,
} from "../proto/gen/ddq/v1/worker_service.js";
import { toDuration } from "../scheduler/api/protoTime.js";

export { ackItemError } from "./ackItemError.js";

export interface ClientTls {
  /** CA that signed the server certificate (default: the system roots). */
  caPem?: Buffer;
  /** Client certificate for mTLS. */
  certPem?: Buffer;
  keyPem?: Buffer;
}

export interface ClientOptions {
  /** host:port of a scheduler. */
  address: string;
  /** Bearer token (the scheduler's token file). */
  token?: string;
  /** Unset: plaintext (local development). */
  tls?: ClientTls;
  /** Deadline of unary calls without their own. Default 30 s. */
  timeoutMs?: number;
}

/** Stream errors after which a watch reconnects (connection reset shows as INTERNAL). */
const RECONNECTABLE = new Set<number>([
  GrpcCode.UNAVAILABLE,
  GrpcCode.DEADLINE_EXCEEDED,
  GrpcCode.INTERNAL,
  GrpcCode.CANCELLED,
]);

type Callback<Res> = (error: ServiceError | null, response: Res) => void;
type Invoke<Res> = (
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: Callback<Res>,
) => ClientUnaryCall;

export interface WatchOptions {
  /** Last event id seen per shard; the watch continues after each. */
  resumeAfter?: string[];
  /** Where shards without a resume id start. Default "now". */
  start?: "now" | "oldest";
  topics?: string[];
  signal?: AbortSignal;
}

export class DdqClient {
  readonly tasks: TaskServiceClient;
  readonly cron: CronServiceClient;
  readonly worker: WorkerServiceClient;
  private readonly timeoutMs: number;

  constructor(private readonly options: ClientOptions) {
    const channel: ChannelCredentials =
      options.tls === undefined
        ? grpcCredentials.createInsecure()
        : grpcCredentials.createSsl(
            options.tls.caPem ?? null,
            options.tls.keyPem ?? null,
            options.tls.certPem ?? null,
          );
    const channelOptions = {
      "grpc.max_receive_message_length": 64 * 1024 * 1024,
      "grpc.max_send_message_length": 64 * 1024 * 1024,
      "grpc.keepalive_time_ms": 30_000,
    };
    this.tasks = new TaskServiceClient(options.address, channel, channelOptions);
    // The three share one channel (grpc-js reuses subchannels for equal targets and options).
    this.cron = new CronServiceClient(options.address, channel, channelOptions);
    this.worker = new WorkerServiceClient(options.address, channel, channelOptions);
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  metadata(): Metadata {
    const metadata = new Metadata();
    if (this.options.token !== undefined)
      metadata.set("authorization", `Bearer ${this.options.token}`);
    return metadata;
  }

  private invoke<Res>(
    call: Invoke<Res>,
    timeoutMs = this.timeoutMs,
    signal?: AbortSignal,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const pending = call(
        this.metadata(),
        { deadline: Date.now() + timeoutMs },
        (error, response) => {
          signal?.removeEventListener("abort", cancel);
          if (error === null) resolve(response);
          else reject(error);
        },
      );
      function cancel(): void {
        pending.cancel();
      }
      signal?.addEventListener("abort", cancel, { once: true });
    });
  }

  // --- TaskService -----------------------------------------------------------------------

  enqueue(task: PbTaskSpec): Promise<EnqueueResponse> {
    return this.invoke((m, o, c) => this.tasks.enqueue({ task }, m, o, c));
  }

  enqueueBatch(tasks: PbTaskSpec[]): Promise<EnqueueBatchResponse> {
    return this.invoke((m, o, c) => this.tasks.enqueueBatch({ tasks }, m, o, c));
  }

  async get(id: string): Promise<Task> {
    const response = await this.invoke<GetTaskResponse>((m, o, c) =>
      this.tasks.getTask({ id }, m, o, c),
    );
    if (response.task === undefined) throw new Error(`GetTask ${id} answered without a task`);
    return response.task;
  }

  cancel(id: string): Promise<CancelTaskResponse> {
    return this.invoke((m, o, c) => this.tasks.cancelTask({ id }, m, o, c));
  }

  list(
    request: Partial<ListTasksRequest> & Pick<ListTasksRequest, "state">,
  ): Promise<ListTasksResponse> {
    const full: ListTasksRequest = {
      topic: "",
      ownerUid: "",
      pageSize: 0,
      pageToken: "",
      ...request,
    };
    return this.invoke((m, o, c) => this.tasks.listTasks(full, m, o, c));
  }

  counts(topic = ""): Promise<CountTasksResponse> {
    return this.invoke((m, o, c) => this.tasks.countTasks({ topic }, m, o, c));
  }

  listDead(topic = "", pageSize = 0, pageToken = ""): Promise<ListDeadResponse> {
    return this.invoke((m, o, c) => this.tasks.listDead({ topic, pageSize, pageToken }, m, o, c));
  }

  requeueDead(id: string): Promise<RequeueDeadResponse> {
    return this.invoke((m, o, c) => this.tasks.requeueDead({ id }, m, o, c));
  }

  purgeDead(topic = "", diedBefore?: Date): Promise<PurgeDeadResponse> {
    return this.invoke((m, o, c) =>
      this.tasks.purgeDead(diedBefore === undefined ? { topic } : { topic, diedBefore }, m, o, c),
    );
  }

  /** Deletes one dead task; `deleted` is false for a resend. */
  deleteDead(id: string): Promise<DeleteDeadResponse> {
    return this.invoke((m, o, c) => this.tasks.deleteDead({ id }, m, o, c));
  }

  /** Moves a scheduled task's due time: a Date, or `{ delayMs }` from now (Redis time). */
  reschedule(id: string, due: Date | { delayMs: number }): Promise<RescheduleTaskResponse> {
    const request: RescheduleTaskRequest = {
      id,
      due:
        due instanceof Date
          ? { $case: "dueTime", value: due }
          : { $case: "delay", value: toDuration(due.delayMs) },
    };
    return this.invoke((m, o, c) => this.tasks.rescheduleTask(request, m, o, c));
  }

  /** Makes a scheduled task ready now (`changed` is false if it was ready already). */
  runNow(id: string): Promise<RunTaskNowResponse> {
    return this.invoke((m, o, c) => this.tasks.runTaskNow({ id }, m, o, c));
  }

  /** Changes a scheduled or ready task's priority (0..1000). */
  setPriority(id: string, priority: number): Promise<SetTaskPriorityResponse> {
    return this.invoke((m, o, c) => this.tasks.setTaskPriority({ id, priority }, m, o, c));
  }

  /**
   * One WatchEvents stream as an async iterator of event batches. It ends when the server ends
   * the stream or the signal aborts; errors (OUT_OF_RANGE for a gap) are thrown.
   * `watchResumable` reconnects on its own.
   */
  async *watchOnce(options: WatchOptions = {}): AsyncGenerator<WatchEventsResponse> {
    const stream = this.tasks.watchEvents(
      {
        resumeAfter: options.resumeAfter ?? [],
        start:
          options.start === "oldest"
            ? WatchEventsRequest_Start.START_OLDEST
            : WatchEventsRequest_Start.START_NOW,
        topics: options.topics ?? [],
      },
      this.metadata(),
    );
    const abort = (): void => {
      stream.cancel();
    };
    options.signal?.addEventListener("abort", abort, { once: true });
    try {
      for await (const response of stream as AsyncIterable<WatchEventsResponse>) {
        yield response;
      }
    } catch (error) {
      if (options.signal?.aborted === true) return;
      throw error;
    } finally {
      options.signal?.removeEventListener("abort", abort);
      stream.cancel();
    }
  }

  /**
   * Events across reconnects: after a dropped stream it resumes after the last event seen on
   * each shard, so no event is missed or repeated. A gap (OUT_OF_RANGE) is thrown to the caller.
   */
  async *watch(options: WatchOptions & { retryDelayMs?: number } = {}): AsyncGenerator<Event> {
    const last = new Map<number, string>();
    for (const id of options.resumeAfter ?? []) last.set(Number(id.split(":")[0]), id);
    const start = options.start ?? "now";
    let delay = options.retryDelayMs ?? 200;
    while (options.signal?.aborted !== true) {
      try {
        const batches = this.watchOnce({ ...options, resumeAfter: [...last.values()], start });
        for await (const { events, positions } of batches) {
          delay = options.retryDelayMs ?? 200;
          for (const position of positions) {
            const shard = Number(position.split(":")[0]);
            if (!last.has(shard)) last.set(shard, position);
          }
          for (const event of events) {
            last.set(event.shard, event.eventId);
            yield event;
          }
        }
      } catch (error) {
        const code: number | undefined = (error as Partial<ServiceError>).code;
        if (code === undefined || !RECONNECTABLE.has(code)) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 5_000);
    }
  }

  // --- CronService -----------------------------------------------------------------------

  upsertSchedule(spec: ScheduleSpec): Promise<UpsertScheduleResponse> {
    return this.invoke((m, o, c) => this.cron.upsertSchedule({ spec }, m, o, c));
  }

  getSchedule(id: string): Promise<GetScheduleResponse> {
    return this.invoke((m, o, c) => this.cron.getSchedule({ id }, m, o, c));
  }

  deleteSchedule(id: string): Promise<DeleteScheduleResponse> {
    return this.invoke((m, o, c) => this.cron.deleteSchedule({ id }, m, o, c));
  }

  listSchedules(pageSize = 0, pageToken = ""): Promise<ListSchedulesResponse> {
    return this.invoke((m, o, c) => this.cron.listSchedules({ pageSize, pageToken }, m, o, c));
  }

  pauseSchedule(id: string): Promise<object> {
    return this.invoke((m, o, c) => this.cron.pauseSchedule({ id }, m, o, c));
  }

  resumeSchedule(id: string): Promise<object> {
    return this.invoke((m, o, c) => this.cron.resumeSchedule({ id }, m, o, c));
  }

  /** `requestId`: a resend with the same id returns the first call's occurrence (API.md). */
  triggerSchedule(id: string, requestId = ""): Promise<TriggerScheduleResponse> {
    return this.invoke((m, o, c) => this.cron.triggerSchedule({ id, requestId }, m, o, c));
  }

  /** The next fires of a stored schedule (`from`: after this instant, default now). */
  previewSchedule(id: string, count = 10, from?: Date): Promise<PreviewScheduleResponse> {
    const request = { id, count, ...(from === undefined ? {} : { fromTime: from }) };
    return this.invoke((m, o, c) => this.cron.previewSchedule(request, m, o, c));
  }

  /** The next fires of a spec that is not saved (checked as UpsertSchedule checks it). */
  previewSpec(spec: ScheduleSpec, count = 10, from?: Date): Promise<PreviewScheduleResponse> {
    const request = { id: "", spec, count, ...(from === undefined ? {} : { fromTime: from }) };
    return this.invoke((m, o, c) => this.cron.previewSchedule(request, m, o, c));
  }

  // --- WorkerService ---------------------------------------------------------------------

  /** A long-poll; `signal` cancels it (the call ends with CANCELLED). */
  lease(
    request: Partial<LeaseRequest> & Pick<LeaseRequest, "topics" | "max">,
    signal?: AbortSignal,
  ): Promise<LeaseResponse> {
    const full: LeaseRequest = { requestId: "", ...request };
    const waitMs = (full.wait?.seconds ?? 0) * 1000 + (full.wait?.nanos ?? 0) / 1e6;
    return this.invoke(
      (m, o, c) => this.worker.lease(full, m, o, c),
      waitMs + this.timeoutMs,
      signal,
    );
  }

  extend(
    id: string,
    topic: string,
    leaseToken: string,
    extendByMs: number,
  ): Promise<ExtendResponse> {
    const extendBy = toDuration(extendByMs);
    return this.invoke((m, o, c) =>
      this.worker.extend({ id, topic, leaseToken, extendBy }, m, o, c),
    );
  }

  ack(items: AckItem[]): Promise<AckResponse> {
    return this.invoke((m, o, c) => this.worker.ack({ items }, m, o, c));
  }

  fail(
    id: string,
    topic: string,
    leaseToken: string,
    error: string,
    retryable = true,
  ): Promise<FailResponse> {
    return this.invoke((m, o, c) =>
      this.worker.fail({ id, topic, leaseToken, error, retryable }, m, o, c),
    );
  }

  close(): void {
    this.tasks.close();
    this.cron.close();
    this.worker.close();
  }
}
