// The bake on real Traefik (its JSON access log, read through the Engine API) and the minimal
// stack, under a load spread over two paths: a release that fails some real requests or runs
// slower is rolled back (exit 5) with its figure in one line, having served only the canary's
// share meanwhile; a good one bakes and completes. One stack for the whole file.

import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReport, isFailure, LoadProbe, type ProbeReport } from "../load/probe.js";
import { type CliRun, containers, runCli, stackArgs } from "../support/cli.js";
import { expectAllOn } from "../support/expect.js";
import { type DemoStack, PATIENT_HEALTH, startDemo } from "../support/stack.js";

let stack: DemoStack;

beforeAll(async () => {
  // The patient healthcheck: under the shared testbed's load a 3 s check times out, old
  // replicas turn unhealthy and are replaced mid-bake, and the test is about the machine.
  // Traefik's too: its `traefik healthcheck` exec alone took 2.5-3.8 s at load 60.
  stack = await startDemo(
    "bake",
    {},
    {
      ...PATIENT_HEALTH,
      prepare: (dir) => {
        PATIENT_HEALTH.prepare?.(dir);
        appendFileSync(
          join(dir, "compose.override.yaml"),
          "  traefik:\n    healthcheck:\n      timeout: 6s\n",
        );
      },
    },
  );
  const sync = await runCli(["sync", "web", ...stackArgs(stack)], { cwd: stack.dir });
  expect(sync.code, sync.stderr).toBe(0);
});
afterAll(async () => {
  await stack?.down();
});

interface Baked {
  run: CliRun;
  load: ProbeReport;
  /** Requests the probe sent while the first new replica served: routed → out of Traefik again (or the verdict). */
  duringBake: { sent: number; failed: number };
  /** Seconds from the first new replica routed to its bake's verdict. */
  verdictAfter: number;
}

/** A rollout under load: 4 keep-alive clients and 2 on fresh connections over `/` and `/slow/?ms=20`. */
async function bakeUnderLoad(args: string[], onRouted?: () => void): Promise<Baked> {
  const probe = new LoadProbe({
    url: stack.httpUrl,
    keepAliveClients: 4,
    freshClients: 2,
    slowClients: 0,
    paths: ["/", "/slow/?ms=20"],
    maxSeconds: 200,
  });
  const t0 = performance.now();
  probe.start();
  const at: { routed?: number; verdict?: number; out?: number } = {};
  const healthyAt = new Map<unknown, number>();
  let first: unknown;
  const run = await runCli(["web", ...args, ...stackArgs(stack), "--json"], {
    cwd: stack.dir,
    onEvent: (e) => {
      const now = (performance.now() - t0) / 1000;
      if (e.type === "replica" && e.state === "healthy") healthyAt.set(e.name, now);
      if (e.type === "replica" && e.state === "routed" && at.routed === undefined) {
        at.routed = now;
        first = e.name;
        onRouted?.();
      }
      if (e.type === "bake" && e.state !== "baking") at.verdict ??= now;
      // Nothing reaches it once it is removed (a restore drained it first).
      if (e.type === "replica" && e.name === first && e.state === "removed") at.out ??= now;
    },
  });
  const load = await probe.stop();
  const from = at.routed ?? 0;
  const to = at.verdict ?? Number.POSITIVE_INFINITY;
  // Every request the first new replica could have answered: from its healthy event (Traefik
  // routes to it before compose-roll sees that and says "routed") to its removal (requests
  // sent while it drains still reach it).
  const reach = healthyAt.get(first) ?? from;
  const window = load.samples.filter((s) => s.at >= reach && s.at <= (at.out ?? to));
  const failed = window.filter(isFailure).length;
  const baked = {
    run,
    load,
    duringBake: { sent: window.length, failed },
    verdictAfter: Math.round((to - from) * 10) / 10,
  };
  const trail = run.events
    .filter((e) => e.type === "replica" || e.type === "bake" || e.type === "restore")
    .map((e) =>
      `${e.name ?? ""} ${e.state ?? e.type}${e.type === "bake" && e.state !== "baking" ? ` [${e.detail}]` : ""}`.trim(),
    );
  console.log(
    `${args.join(" ")}: exit ${run.code}; ${formatReport(load)}; while the first new replica served ${failed} of ${window.length} failed; verdict ${baked.verdictAfter} s after routing\n  ${trail.join(", ")}`,
  );
  return baked;
}

const bakes = (run: CliRun) => run.events.filter((e) => e.type === "bake" && e.state !== "baking");

describe("bake", () => {
  it("refuses --bake, changing nothing, when the log it is told to read has no JSON access log", async () => {
    const [web] = await containers(stack.project);
    const before = await containers(stack.project);
    const run = await runCli(
      [
        "web",
        "--image",
        "compose-roll-demo/app:v2",
        "--bake",
        "30s",
        "--access-log",
        `container:${web?.name}`,
        ...stackArgs(stack),
      ],
      { cwd: stack.dir },
    );
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain("--accesslog=true --accesslog.format=json");
    expect(
      run.stderr
        .trim()
        .split("\n")
        .filter((l) => l.startsWith("error")).length,
    ).toBeLessThanOrEqual(1);
    expect(await containers(stack.project)).toEqual(before);
  });

  it("rolls back flaky (20 % of /slow/ answer 500) at a 10 % canary: exit 5, failures within the canary's share", async () => {
    const b = await bakeUnderLoad([
      "--image",
      "compose-roll-demo/app:flaky",
      "--bake",
      "30s",
      "--canary",
      "10",
    ]);
    expect(b.run.code, b.run.stderr).toBe(5);
    expect(b.run.stderr).toMatch(
      /rolled back; still serving compose-roll-demo\/app:v1: .*5xx \d+\.\d % of \d+ requests vs 0\.0 % on compose-roll-demo\/app:v1 in the same \d+ s/,
    );
    expect(bakes(b.run)).toEqual([expect.objectContaining({ state: "breach" })]);
    // The bound: the canary's share of what was sent while it could answer (healthy, routed,
    // baked, then drained and removed by the restore). Flaky fails a fifth of half its requests, so about 1 % of
    // all are expected; 10 % is the most the canary can cost.
    expect(b.duringBake.failed).toBeLessThanOrEqual(Math.ceil(0.1 * b.duringBake.sent));
    expect(b.load.failed).toBe(b.duringBake.failed);
    // Within the bake plus one sampling interval (and a second for the log's own lag).
    expect(b.verdictAfter).toBeLessThanOrEqual(30 + 1 + 1);
    await expectAllOn(stack, "compose-roll-demo/app:v1");
    const history = await runCli(["history", "web", "-p", stack.project], { cwd: stack.dir });
    expect(history.stdout).toMatch(/rolled-back: .*5xx/);
  });

  // Latency is judged over the whole bake (a p99 over a few seconds is one stall on a busy
  // host): 15 s, half of flaky's, keeps this file short.
  it("rolls back slow (5x the latency) on its p99 or median against the old replicas', at the end of its bake", async () => {
    const b = await bakeUnderLoad(["--image", "compose-roll-demo/app:slow", "--bake", "15s"]);
    expect(b.run.code, b.run.stderr).toBe(5);
    expect(b.run.stderr).toMatch(
      /(p99|median) \d+ ms vs \d+ ms on compose-roll-demo\/app:v1 in the same \d+ s \(\d+\.\d×/,
    );
    expect(b.load.failed, JSON.stringify(b.load.failures)).toBe(0);
    expect(b.verdictAfter).toBeGreaterThanOrEqual(15);
    expect(b.verdictAfter).toBeLessThanOrEqual(15 + 1 + 1);
    await expectAllOn(stack, "compose-roll-demo/app:v1");
  });

  it("bakes a good release replica by replica and completes, nothing lost", async () => {
    // 8 s a replica: at the 30-50 requests/s this machine gives the load, each new replica (a
    // quarter of the traffic) answers 60-100 in that time, above --min-requests (50).
    // --max-surge 3: the three boot side by side while the first bakes (the file's time).
    // `status` while the first new replica bakes: both images' figures from the access log.
    let status: Promise<CliRun> | undefined;
    const b = await bakeUnderLoad(
      ["--image", "compose-roll-demo/app:v2", "--bake", "8s", "--max-surge", "3"],
      () => {
        status = new Promise((r) => setTimeout(r, 3000)).then(() =>
          runCli(["status", "web", "-p", stack.project, "--json"], { cwd: stack.dir }),
        );
      },
    );
    expect(b.run.code, b.run.stderr).toBe(0);
    const shown = JSON.parse((await status)?.stdout ?? "{}") as { bake?: string[] };
    expect(shown.bake).toEqual([
      expect.stringMatching(
        /^compose-roll-demo\/app:v1 \(.*\): 5xx 0\.0 % of \d+ requests, p99 \d+ ms in the last 30 s$/,
      ),
      expect.stringMatching(
        /^compose-roll-demo\/app:v2 \(.*\): 5xx 0\.0 % of \d+ requests, p99 \d+ ms in the last 30 s$/,
      ),
    ]);
    expect(b.verdictAfter).toBeLessThanOrEqual(8 + 1 + 1);
    // Each replica judged ok, or (the first, a quarter of a load this host may slow to 10
    // requests/s) not judged: never a breach.
    const states = bakes(b.run).map((e) => e.state);
    expect(states).toHaveLength(3);
    expect(states.filter((s) => s !== "ok" && s !== "not-enough-data")).toEqual([]);
    expect(states).toContain("ok");
    expect(b.load.failed, JSON.stringify(b.load.failures)).toBe(0);
    await expectAllOn(stack, "compose-roll-demo/app:v2");
  });
});
