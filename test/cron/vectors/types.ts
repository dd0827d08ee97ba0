/** The shapes of the cron test vectors (test/cron/vectors.test.ts). */
import type { CronTiming } from "../../../scheduler/cron/cronSchedule.js";

export type Extra = Omit<CronTiming, "schedules">;

export interface NextVector {
  /** Where the expected answer comes from (see vectors.test.ts). */
  source: string;
  spec: string;
  /** The instant asked after (ISO 8601 with an offset). */
  after: string;
  /** The next fires in order (ISO 8601 with an offset). */
  next: string[];
  timing?: Extra;
}

export interface ActivationVector {
  source: string;
  spec: string;
  at: string;
  fires: boolean;
}

export interface RefusedVector {
  source: string;
  spec: string;
}
