/**
 * The call table of CronService and grpc.health.v1.Health for reflectionCalls.test.ts: one step
 * per RPC, in an order where each finds what the earlier ones left.
 */
import { expect } from "vitest";
import { at, list, type AuthorizedCall, type CallStep, type Grpcurl } from "./reflectionGrpcurl.js";

const NOT_FOUND = 5;

export function cronAndHealthCalls(
  grpcurl: Grpcurl,
  call: AuthorizedCall,
  auth: string[],
): CallStep[] {
  const schedule = "reflect-cron";
  const suspended = async (): Promise<unknown> =>
    at(await call("ddq.v1.CronService.GetSchedule", { id: schedule }), "schedule.status.suspended");
  return [
    {
      method: "ddq.v1.CronService.UpsertSchedule",
      run: async () => {
        const answer = await call("ddq.v1.CronService.UpsertSchedule", {
          spec: {
            id: schedule,
            schedules: ["0 0 1 1 *"],
            timeZone: "UTC",
            task: { topic: "reflect.cron" },
          },
        });
        expect(answer).toMatchObject({ created: true, generation: "1" });
        expect(answer.nextScheduleTime).toMatch(/^\d{4}-01-01T00:00:00Z$/);
      },
    },
    {
      method: "ddq.v1.CronService.GetSchedule",
      run: async () => {
        const answer = await call("ddq.v1.CronService.GetSchedule", { id: schedule });
        expect(answer.schedule).toMatchObject({
          spec: { id: schedule, schedules: ["0 0 1 1 *"], timeZone: "UTC" },
          status: { generation: "1", suspended: false },
        });
      },
    },
    {
      method: "ddq.v1.CronService.ListSchedules",
      run: async () => {
        const answer = await call("ddq.v1.CronService.ListSchedules", {});
        expect(list(answer, "schedules").map((s) => at(s, "spec.id"))).toEqual([schedule]);
      },
    },
    {
      method: "ddq.v1.CronService.PreviewSchedule",
      run: async () => {
        const answer = await call("ddq.v1.CronService.PreviewSchedule", { id: schedule, count: 3 });
        const fires = list(answer, "fires").map((fire) => String(fire.time));
        expect(answer.timeZone).toBe("UTC");
        expect(fires).toHaveLength(3);
        const years = fires.map((time) => Number(time.slice(0, 4)));
        expect(fires.every((time) => time.endsWith("-01-01T00:00:00Z"))).toBe(true);
        expect(years).toEqual([years[0], (years[0] ?? 0) + 1, (years[0] ?? 0) + 2]);
      },
    },
    {
      method: "ddq.v1.CronService.PauseSchedule",
      run: async () => {
        expect(await call("ddq.v1.CronService.PauseSchedule", { id: schedule })).toEqual({});
        expect(await suspended()).toBe(true);
      },
    },
    {
      method: "ddq.v1.CronService.ResumeSchedule",
      run: async () => {
        expect(await call("ddq.v1.CronService.ResumeSchedule", { id: schedule })).toEqual({});
        expect(await suspended()).toBe(false);
      },
    },
    {
      method: "ddq.v1.CronService.TriggerSchedule",
      run: async () => {
        const request = { id: schedule, requestId: "manual-1" };
        const answer = await call("ddq.v1.CronService.TriggerSchedule", request);
        expect(answer.occurrenceId).toMatch(/.+/);
        // A resend with the same request id returns the same occurrence.
        expect(await call("ddq.v1.CronService.TriggerSchedule", request)).toEqual(answer);
      },
    },
    {
      method: "ddq.v1.CronService.DeleteSchedule",
      run: async () => {
        const deleted = { id: schedule };
        expect(await call("ddq.v1.CronService.DeleteSchedule", deleted)).toEqual({ deleted: true });
        // A resend is safe: OK, with nothing deleted.
        expect(await call("ddq.v1.CronService.DeleteSchedule", deleted)).toEqual({
          deleted: false,
        });
        const gone = await grpcurl.fail("ddq.v1.CronService.GetSchedule", { id: schedule }, auth);
        expect(gone.code).toBe(NOT_FOUND);
      },
    },
    {
      method: "grpc.health.v1.Health.Check",
      run: async () => {
        for (const service of ["", "ddq.v1.TaskService", "ddq.v1.CronService"]) {
          const answer = await grpcurl.call("grpc.health.v1.Health.Check", { service });
          expect(answer).toEqual({ status: "SERVING" });
        }
      },
    },
    {
      method: "grpc.health.v1.Health.List",
      run: async () => {
        const answer = await grpcurl.call("grpc.health.v1.Health.List", {});
        expect(answer.statuses).toMatchObject({
          "ddq.v1.WorkerService": { status: "SERVING" },
        });
      },
    },
    {
      method: "grpc.health.v1.Health.Watch",
      run: async () => {
        const messages = await grpcurl.stream("grpc.health.v1.Health.Watch", { service: "" }, 6);
        expect(messages[0]).toEqual({ status: "SERVING" });
      },
    },
  ];
}
