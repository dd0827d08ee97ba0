/**
 * The call table of TaskService and WorkerService for reflectionCalls.test.ts: one step per RPC,
 * in an order where each finds what the earlier ones left, each checking a meaningful answer.
 */
import { expect } from "vitest";
import {
  at,
  list,
  type AuthorizedCall,
  type CallStep,
  type Grpcurl,
  type JsonObject,
} from "./reflectionGrpcurl.js";

export function taskAndWorkerCalls(
  grpcurl: Grpcurl,
  call: AuthorizedCall,
  auth: string[],
): CallStep[] {
  let doneId = "";
  let failId = "";
  let laterIds: string[] = [];
  let lease: JsonObject = {};
  const leaseOne = async (topic: string, id: string): Promise<JsonObject> => {
    const leased = await call("ddq.v1.WorkerService.Lease", { topics: [topic], max: 1 });
    const [task] = list(leased, "tasks");
    expect(task).toMatchObject({ id, topic });
    expect(task?.leaseToken).toEqual(expect.any(String));
    return task ?? {};
  };
  const leaseAndFail = async (): Promise<void> => {
    const task = await leaseOne("reflect.fail", failId);
    const failed = await call("ddq.v1.WorkerService.Fail", {
      id: failId,
      topic: "reflect.fail",
      leaseToken: task.leaseToken,
      error: "boom",
    });
    expect(failed.outcome).toBe("OUTCOME_DEAD");
  };
  return [
    {
      method: "ddq.v1.TaskService.Enqueue",
      run: async () => {
        const request = { task: { topic: "reflect.done", payload: "aGk=", idempotencyKey: "k1" } };
        const answer = await call("ddq.v1.TaskService.Enqueue", request);
        expect(answer).toMatchObject({ created: true, task: { topic: "reflect.done" } });
        doneId = String(at(answer, "task.id"));
        const again = await call("ddq.v1.TaskService.Enqueue", request);
        expect(again).toMatchObject({ created: false, task: { id: doneId } });
      },
    },
    {
      method: "ddq.v1.TaskService.GetTask",
      run: async () => {
        const answer = await call("ddq.v1.TaskService.GetTask", { id: doneId });
        expect(answer.task).toMatchObject({
          id: doneId,
          topic: "reflect.done",
          state: "TASK_STATE_READY",
          payload: "aGk=",
        });
      },
    },
    {
      method: "ddq.v1.WorkerService.Lease",
      run: async () => {
        lease = await leaseOne("reflect.done", doneId);
        expect(lease).toMatchObject({ attempt: 1, payload: "aGk=" });
      },
    },
    {
      method: "ddq.v1.WorkerService.Extend",
      run: async () => {
        const answer = await call("ddq.v1.WorkerService.Extend", {
          id: doneId,
          topic: "reflect.done",
          leaseToken: lease.leaseToken,
          extendBy: "60s",
        });
        expect(Date.parse(String(answer.leaseExpireTime))).toBeGreaterThan(
          Date.parse(String(lease.leaseExpireTime)),
        );
        expect(answer.cancelRequested).toBe(false);
      },
    },
    {
      method: "ddq.v1.WorkerService.Ack",
      run: async () => {
        const answer = await call("ddq.v1.WorkerService.Ack", {
          items: [
            { id: doneId, topic: "reflect.done", leaseToken: lease.leaseToken, result: "b2s=" },
          ],
        });
        // An accepted item has no status (grpcurl prints the unset message as null).
        expect(answer.results).toEqual([{ code: 0, message: "", status: null }]);
        const task = await call("ddq.v1.TaskService.GetTask", { id: doneId });
        expect(task.task).toMatchObject({ state: "TASK_STATE_SUCCEEDED", result: "b2s=" });
      },
    },
    {
      method: "ddq.v1.WorkerService.Fail",
      run: async () => {
        const answer = await call("ddq.v1.TaskService.Enqueue", {
          task: { topic: "reflect.fail", maxAttempts: 1 },
        });
        failId = String(at(answer, "task.id"));
        await leaseAndFail();
      },
    },
    {
      method: "ddq.v1.TaskService.ListDead",
      run: async () => {
        const answer = await call("ddq.v1.TaskService.ListDead", { topic: "reflect.fail" });
        expect(list(answer, "tasks").map((task) => [task.id, task.state, task.lastError])).toEqual([
          [failId, "TASK_STATE_DEAD", "boom"],
        ]);
      },
    },
    {
      method: "ddq.v1.TaskService.RequeueDead",
      run: async () => {
        const answer = await call("ddq.v1.TaskService.RequeueDead", { id: failId });
        expect(answer).toEqual({ requeued: true, state: "TASK_STATE_READY" });
      },
    },
    {
      method: "ddq.v1.TaskService.PurgeDead",
      run: async () => {
        await leaseAndFail();
        const answer = await call("ddq.v1.TaskService.PurgeDead", {
          topic: "reflect.fail",
          diedBefore: new Date(Date.now() + 3_600_000).toISOString(),
        });
        expect(answer).toEqual({ purged: "1" });
        const dead = await call("ddq.v1.TaskService.ListDead", { topic: "reflect.fail" });
        expect(dead.tasks).toEqual([]);
      },
    },
    {
      method: "ddq.v1.TaskService.EnqueueBatch",
      run: async () => {
        const later = { topic: "reflect.later", delay: "3600s" };
        const answer = await call("ddq.v1.TaskService.EnqueueBatch", {
          tasks: [later, { ...later, priority: 5 }],
        });
        const results = list(answer, "results");
        expect(results.map((r) => [r.created, at(r, "task.state")])).toEqual([
          [true, "TASK_STATE_SCHEDULED"],
          [true, "TASK_STATE_SCHEDULED"],
        ]);
        laterIds = results.map((r) => String(at(r, "task.id")));
      },
    },
    {
      method: "ddq.v1.TaskService.ListTasks",
      run: async () => {
        const answer = await call("ddq.v1.TaskService.ListTasks", {
          state: "TASK_STATE_SCHEDULED",
          topic: "reflect.later",
        });
        expect(list(answer, "tasks").map((task) => task.id)).toEqual(
          expect.arrayContaining(laterIds),
        );
        expect(answer.nextPageToken).toBe("");
      },
    },
    {
      method: "ddq.v1.TaskService.CancelTask",
      run: async () => {
        const answer = await call("ddq.v1.TaskService.CancelTask", { id: laterIds[1] });
        expect(answer).toEqual({ outcome: "OUTCOME_CANCELLED", state: "TASK_STATE_CANCELLED" });
      },
    },
    {
      method: "ddq.v1.TaskService.CountTasks",
      run: async () => {
        const answer = await call("ddq.v1.TaskService.CountTasks", { topic: "reflect.later" });
        expect(list(answer, "topics")).toEqual([
          expect.objectContaining({ topic: "reflect.later", scheduled: "1", cancelled: "1" }),
        ]);
      },
    },
    {
      method: "ddq.v1.TaskService.WatchEvents",
      run: async () => {
        const messages = await grpcurl.stream(
          "ddq.v1.TaskService.WatchEvents",
          { start: "START_OLDEST", topics: ["reflect.done"] },
          12,
          auth,
        );
        const events = messages
          .flatMap((message) => list(message, "events"))
          .filter((event) => event.taskId === doneId)
          .map((event) => event.type);
        expect(events).toEqual(
          expect.arrayContaining(["EVENT_TYPE_READY", "EVENT_TYPE_LEASED", "EVENT_TYPE_SUCCEEDED"]),
        );
      },
    },
  ];
}
