import { describe, expect, it } from "vitest";
import {
  median,
  overhead,
  percentile,
  phases,
  type Sample,
  summarize,
  timeline,
  untilAllNew,
} from "./stats.js";

const ok = (t: number, ms: number, r = "v1"): Sample => ({ t, ms, s: 200, k: "k", r });

describe("bench arithmetic", () => {
  it("percentile is nearest-rank: p50 of 1..10 is 5, p99 of 1..200 is 198", () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(
      percentile(
        Array.from({ length: 200 }, (_, i) => i + 1),
        99,
      ),
    ).toBe(198);
    expect(percentile([], 99)).toBe(0);
  });

  it("summarize counts 5xx and connection errors apart, within the window only", () => {
    const xs: Sample[] = [
      ok(0, 5),
      ok(10, 7),
      { t: 20, ms: 3, s: 502, k: "f" },
      { t: 30, ms: 1000, s: 0, k: "f", e: "ECONNRESET" },
      { t: 35, ms: 1000, s: 200, k: "s", r: "v1" },
      ok(40, 9),
    ];
    // The slow request counts as sent but not in latency (it is 1 s by design).
    expect(summarize(xs, 10, 40)).toEqual({
      sent: 4,
      failed: 2,
      failed_5xx: 1,
      failed_conn: 1,
      p50_ms: 7,
      p99_ms: 1000,
      max_ms: 1000,
    });
  });

  it("untilAllNew: start 1000, old answers sent at 900, 1500, 4200 → 3.2 s", () => {
    const xs = [ok(900, 1), ok(1500, 1), ok(2000, 1, "v2"), ok(4200, 1), ok(5000, 1, "v2")];
    expect(untilAllNew(xs, "v1", 1000)).toBe(3.2);
    expect(untilAllNew([ok(900, 1)], "v1", 1000)).toBe(0);
  });

  it("overhead: wall 8 s − boot 3.5 s (create 0.5 s + health 3 s) − drain 3 s = 1.5 s", () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + s * 1000).toISOString();
    const events = [
      { time: at(0), type: "start" },
      { time: at(1), type: "replica", name: "web-4", state: "adding", detail: "created in 500 ms" },
      { time: at(4), type: "replica", name: "web-4", state: "healthy" },
      { time: at(4.5), type: "replica", name: "web-4", state: "routed" },
      { time: at(8), type: "done" },
    ];
    expect(overhead(events, 3000)).toEqual({ wall_s: 8, boot_s: 3.5, overhead_s: 1.5 });
  });

  it("phases: start 0, adding 1, healthy 4, routed 4.5, draining 4.5, done 9", () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString();
    const r = (s: number, state: string, name = "web-4") => ({ time: at(s), type: "replica", state, name });
    const events = [
      { time: at(0), type: "start" },
      r(1, "adding"),
      r(4, "healthy"),
      r(4.5, "routed"),
      r(4.5, "draining", "web-1"),
      r(8.9, "removed", "web-1"),
      { time: at(9), type: "done" },
    ];
    expect(phases(events)).toEqual({
      adding: 1,
      healthy: 3,
      routed: 0.5,
      draining: 0,
      done: 4.5,
      stop_max_s: 4.4,
    });
  });

  it("timeline bins from the rollout's start (negative before it)", () => {
    const xs = [ok(500, 5), ok(1200, 9), { t: 1400, ms: 2, s: 503, k: "f" as const }, ok(2600, 4)];
    expect(timeline(xs, 1000, 1000)).toEqual([
      { t: -1, sent: 1, errors: 0, p99_ms: 5, max_ms: 5 },
      { t: 0, sent: 2, errors: 1, p99_ms: 9, max_ms: 9 },
      { t: 1, sent: 1, errors: 0, p99_ms: 4, max_ms: 4 },
    ]);
  });

  it("median of odd and even lengths", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
