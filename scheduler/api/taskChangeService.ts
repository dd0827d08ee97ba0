/**
 * TaskService handlers that change one task not yet delivered (RescheduleTask, RunTaskNow,
 * SetTaskPriority) or delete one dead task (DeleteDead). Each writes one shard: run here when
 * this replica leads it, else forwarded once to its leader (peerRouter.ts).
 */
import {
  TaskServiceService,
  type DeleteDeadRequest,
  type DeleteDeadResponse,
  type RescheduleTaskRequest,
  type RescheduleTaskResponse,
  type RunTaskNowRequest,
  type RunTaskNowResponse,
  type SetTaskPriorityRequest,
  type SetTaskPriorityResponse,
  type TaskServiceServer,
} from "../../proto/gen/ddq/v1/task_service.js";
import { invalidArgument } from "../engine/errors.js";
import type { DueTime } from "../engine/model.js";
import type { Scheduler } from "../scheduler.js";
import type { CallGuard } from "./callGuard.js";
import type { PeerRouter } from "./peerRouter.js";
import { durationMs, timestampMs } from "./protoTime.js";
import { stateToPb } from "./taskMessages.js";

type TaskChangeHandlers = Pick<
  TaskServiceServer,
  "deleteDead" | "rescheduleTask" | "runTaskNow" | "setTaskPriority"
>;

/** The new due time of a RescheduleTask request (INVALID_ARGUMENT naming the field). */
function dueOf(request: RescheduleTaskRequest): DueTime {
  const due = request.due;
  if (due?.$case === "dueTime") return { atMs: timestampMs(due.value, "due_time") ?? 0 };
  if (due?.$case === "delay") return { delayMs: durationMs(due.value, "delay") ?? 0 };
  throw invalidArgument("due_time", "is required (or delay): the task's new due time");
}

export function taskChangeHandlers(
  scheduler: Scheduler,
  guard: CallGuard,
  router: PeerRouter,
): TaskChangeHandlers {
  const changes = scheduler.changes;
  return {
    rescheduleTask: guard.unary<RescheduleTaskRequest, RescheduleTaskResponse>(
      "RescheduleTask",
      async (request, context) => {
        // Checked before forwarding: a bad request is answered by the replica called.
        scheduler.shardOfTask(request.id);
        const due = dueOf(request);
        return router.singleShard(TaskServiceService.rescheduleTask, request, context, async () => {
          const result = await changes.reschedule(request.id, due);
          return {
            state: stateToPb(result.state),
            dueTime: new Date(result.dueAtMs),
            changed: result.changed,
          };
        });
      },
    ),
    runTaskNow: guard.unary<RunTaskNowRequest, RunTaskNowResponse>(
      "RunTaskNow",
      async (request, context) => {
        scheduler.shardOfTask(request.id);
        return router.singleShard(TaskServiceService.runTaskNow, request, context, async () => {
          const result = await changes.runNow(request.id);
          return {
            state: stateToPb(result.state),
            dueTime: new Date(result.dueAtMs),
            changed: result.changed,
          };
        });
      },
    ),
    setTaskPriority: guard.unary<SetTaskPriorityRequest, SetTaskPriorityResponse>(
      "SetTaskPriority",
      async (request, context) => {
        scheduler.shardOfTask(request.id);
        return router.singleShard(
          TaskServiceService.setTaskPriority,
          request,
          context,
          async () => {
            const result = await changes.setPriority(request.id, request.priority);
            return { state: stateToPb(result.state), changed: result.changed };
          },
        );
      },
    ),
    deleteDead: guard.unary<DeleteDeadRequest, DeleteDeadResponse>(
      "DeleteDead",
      async (request, context) => {
        scheduler.shardOfTask(request.id);
        return router.singleShard(TaskServiceService.deleteDead, request, context, () =>
          changes.deleteDead(request.id),
        );
      },
    ),
  };
}
