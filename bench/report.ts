// The benchmark's outputs: the markdown table (one row per strategy, over its runs) and the
// SVG plot, drawn by vega-lite compiled to vega and rendered headlessly (view.toSVG()).

import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { type Bin, median } from "./stats.js";

export interface Run {
  strategy: string;
  run: number;
  replicas: number;
  ok: boolean;
  detail?: string;
  total: number;
  failed: number;
  failed_5xx: number;
  failed_conn: number;
  /** Failures by HTTP status or error code. */
  causes: Record<string, number>;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  steady: { p50_ms: number; p99_ms: number; max_ms: number };
  rollout_s: number;
  all_new_s: number;
  overhead_s?: number;
  boot_s?: number;
  rss_mb?: number;
  /** Swarm stacks: the most tasks running at once during the rollout (the service's and any stand-ins'). */
  peak_tasks?: number;
  /** compose-roll: seconds by the step each stretch ended with (stats.ts phases). */
  phases?: Record<string, number>;
  /** Whole-app runs: the Celery tasks queued while the release ran, and what became of them. */
  tasks?: { queued: number; finished: number; lost: number; startedTwice: number };
  timeline: Bin[];
}

export interface Sweep {
  routing: string;
  stack: string;
  replicas: number;
  rollout_s: number;
  boot_s: number;
  overhead_s: number;
  per_replica_s: number;
  rss_mb?: number;
  phases?: Record<string, number>;
  ok: boolean;
}

const fmt = (x: number | undefined, digits = 1) =>
  x === undefined || Number.isNaN(x) ? "–" : x.toFixed(digits);

/** One row per strategy: failures summed over its runs, times and latencies as medians. */
export function table(runs: Run[]): string {
  const names = [...new Set(runs.map((r) => r.strategy))];
  // Columns only some runs fill: peak tasks (Swarm), Celery tasks (whole-app runs).
  const peak = runs.some((r) => r.peak_tasks !== undefined);
  const withTasks = runs.some((r) => r.tasks);
  const lines = [
    `| strategy | runs | sent | failed (5xx / conn) | p50 / p99 / max ms during rollout | p99 ms steady | rollout s | all new after s | compose-roll overhead s | peak RSS MB |${peak ? " peak tasks |" : ""}${withTasks ? " tasks queued / lost / started twice |" : ""}`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |${peak ? " ---: |" : ""}${withTasks ? " ---: |" : ""}`,
  ];
  for (const name of names) {
    const rs = runs.filter((r) => r.strategy === name);
    const m = (f: (r: Run) => number | undefined) => {
      const xs = rs.map(f).filter((x): x is number => x !== undefined);
      return xs.length ? median(xs) : undefined;
    };
    const sum = (f: (r: Run) => number) => rs.reduce((a, r) => a + f(r), 0);
    const bad = rs.filter((r) => !r.ok).length;
    lines.push(
      `| ${name}${bad ? ` (${bad} run(s) failed)` : ""} | ${rs.length} | ${sum((r) => r.total)} | ` +
        `**${sum((r) => r.failed)}** (${sum((r) => r.failed_5xx)} / ${sum((r) => r.failed_conn)}) | ` +
        `${fmt(m((r) => r.p50_ms))} / ${fmt(m((r) => r.p99_ms))} / ${fmt(m((r) => r.max_ms))} | ` +
        `${fmt(m((r) => r.steady.p99_ms))} | ${fmt(m((r) => r.rollout_s))} | ${fmt(m((r) => r.all_new_s))} | ` +
        `${fmt(m((r) => r.overhead_s))} | ${fmt(m((r) => r.rss_mb))} |` +
        (peak ? ` ${fmt(Math.max(...rs.map((r) => r.peak_tasks ?? Number.NaN)), 0)} |` : "") +
        (withTasks ? ` ${taskCell(rs)} |` : ""),
    );
  }
  return lines.join("\n");
}

/** Tasks summed over the runs that counted them ("–" for a strategy without a worker). */
function taskCell(rs: Run[]): string {
  const counted = rs.flatMap((r) => (r.tasks ? [r.tasks] : []));
  if (!counted.length) return "–";
  const sum = (f: (t: NonNullable<Run["tasks"]>) => number) => counted.reduce((a, t) => a + f(t), 0);
  return `${sum((t) => t.queued)} / **${sum((t) => t.lost)}** / ${sum((t) => t.startedTwice)}`;
}

export function sweepTable(rows: Sweep[]): string {
  const lines = [
    "| routing | stack | N | rollout s | Σ create→healthy s | overhead s | per replica s | peak RSS MB |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.routing}${r.ok ? "" : " (failed)"} | ${r.stack} | ${r.replicas} | ${fmt(r.rollout_s)} | ${fmt(r.boot_s)} | ` +
        `${fmt(r.overhead_s)} | ${fmt(r.per_replica_s, 2)} | ${fmt(r.rss_mb)} |`,
    );
  }
  return lines.join("\n");
}

/**
 * Errors per 0.5 s (bars) and p99 latency (line) over time, one panel per strategy (its first
 * run), time 0 = the rollout's start, the dashed rules its start and end.
 */
export async function plot(runs: Run[]): Promise<string> {
  const first = [...new Map(runs.map((r) => [r.strategy, r] as const)).values()].reverse();
  const panels = first.map((r) => {
    const data = r.timeline;
    const marks = [
      { t: 0, what: "rollout start" },
      { t: r.rollout_s, what: "rollout end" },
    ];
    return {
      title: `${r.strategy}: ${r.failed} failed of ${r.total}, rollout ${r.rollout_s} s`,
      width: 640,
      height: 110,
      layer: [
        {
          data: { values: data },
          mark: { type: "bar", color: "#d62728", opacity: 0.8 },
          encoding: {
            x: { field: "t", type: "quantitative", title: "seconds from rollout start" },
            y: {
              field: "errors",
              type: "quantitative",
              title: "failed / 0.5 s",
              // Whole requests; a run without failures still gets a 0–1 axis, not 0–0.
              scale: { domain: [0, Math.max(1, ...data.map((b) => b.errors))] },
              axis: { titleColor: "#d62728", format: "d", tickMinStep: 1 },
            },
          },
        },
        {
          data: { values: data },
          mark: { type: "line", color: "#1f77b4", interpolate: "step-after" },
          encoding: {
            x: { field: "t", type: "quantitative" },
            y: {
              field: "p99_ms",
              type: "quantitative",
              title: "p99 latency ms",
              axis: { titleColor: "#1f77b4", orient: "right" },
            },
          },
        },
        {
          data: { values: marks },
          mark: { type: "rule", strokeDash: [4, 3], color: "#555" },
          encoding: { x: { field: "t", type: "quantitative" } },
        },
      ],
      resolve: { scale: { y: "independent" } },
    };
  });
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    vconcat: panels,
    resolve: { scale: { x: "shared" } },
    config: { font: "sans-serif", title: { anchor: "start", fontSize: 12 } },
  } as unknown as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  return view.toSVG();
}
