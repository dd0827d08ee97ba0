/** The built-in `log` handler: writes each task as one JSON line and succeeds. */
import type { LeasedTask } from "../../proto/gen/ddq/v1/task.js";
import type { TaskHandler } from "../worker.js";
import { isPrintable } from "./printable.js";

export function logHandler(
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): TaskHandler {
  return (task: LeasedTask) => {
    const text = Buffer.from(task.payload).toString("utf8");
    write(
      JSON.stringify({
        msg: "task",
        id: task.id,
        topic: task.topic,
        attempt: task.attempt,
        payload: isPrintable(text) ? text : Buffer.from(task.payload).toString("base64"),
      }),
    );
    return Promise.resolve(undefined);
  };
}
