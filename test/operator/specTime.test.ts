/** The CRDs' time values: durations (the same syntax as the CRDs' CEL rule) and RFC 3339. */
import { describe, expect, it } from "vitest";
import { parseDateTime, parseDurationMs } from "../../operator/spec/time.js";
import { loadDdqCrds, rootSchema, schemaAt } from "../../tools/crdFiles.js";

/** The regular expression of the CRD's duration rule on spec.delay. */
function crdDurationPattern(): RegExp {
  const [delayedTask] = loadDdqCrds();
  if (delayedTask === undefined) throw new Error("no DelayedTask CRD");
  const rule = schemaAt(rootSchema(delayedTask), "spec.delay")?.x_kubernetes_validations?.[0]?.rule;
  const source = /^self\.matches\('(.*)'\)$/.exec(rule ?? "")?.[1];
  if (source === undefined) throw new Error(`unexpected rule ${rule ?? "(none)"}`);
  return new RegExp(source);
}

describe("parseDurationMs", () => {
  it.each([
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["1500ms", 1500],
    ["1h2m3s4ms", 3_723_004],
    ["0s", 0],
    ["17568h", 17_568 * 3_600_000],
    ["90m", 5_400_000],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(["", "5", "5d", "1.5h", "30m1h", "1s1s", " 5m", "-5m", "5M", "1h 30m", "ms"])(
    "%j is not a duration",
    (text) => {
      expect(parseDurationMs(text)).toBeUndefined();
    },
  );

  it("accepts exactly what the CRD's rule accepts (for strings of two or more characters)", () => {
    const pattern = crdDurationPattern();
    const samples = [
      "30s",
      "5m",
      "1h30m",
      "1500ms",
      "0s",
      "5d",
      "30m1h",
      "1.5h",
      "ms",
      "5M",
      "1h2m3s4ms",
      "10",
    ];
    for (const sample of samples) {
      expect(parseDurationMs(sample) !== undefined, sample).toBe(pattern.test(sample));
    }
  });
});

describe("parseDateTime", () => {
  it.each([
    ["2026-12-24T18:00:00Z", Date.parse("2026-12-24T18:00:00Z")],
    ["2026-12-24T18:00:00.5+01:00", Date.parse("2026-12-24T17:00:00.500Z")],
    ["2026-12-24t18:00:00z", Date.parse("2026-12-24T18:00:00Z")],
  ])("%s", (text, ms) => {
    expect(parseDateTime(text)).toBe(ms);
  });

  it.each([
    "2026-12-24",
    "2026-12-24 18:00:00",
    "tomorrow",
    "2026-12-24T18:00:00",
    "2026-13-01T00:00:00Z",
  ])("%j is not an RFC 3339 date-time", (text) => {
    expect(parseDateTime(text)).toBeUndefined();
  });
});
