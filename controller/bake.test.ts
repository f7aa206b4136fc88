import { describe, expect, it } from "vitest";
import {
  canaryWeights,
  type Figures,
  figuresOf,
  judge,
  quantile,
  type Second,
  type Series,
  type Thresholds,
  windowOf,
} from "./bake.js";

const t: Thresholds = { maxErrorRate: 2, maxLatencyRatio: 2, minRequests: 50 };
const names = { fresh: "web-4 (app:v2)", oldImage: "app:v1" };
const fig = (requests: number, errors: number, p99: number, failures = 0): Figures => ({
  requests,
  errors,
  failures,
  p99,
});
const sec = (requests: number, errors: number, latencies: number[], failures = 0): Second => ({
  requests,
  errors,
  failures,
  latencies,
});

describe("judge", () => {
  it("breaches on a 5xx rate above the old one by more than the margin, with the figure in one line", () => {
    const v = judge(fig(612, 111, 20), fig(5400, 5, 18), t, names, 30);
    expect(v.kind).toBe("breach");
    expect(v.line).toBe("web-4 (app:v2): 5xx 18.1 % of 612 requests vs 0.1 % on app:v1 in the same 30 s");
  });

  it("lets a rate within the margin pass: 2.0 points over is not more than 2", () => {
    expect(judge(fig(100, 3, 20), fig(1000, 10, 20), t, names, 30).kind).toBe("ok");
    expect(judge(fig(100, 4, 20), fig(1000, 10, 20), t, names, 30).kind).toBe("breach");
  });

  it("names connection failures among the errors", () => {
    const v = judge(fig(200, 40, 20, 40), fig(2000, 0, 20), t, names, 10);
    expect(v.line).toContain("(40 could not connect)");
  });

  it("breaches on p99 over the ratio, and only when the difference is above the noise floor", () => {
    const slow = judge(fig(300, 0, 240), fig(3000, 0, 40), t, names, 30);
    expect(slow.kind).toBe("breach");
    expect(slow.line).toBe(
      "web-4 (app:v2): p99 240 ms vs 40 ms on app:v1 in the same 30 s (6.0×, over --max-latency-ratio 2)",
    );
    // 9 ms against 3 ms is a ratio of 3, but 6 ms no user notices.
    expect(judge(fig(300, 0, 9), fig(3000, 0, 3), t, names, 30).kind).toBe("ok");
  });

  it("leaves latency alone when asked for the 5xx rate only (a bake still running)", () => {
    expect(judge(fig(300, 0, 240), fig(3000, 0, 40), t, names, 10, true).kind).toBe("ok");
    expect(judge(fig(300, 30, 240), fig(3000, 0, 40), t, names, 10, true).kind).toBe("breach");
  });

  it("breaches on a median over the ratio when the tails of both sides are queueing", () => {
    const slow = { ...fig(300, 0, 1900), p50: 900 };
    const v = judge(slow, { ...fig(3000, 0, 1500), p50: 120 }, { ...t, maxLatencyRatio: 3 }, names, 15);
    expect(v.kind).toBe("breach");
    expect(v.line).toBe(
      "web-4 (app:v2): median 900 ms vs 120 ms on app:v1 in the same 15 s (7.5×, over --max-latency-ratio 3; p99 1900 ms vs 1500 ms)",
    );
    expect(judge({ ...fig(300, 0, 30), p50: 9 }, { ...fig(3000, 0, 30), p50: 3 }, t, names, 15).kind).toBe(
      "ok",
    );
  });

  it("breaches on the absolute ceiling whatever the old replicas do", () => {
    const v = judge(fig(300, 0, 900), fig(3000, 0, 800), { ...t, maxP99Ms: 500 }, names, 30);
    expect(v.kind).toBe("breach");
    expect(v.line).toContain("p99 900 ms over --max-p99 500 ms");
  });

  it("judges nothing below --min-requests, however bad it looks", () => {
    const v = judge(fig(12, 12, 5000), fig(3000, 0, 40), t, names, 30);
    expect(v.kind).toBe("not-enough-data");
    expect(v.line).toContain("12 requests in the same 30 s, fewer than --min-requests 50");
  });

  it("holds the new replicas to a 0 % rate when the old ones saw no requests", () => {
    expect(judge(fig(100, 5, 20), fig(0, 0, Number.NaN), t, names, 30).kind).toBe("breach");
    expect(
      judge(fig(100, 0, 500), { requests: 0, errors: 0, failures: 0, p99: undefined }, t, names, 5).kind,
    ).toBe("ok");
  });
});

describe("figures over the same seconds", () => {
  const fresh: Series = new Map([
    [101, sec(10, 1, [5, 6])],
    [102, sec(10, 0, [7])],
  ]);
  const old: Series = new Map([
    [99, sec(50, 50, [900])], // before the new server answered: not compared
    [101, sec(40, 0, [3, 4])],
    [102, sec(40, 0, [3])],
    [103, sec(40, 0, [3])], // not complete yet
  ]);

  it("takes the seconds from the new server's first to the last complete one", () => {
    expect(windowOf([fresh], 103)).toEqual([101, 102]);
    expect(windowOf([fresh], 101)).toEqual([]);
    expect(windowOf([new Map()], 200)).toEqual([]);
  });

  it("adds the old servers' figures in exactly those seconds", () => {
    const s = windowOf([fresh], 103);
    expect(figuresOf([fresh], s)).toEqual({ requests: 20, errors: 1, failures: 0, p99: 7, p50: 6 });
    expect(figuresOf([old, old], s)).toEqual({ requests: 160, errors: 0, failures: 0, p99: 4, p50: 3 });
  });
});

describe("quantile", () => {
  it("is the nearest rank", () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(hundred, 0.99)).toBe(99);
    expect(quantile([...hundred].reverse(), 0.5)).toBe(50);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.99)).toBeUndefined();
  });
});

describe("canaryWeights", () => {
  const share = (w: Record<string, number>, url: string) =>
    (100 * (w[url] as number)) / Object.values(w).reduce((a, b) => a + b, 0);

  it("gives the new server its share among equal old ones", () => {
    const w = canaryWeights("new", ["a", "b", "c"], 10);
    expect(w).toEqual({ new: 30, a: 90, b: 90, c: 90 });
    expect(share(w, "new")).toBeCloseTo(10);
    expect(share(canaryWeights("new", ["a"], 25), "new")).toBeCloseTo(25);
    expect(share(canaryWeights("new", ["a", "b"], 1), "new")).toBeCloseTo(1);
  });
});
