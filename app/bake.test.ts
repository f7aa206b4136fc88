// The bake loop on a fake clock and a fake access log: when its verdicts come, what it
// reports, and that only a breach stops the rollout.
import { describe, expect, it } from "vitest";
import { BakeError } from "../controller/errors.js";
import { aReplica, FakeWorld } from "../controller/fakes.test-support.js";
import type { TrafficFeed } from "../controller/ports.js";
import { TrafficStore } from "../traefik/accesslog.js";
import { type BakeSettings, bakeStep } from "./bake.js";

const settings: BakeSettings = {
  bakeMs: 30_000,
  intervalMs: 1000,
  maxErrorRate: 2,
  maxLatencyRatio: 2,
  minRequests: 50,
};
const fresh = aReplica({ id: "n", name: "web-4", imageRef: "app:v2", url: "http://new:8000" });
const old = [1, 2].map((n) =>
  aReplica({ id: `o${n}`, name: `web-${n}`, imageRef: "app:v1", url: `http://old${n}:8000` }),
);
const T0 = 1_700_000_000;

/**
 * A log the clock writes: each fake second, `perSecond` requests to each old server and
 * `fresh` to the new one (its status from `status`), stamped with that second.
 */
function world(freshPerSecond: number, status: (i: number) => number, freshMs = 12) {
  const w = new FakeWorld([]);
  const store = new TrafficStore();
  let n = 0;
  const feed: TrafficFeed = { series: (u) => store.series(u), latest: () => store.latest(), close: () => {} };
  const sleep = w.sleep.bind(w);
  w.sleep = async (ms: number) => {
    await sleep(ms);
    const second = T0 + Math.floor(w.time / 1000);
    for (const o of old)
      for (let i = 0; i < 20; i++)
        store.add({ url: o.url as string, second, status: 200, failed: false, ms: 10 });
    for (let i = 0; i < freshPerSecond; i++)
      store.add({ url: fresh.url as string, second, status: status(n++), failed: false, ms: freshMs });
  };
  return { w, run: bakeStep(feed, settings, { clock: w, reporter: w }) };
}

const signal = new AbortController().signal;
const verdicts = (w: FakeWorld) => w.events.flatMap((e) => (e.type === "bake" ? [e.state] : []));

describe("bakeStep", () => {
  it("passes a good replica at the end of the bake, within one sampling interval of it", async () => {
    const { w, run } = world(10, () => 200);
    await run({ replica: fresh, fresh: [fresh], old }, signal);
    expect(w.time).toBeGreaterThanOrEqual(30_000);
    expect(w.time).toBeLessThanOrEqual(30_000 + settings.intervalMs);
    expect(verdicts(w)).toEqual(["baking", "baking", "ok"]);
    const ok = w.events.at(-1);
    expect(ok).toMatchObject({ type: "bake", state: "ok", fresh: { errors: 0 }, old: { errors: 0 } });
  });

  it("stops at the first breach once --min-requests are in, with the figure", async () => {
    // Every fifth request fails: 20 %, against 0 % on the old ones.
    const { w, run } = world(10, (i) => (i % 5 === 4 ? 500 : 200));
    const err = await run({ replica: fresh, fresh: [fresh], old }, signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BakeError);
    expect((err as Error).message).toMatch(
      /^web-4 \(app:v2\): 5xx 20\.0 % of \d+ requests vs 0\.0 % on app:v1 in the same \d+ s$/,
    );
    // 50 requests take 5 s at 10/s, plus the second that completes the last: breach after 6-7 s, not 30.
    expect(w.time).toBeLessThanOrEqual(8000);
    expect(verdicts(w)).toEqual(["breach"]);
  });

  it("judges latency once, over the whole bake: a slow replica is rolled back at its end", async () => {
    const { w, run } = world(10, () => 200, 60);
    const err = await run({ replica: fresh, fresh: [fresh], old }, signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BakeError);
    expect((err as Error).message).toMatch(/p99 60 ms vs 10 ms on app:v1 in the same \d+ s \(6\.0×/);
    expect(w.time).toBeGreaterThanOrEqual(30_000);
    expect(w.time).toBeLessThanOrEqual(30_000 + settings.intervalMs);
  });

  it("lets the rollout go on, saying so, when too few requests came to judge", async () => {
    const { w, run } = world(1, () => 500);
    await run({ replica: fresh, fresh: [fresh], old }, signal);
    expect(verdicts(w).at(-1)).toBe("not-enough-data");
  });
});
