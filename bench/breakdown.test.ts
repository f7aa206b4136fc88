import { describe, expect, it } from "vitest";
import { breakdown, newUrls, tables } from "./breakdown.js";
import type { RollEvent } from "./stats.js";

const T0 = Date.parse("2026-12-03T12:00:00.000Z");
const ev = (s: number, e: Omit<RollEvent, "time">): RollEvent => ({
  time: new Date(T0 + s * 1000).toISOString(),
  ...e,
});

describe("overhead breakdown", () => {
  // The worked example in breakdown()'s comment: one replica in label mode.
  const events: RollEvent[] = [
    ev(0, { type: "start" }),
    ev(0.2, { type: "replica", name: "web-4", state: "adding", detail: "created in 200 ms" }),
    ev(3, { type: "replica", name: "web-4", state: "healthy" }),
    ev(3.5, {
      type: "replica",
      name: "web-4",
      state: "routed",
      detail: "http://10.0.0.9:8000; Traefik serves [http://10.0.0.9:8000]",
    }),
    ev(3.5, { type: "replica", name: "web-1", state: "draining", detail: "3000 ms" }),
    ev(10.6, { type: "replica", name: "web-1", state: "removed" }),
    ev(10.7, { type: "done" }),
  ];
  const at = (s: number) => T0 + s * 1000;
  const listings = [
    { t: at(3.4), urls: ["http://10.0.0.1:8000"] },
    { t: at(4), urls: ["http://10.0.0.1:8000", "http://10.0.0.9:8000"] },
    { t: at(6.5), urls: ["http://10.0.0.9:8000"] },
  ];
  const docker = [
    { t: at(6), name: "web-1", status: "health_status: unhealthy" },
    { t: at(9.5), name: "web-1", status: "kill" },
    { t: at(10.5), name: "web-1", status: "die" },
    { t: at(10.6), name: "web-1", status: "destroy" },
  ];

  it("splits each replica into boot, proof, the old one's way out and its stop", () => {
    const b = breakdown(events, { "web-1": "http://10.0.0.1:8000" }, listings, docker, 3000, 1);
    expect(b).toMatchObject({
      wall_s: 10.7,
      boot_s: 3,
      overhead_s: 4.7,
      per_replica_s: 4.7,
      setup_s: 0,
      tail_s: 7.2,
      after_s: 0.1,
    });
    expect(b.rows).toEqual([
      {
        name: "web-4",
        boot_s: 3,
        route_s: 0.5,
        old: "web-1",
        unhealthy_s: 2.5,
        out_s: 3,
        to_stop_s: 3,
        stop_s: 1,
        remove_s: 0.1,
      },
    ]);
    expect(tables([{ mode: "labels", n: 1, run: 1, load: 12.3, b }])).toContain(
      "| labels | 1 | 1 | web-4 | 3.0 | 0.5 | – | web-1 | 2.5 | 3.0 | 3.0 | 1.0 | 0.1 |",
    );
  });

  it("takes the new replicas' URLs from their routed events", () => {
    expect(newUrls(events)).toEqual({ "web-4": "http://10.0.0.9:8000" });
  });
});
