import { describe, expect, it } from "vitest";
import {
  compileCronTiming,
  type CronTiming,
  type DstFoldPolicy,
  type DstGapPolicy,
} from "../../scheduler/cron/cronSchedule.js";
import { nextFireAfter, previewFires } from "../../scheduler/cron/nextFire.js";

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

/** The fires in (fromIso, toIso), as ISO strings. */
function firesBetween(timing: CronTiming, fromIso: string, toIso: string): string[] {
  const schedule = compileCronTiming(timing);
  const end = at(toIso);
  const fires: string[] = [];
  let after = at(fromIso);
  for (;;) {
    const next = nextFireAfter(schedule, after);
    if (next === undefined || next >= end) return fires;
    if (next <= after) throw new Error("fires must increase");
    fires.push(new Date(next).toISOString());
    after = next;
  }
}

const NY = "America/New_York";

describe("New York spring forward (2026-03-08, 02:00 EST -> 03:00 EDT at 07:00Z)", () => {
  it("30 2 * * * fires at the transition (07:00Z = 03:00 EDT) with shift", () => {
    const timing: CronTiming = { schedules: ["30 2 * * *"], timeZone: NY };
    expect(iso(nextFireAfter(timing, at("2026-03-07T08:00:00Z")))).toBe("2026-03-08T07:00:00.000Z");
    expect(firesBetween(timing, "2026-03-06T00:00:00Z", "2026-03-10T00:00:00Z")).toEqual([
      "2026-03-06T07:30:00.000Z",
      "2026-03-07T07:30:00.000Z",
      "2026-03-08T07:00:00.000Z",
      "2026-03-09T06:30:00.000Z",
    ]);
  });

  it("30 2 * * * does not fire that day with skip", () => {
    const timing: CronTiming = { schedules: ["30 2 * * *"], timeZone: NY, dstGap: "skip" };
    expect(iso(nextFireAfter(timing, at("2026-03-07T08:00:00Z")))).toBe("2026-03-09T06:30:00.000Z");
  });

  it("every minute: the gap's 60 wall minutes and 03:00 all map to 07:00Z, fired once", () => {
    const fires = firesBetween(
      { schedules: ["* * * * *"], timeZone: NY },
      "2026-03-08T06:57:59Z",
      "2026-03-08T07:03:00Z",
    );
    expect(fires).toEqual([
      "2026-03-08T06:58:00.000Z",
      "2026-03-08T06:59:00.000Z",
      "2026-03-08T07:00:00.000Z",
      "2026-03-08T07:01:00.000Z",
      "2026-03-08T07:02:00.000Z",
    ]);
    // Every real minute fires exactly once: 4 hours = 240 fires.
    expect(
      firesBetween(
        { schedules: ["* * * * *"], timeZone: NY },
        "2026-03-08T04:59:59Z",
        "2026-03-08T09:00:00Z",
      ),
    ).toHaveLength(240);
  });

  it("a 6-field schedule inside the gap fires once at the transition", () => {
    expect(
      firesBetween(
        { schedules: ["*/20 * 2 * * *"], timeZone: NY },
        "2026-03-08T06:00:00Z",
        "2026-03-09T07:00:00Z",
      ),
    ).toEqual([
      "2026-03-08T07:00:00.000Z",
      ...Array.from({ length: 180 }, (_, i) =>
        new Date(at("2026-03-09T06:00:00Z") + i * 20_000).toISOString(),
      ),
    ]);
  });

  it("@hourly: 02:00 does not exist and shares 07:00Z with 03:00", () => {
    expect(
      firesBetween(
        { schedules: ["@hourly"], timeZone: NY },
        "2026-03-08T05:30:00Z",
        "2026-03-08T08:30:00Z",
      ),
    ).toEqual(["2026-03-08T06:00:00.000Z", "2026-03-08T07:00:00.000Z", "2026-03-08T08:00:00.000Z"]);
  });
});

describe("New York fall back (2026-11-01, 02:00 EDT -> 01:00 EST at 06:00Z)", () => {
  it.each<[DstFoldPolicy, string]>([
    ["first", "2026-11-01T05:30:00.000Z"],
    ["last", "2026-11-01T06:30:00.000Z"],
  ])("30 1 * * * with %s fires at %s, and only once", (dstFold, expected) => {
    const timing: CronTiming = { schedules: ["30 1 * * *"], timeZone: NY, dstFold };
    expect(firesBetween(timing, "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z")).toEqual([
      expected,
      "2026-11-02T06:30:00.000Z",
    ]);
  });

  it("every minute through the fold fires 60 times at 01:xx with first, not 120", () => {
    const fires = firesBetween(
      { schedules: ["* * * * *"], timeZone: NY },
      "2026-11-01T03:59:59Z",
      "2026-11-01T08:00:00Z",
    );
    // 04:00Z..05:59Z (00:00-01:59 EDT), then 07:00Z..07:59Z (02:00-02:59 EST): 180 fires.
    expect(fires).toHaveLength(180);
    const oneOClock = previewFires(
      { schedules: ["* * * * *"], timeZone: NY },
      at("2026-11-01T04:00:00Z"),
      180,
    ).filter((fire) => fire.wallClock.startsWith("2026-11-01T01:"));
    expect(oneOClock).toHaveLength(60);
    expect(oneOClock.every((fire) => fire.wallClock.endsWith("-04:00"))).toBe(true);
    expect(fires).toContain("2026-11-01T05:59:00.000Z");
    expect(fires).not.toContain("2026-11-01T06:00:00.000Z");
    expect(fires).toContain("2026-11-01T07:00:00.000Z");
  });

  it("every minute through the fold with last: the first pass through 01:xx is silent", () => {
    const fires = firesBetween(
      { schedules: ["* * * * *"], timeZone: NY, dstFold: "last" },
      "2026-11-01T03:59:59Z",
      "2026-11-01T08:00:00Z",
    );
    expect(fires).toHaveLength(180);
    expect(fires).toContain("2026-11-01T04:59:00.000Z");
    expect(fires).not.toContain("2026-11-01T05:00:00.000Z");
    expect(fires).not.toContain("2026-11-01T05:59:00.000Z");
    expect(fires).toContain("2026-11-01T06:00:00.000Z");
    // Asked from inside the first pass, the next fire is the start of the second pass.
    expect(
      iso(
        nextFireAfter(
          { schedules: ["* * * * *"], timeZone: NY, dstFold: "last" },
          at("2026-11-01T05:30:00Z"),
        ),
      ),
    ).toBe("2026-11-01T06:00:00.000Z");
    // Asked from inside the second pass with first, the next fire is after the fold.
    expect(
      iso(nextFireAfter({ schedules: ["* * * * *"], timeZone: NY }, at("2026-11-01T06:30:00Z"))),
    ).toBe("2026-11-01T07:00:00.000Z");
  });
});

describe("Europe/Berlin (2026-03-29 02:00 -> 03:00 at 01:00Z; 2026-10-25 03:00 -> 02:00 at 01:00Z)", () => {
  const berlin = (dstGap: DstGapPolicy, dstFold: DstFoldPolicy): CronTiming => ({
    schedules: ["30 2 * * *"],
    timeZone: "Europe/Berlin",
    dstGap,
    dstFold,
  });

  it("spring forward", () => {
    expect(iso(nextFireAfter(berlin("shift", "first"), at("2026-03-28T12:00:00Z")))).toBe(
      "2026-03-29T01:00:00.000Z",
    );
    expect(iso(nextFireAfter(berlin("skip", "first"), at("2026-03-28T12:00:00Z")))).toBe(
      "2026-03-30T00:30:00.000Z",
    );
  });

  it("fall back", () => {
    expect(iso(nextFireAfter(berlin("shift", "first"), at("2026-10-24T12:00:00Z")))).toBe(
      "2026-10-25T00:30:00.000Z",
    );
    expect(iso(nextFireAfter(berlin("shift", "last"), at("2026-10-24T12:00:00Z")))).toBe(
      "2026-10-25T01:30:00.000Z",
    );
    expect(
      firesBetween(berlin("shift", "last"), "2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z"),
    ).toEqual(["2026-10-25T01:30:00.000Z", "2026-10-26T01:30:00.000Z"]);
  });
});

describe("Australia/Lord_Howe (30-minute shifts)", () => {
  const LH = "Australia/Lord_Howe";

  it("spring forward on 2026-10-04: 02:00 -> 02:30 (+10:30 -> +11:00) at 15:30Z", () => {
    expect(
      iso(nextFireAfter({ schedules: ["15 2 * * *"], timeZone: LH }, at("2026-10-03T00:00:00Z"))),
    ).toBe("2026-10-03T15:30:00.000Z");
    expect(
      iso(
        nextFireAfter(
          { schedules: ["15 2 * * *"], timeZone: LH, dstGap: "skip" },
          at("2026-10-03T00:00:00Z"),
        ),
      ),
    ).toBe("2026-10-04T15:15:00.000Z");
    const preview = previewFires(
      { schedules: ["*/10 * * * *"], timeZone: LH },
      at("2026-10-03T15:15:00Z"),
      4,
    );
    expect(preview.map((fire) => fire.wallClock)).toEqual([
      "2026-10-04T01:50:00+10:30",
      "2026-10-04T02:30:00+11:00", // 02:00, 02:10, 02:20 (gap) and 02:30: one fire
      "2026-10-04T02:40:00+11:00",
      "2026-10-04T02:50:00+11:00",
    ]);
  });

  it("fall back on 2026-04-05: 02:00 -> 01:30 (+11:00 -> +10:30) at 15:00Z", () => {
    const first: CronTiming = { schedules: ["45 1 * * *"], timeZone: LH };
    const last: CronTiming = { ...first, dstFold: "last" };
    expect(iso(nextFireAfter(first, at("2026-04-04T00:00:00Z")))).toBe("2026-04-04T14:45:00.000Z");
    expect(iso(nextFireAfter(last, at("2026-04-04T00:00:00Z")))).toBe("2026-04-04T15:15:00.000Z");
    // The next day is all standard time: 01:45 +10:30.
    expect(iso(nextFireAfter(first, at("2026-04-04T14:45:00Z")))).toBe("2026-04-05T15:15:00.000Z");
    expect(
      previewFires(
        { schedules: ["*/15 * * * *"], timeZone: LH },
        at("2026-04-04T14:20:00Z"),
        4,
      ).map((fire) => fire.wallClock),
    ).toEqual([
      "2026-04-05T01:30:00+11:00",
      "2026-04-05T01:45:00+11:00",
      "2026-04-05T02:00:00+10:30", // 01:30 and 01:45 +10:30 are the second pass: not fired
      "2026-04-05T02:15:00+10:30",
    ]);
  });
});

describe("zones without DST and with odd offsets", () => {
  it("Asia/Tokyo: 09:00 JST is 00:00Z every day, no surprises around other zones' transitions", () => {
    expect(
      firesBetween(
        { schedules: ["0 9 * * *"], timeZone: "Asia/Tokyo" },
        "2026-03-07T00:00:00Z",
        "2026-03-10T00:00:01Z",
      ),
    ).toEqual(["2026-03-08T00:00:00.000Z", "2026-03-09T00:00:00.000Z", "2026-03-10T00:00:00.000Z"]);
  });

  it("Asia/Kathmandu (+05:45)", () => {
    expect(
      iso(
        nextFireAfter(
          { schedules: ["0 0 * * *"], timeZone: "Asia/Kathmandu" },
          at("2026-01-01T00:00:00Z"),
        ),
      ),
    ).toBe("2026-01-01T18:15:00.000Z");
  });

  it("America/Santiago springs forward at midnight: @daily fires at 01:00 -03", () => {
    expect(
      previewFires(
        { schedules: ["@daily"], timeZone: "America/Santiago" },
        at("2026-09-05T12:00:00Z"),
        2,
      ).map((fire) => fire.wallClock),
    ).toEqual(["2026-09-06T01:00:00-03:00", "2026-09-07T00:00:00-03:00"]);
  });
});

describe("6-field expressions and macros", () => {
  it("seconds first", () => {
    expect(
      firesBetween(
        { schedules: ["*/15 * * * * *"] },
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:01:00Z",
      ),
    ).toEqual(["2026-01-01T00:00:15.000Z", "2026-01-01T00:00:30.000Z", "2026-01-01T00:00:45.000Z"]);
    expect(
      iso(
        nextFireAfter(
          { schedules: ["30 0 9 * * *"], timeZone: "Asia/Tokyo" },
          at("2026-01-01T00:00:00Z"),
        ),
      ),
    ).toBe("2026-01-01T00:00:30.000Z");
  });

  it("a 5-field expression fires at second 0, also when asked mid-minute", () => {
    expect(iso(nextFireAfter({ schedules: ["* * * * *"] }, at("2026-01-01T00:00:00.001Z")))).toBe(
      "2026-01-01T00:01:00.000Z",
    );
    expect(iso(nextFireAfter({ schedules: ["* * * * *"] }, at("2026-01-01T00:00:59.999Z")))).toBe(
      "2026-01-01T00:01:00.000Z",
    );
  });

  it.each([
    ["@yearly", "2027-01-01T05:00:00.000Z"],
    ["@annually", "2027-01-01T05:00:00.000Z"],
    ["@monthly", "2026-04-01T04:00:00.000Z"],
    ["@weekly", "2026-03-15T04:00:00.000Z"], // Sunday 2026-03-15
    ["@daily", "2026-03-09T04:00:00.000Z"],
    ["@midnight", "2026-03-09T04:00:00.000Z"],
    ["@hourly", "2026-03-08T16:00:00.000Z"],
  ])("%s in New York after 2026-03-08T15:30Z", (macro, expected) => {
    expect(
      iso(nextFireAfter({ schedules: [macro], timeZone: NY }, at("2026-03-08T15:30:00Z"))),
    ).toBe(expected);
  });

  it("L, # and names", () => {
    expect(iso(nextFireAfter({ schedules: ["0 12 L * *"] }, at("2026-02-01T00:00:00Z")))).toBe(
      "2026-02-28T12:00:00.000Z",
    );
    expect(iso(nextFireAfter({ schedules: ["0 12 * * MON#2"] }, at("2026-02-01T00:00:00Z")))).toBe(
      "2026-02-09T12:00:00.000Z",
    );
    expect(
      iso(nextFireAfter({ schedules: ["0 12 * JAN-MAR FRI"] }, at("2026-03-28T00:00:00Z"))),
    ).toBe("2027-01-01T12:00:00.000Z");
    // A day field starting with "*" or "?" is unrestricted (Vixie cron, cronie): "*/1" against
    // a weekday means that weekday only (both must match), not every day.
    expect(
      firesBetween({ schedules: ["0 0 */1 * 1"] }, "2026-02-01T12:00:00Z", "2026-02-10T12:00:00Z"),
    ).toEqual(["2026-02-02T00:00:00.000Z", "2026-02-09T00:00:00.000Z"]);
    // Day of month and day of week both restricted: either matches (the 13th or a Friday).
    expect(
      firesBetween({ schedules: ["0 0 13 * 5"] }, "2026-02-01T00:00:00Z", "2026-02-20T00:00:00Z"),
    ).toEqual(["2026-02-06T00:00:00.000Z", "2026-02-13T00:00:00.000Z"]);
  });
});

describe("@every", () => {
  it("is aligned to the Unix epoch", () => {
    expect(nextFireAfter({ schedules: ["@every 90s"] }, 1000)).toBe(90_000);
    expect(nextFireAfter({ schedules: ["@every 90s"] }, 90_000)).toBe(180_000);
    expect(nextFireAfter({ schedules: ["@every 90s"] }, -1)).toBe(0);
    expect(nextFireAfter({ schedules: ["@every 1h30m"] }, 0)).toBe(5_400_000);
    const after = at("2026-05-05T12:34:56.789Z");
    const next = nextFireAfter({ schedules: ["@every 7m"] }, after) ?? 0;
    expect(next % 420_000).toBe(0);
    expect(next > after && next - after <= 420_000).toBe(true);
  });

  it("ignores the time zone and DST", () => {
    for (const timeZone of ["UTC", NY, "Australia/Lord_Howe", "Asia/Kathmandu"]) {
      expect(
        firesBetween(
          { schedules: ["@every 20m"], timeZone },
          "2026-11-01T05:30:00Z",
          "2026-11-01T07:00:00Z",
        ),
      ).toEqual([
        "2026-11-01T05:40:00.000Z",
        "2026-11-01T06:00:00.000Z",
        "2026-11-01T06:20:00.000Z",
        "2026-11-01T06:40:00.000Z",
      ]);
    }
  });

  it("respects startAt and endAt", () => {
    const timing: CronTiming = { schedules: ["@every 10s"], startAt: 25_000, endAt: 60_000 };
    expect(previewFires(timing, 0, 10).map((fire) => fire.atMs)).toEqual([30_000, 40_000, 50_000]);
    expect(nextFireAfter({ schedules: ["@every 10s"], startAt: 30_000 }, 0)).toBe(30_000);
  });
});

describe("union of expressions", () => {
  it("fires at the earliest next instant of any, and an instant produced twice once", () => {
    expect(
      firesBetween(
        { schedules: ["0 * * * *", "*/30 * * * *"] },
        "2026-01-01T00:00:00Z",
        "2026-01-01T02:00:00Z",
      ),
    ).toEqual(["2026-01-01T00:30:00.000Z", "2026-01-01T01:00:00.000Z", "2026-01-01T01:30:00.000Z"]);
    expect(
      firesBetween(
        { schedules: ["@every 1h", "0 * * * *"], timeZone: "Asia/Tokyo" },
        "2026-01-01T00:00:00Z",
        "2026-01-01T03:00:00Z",
      ),
    ).toEqual(["2026-01-01T01:00:00.000Z", "2026-01-01T02:00:00.000Z"]);
    expect(
      firesBetween(
        { schedules: ["@every 1h", "0 * * * *"], timeZone: "Asia/Kathmandu" },
        "2026-01-01T00:00:00Z",
        "2026-01-01T02:00:00Z",
      ),
    ).toEqual(["2026-01-01T00:15:00.000Z", "2026-01-01T01:00:00.000Z", "2026-01-01T01:15:00.000Z"]);
  });

  it("two expressions shifted to the same transition instant fire once", () => {
    expect(
      firesBetween(
        { schedules: ["30 2 * * *", "0 3 * * *"], timeZone: NY },
        "2026-03-08T00:00:00Z",
        "2026-03-09T00:00:00Z",
      ),
    ).toEqual(["2026-03-08T07:00:00.000Z"]);
  });

  it("mixes 5-field, 6-field, macros and @every", () => {
    expect(
      firesBetween(
        { schedules: ["@hourly", "30 59 * * * *", "@every 1200s", "45 * * * *"] },
        "2026-01-01T00:00:00Z",
        "2026-01-01T01:00:00Z",
      ),
    ).toEqual([
      "2026-01-01T00:20:00.000Z",
      "2026-01-01T00:40:00.000Z",
      "2026-01-01T00:45:00.000Z",
      "2026-01-01T00:59:30.000Z",
    ]);
  });
});

describe("startAt / endAt", () => {
  const timing: CronTiming = {
    schedules: ["0 * * * *"],
    startAt: at("2026-01-01T10:00:00Z"),
    endAt: at("2026-01-01T12:00:00Z"),
  };

  it("startAt is inclusive, endAt exclusive", () => {
    expect(previewFires(timing, at("2026-01-01T00:00:00Z"), 10).map((fire) => fire.utc)).toEqual([
      "2026-01-01T10:00:00.000Z",
      "2026-01-01T11:00:00.000Z",
    ]);
    expect(nextFireAfter(timing, at("2026-01-01T11:00:00Z"))).toBeUndefined();
    expect(nextFireAfter(timing, at("2027-01-01T00:00:00Z"))).toBeUndefined();
  });

  it("a startAt between fires", () => {
    expect(
      iso(nextFireAfter({ schedules: ["0 * * * *"], startAt: at("2026-01-01T10:00:00.001Z") }, 0)),
    ).toBe("2026-01-01T11:00:00.000Z");
  });
});

describe("search bound and rare schedules", () => {
  it("a fifth Monday in February (Feb 29 on a Monday) is found 40 years later", () => {
    expect(iso(nextFireAfter({ schedules: ["0 0 * 2 1#5"] }, at("2072-03-01T00:00:00Z")))).toBe(
      "2112-02-29T00:00:00.000Z",
    );
    expect(iso(nextFireAfter({ schedules: ["0 0 29 2 *"] }, at("2096-03-01T00:00:00Z")))).toBe(
      "2104-02-29T00:00:00.000Z",
    );
  });

  it("a schedule whose only wall times are skipped has no next fire", () => {
    const timing: CronTiming = { schedules: ["30 2 * 3 0#2"], timeZone: NY, dstGap: "skip" };
    expect(nextFireAfter(timing, at("2026-01-01T00:00:00Z"))).toBeUndefined();
    expect(iso(nextFireAfter({ ...timing, dstGap: "shift" }, at("2026-01-01T00:00:00Z")))).toBe(
      "2026-03-08T07:00:00.000Z",
    );
  });
});

describe("previewFires", () => {
  it("gives UTC and the zone's wall clock with its offset", () => {
    expect(
      previewFires({ schedules: ["30 2 * * *"], timeZone: NY }, at("2026-03-07T12:00:00Z"), 2),
    ).toEqual([
      {
        atMs: at("2026-03-08T07:00:00Z"),
        utc: "2026-03-08T07:00:00.000Z",
        wallClock: "2026-03-08T03:00:00-04:00",
      },
      {
        atMs: at("2026-03-09T06:30:00Z"),
        utc: "2026-03-09T06:30:00.000Z",
        wallClock: "2026-03-09T02:30:00-04:00",
      },
    ]);
  });

  it("n = 0 gives nothing", () => {
    expect(previewFires({ schedules: ["@hourly"] }, 0, 0)).toEqual([]);
  });
});
