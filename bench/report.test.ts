import { describe, expect, it } from "vitest";
import { plot, type Run, table } from "./report.js";

const run = (strategy: string, failed: number, rollout_s: number, over: Partial<Run> = {}): Run => ({
  strategy,
  run: 1,
  replicas: 3,
  ok: true,
  total: 1000,
  failed,
  failed_5xx: failed,
  failed_conn: 0,
  causes: failed ? { "502": failed } : {},
  p50_ms: 5,
  p99_ms: 50,
  max_ms: 500,
  steady: { p50_ms: 4, p99_ms: 20, max_ms: 100 },
  rollout_s,
  all_new_s: rollout_s,
  timeline: [
    { t: -0.5, sent: 100, errors: 0, p99_ms: 20, max_ms: 30 },
    { t: 0, sent: 100, errors: failed, p99_ms: 60, max_ms: 90 },
  ],
  ...over,
});

describe("bench report", () => {
  it("sums failures over a strategy's runs and takes medians of times", () => {
    const md = table([
      run("naive", 7, 10),
      run("naive", 3, 20),
      run("compose-roll file", 0, 12, { overhead_s: 2 }),
    ]);
    const rows = md.split("\n");
    expect(rows[2]).toContain("| naive | 2 | 2000 | **10** (10 / 0) |");
    expect(rows[2]).toContain("| 15.0 |");
    expect(rows[3]).toContain("| compose-roll file | 1 | 1000 | **0** (0 / 0) |");
    expect(rows[3]).toContain("| 2.0 |");
  });

  it("adds a tasks column summing queued / lost / started twice, with – for runs without a worker", () => {
    const md = table([
      run("naive", 0, 10),
      run("whole app", 0, 30, { tasks: { queued: 20, finished: 19, lost: 1, startedTwice: 0 } }),
      run("whole app", 0, 32, { tasks: { queued: 22, finished: 22, lost: 0, startedTwice: 2 } }),
    ]);
    const rows = md.split("\n");
    expect(rows[0]).toContain("tasks queued / lost / started twice |");
    expect(rows[2]?.endsWith("| – |")).toBe(true);
    expect(rows[3]?.endsWith("| 42 / **1** / 2 |")).toBe(true);
    expect(table([run("naive", 0, 10)]).split("\n")[0]).not.toContain("tasks");
  });

  it("adds a peak tasks column (the most of any run) only when the runs measured it", () => {
    expect(table([run("naive", 0, 10)]).split("\n")[0]).not.toContain("peak tasks");
    const rows = table([
      run("compose-roll (1 s poll)", 0, 50, { peak_tasks: 6 }),
      run("compose-roll (1 s poll)", 0, 60, { peak_tasks: 5 }),
      run("swarm stop-first (15 s poll)", 9, 30, { peak_tasks: 3 }),
    ]).split("\n");
    expect(rows[0]).toMatch(/\| peak tasks \|$/);
    expect(rows[2]).toMatch(/\| 6 \|$/);
    expect(rows[3]).toMatch(/\| 3 \|$/);
  });

  it("draws an SVG through vega-lite, one panel per strategy", async () => {
    const svg = await plot([run("naive", 7, 10), run("compose-roll file", 0, 12)]);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("naive: 7 failed of 1000");
    expect(svg).toContain("compose-roll file: 0 failed of 1000");
  });
});
