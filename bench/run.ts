// `npm run bench [-- --quick] [-- --runs N] [-- --only a,b] [-- --no-sweep] [-- --sweep-only] [-- --swarm]`
// Rolls the demo app v1 → v2 (3 replicas behind Traefik) with every strategy in turn, R runs,
// the order rotated each run, under one constant load from a separate process (the whole-app
// strategies, bench/app.ts, release web and a busy Celery worker and count its tasks); then
// compose-roll alone (no load) at N = 1, 3, 6 on the demo and on a 3 s-boot stack for its
// overhead. Writes bench/results/<time>.json, latest.json, latest.md and latest.svg.
// --swarm: the Swarm baselines instead (bench/swarm.ts), on the 3-manager testbed this run brings
// up and tears down (scripts/swarm-testbed, root); writes <time>-swarm.json and swarm-latest.*.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../test/support/stack.js";
import { testbed } from "../test/support/swarm.js";
import { APP_STRATEGIES, appUp, busyWorkerOn } from "./app.js";
import { plot, type Run, type Sweep, sweepTable, table } from "./report.js";
import { type Stack, up } from "./stacks.js";
import { causes, overhead, phases, type Sample, summarize, timeline, untilAllNew } from "./stats.js";
import { cli, DRAIN_MS, REPLICAS, STRATEGIES, type Strategy } from "./strategies.js";
import { SWARM_STRATEGIES, swarmUp } from "./swarm.js";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    runs: { type: "string" },
    rate: { type: "string", default: "200" },
    only: { type: "string" },
    "no-sweep": { type: "boolean", default: false },
    "sweep-only": { type: "boolean", default: false },
    note: { type: "string" },
    /** Put the table into docs/evidence.md between its bench markers (`--readme`: the old name). */
    docs: { type: "boolean", default: false },
    readme: { type: "boolean", default: false },
    replot: { type: "boolean", default: false },
    swarm: { type: "boolean", default: false },
  },
});
const quick = values.quick;
const R = Number(values.runs ?? (quick ? 1 : 5));
const STEADY_MS = quick ? 5000 : 10_000;
const AFTER_MS = 5000;
const TO = "compose-roll-demo/app:v2";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

function startLoad(stack: Stack, out: string) {
  const child = spawn(
    process.execPath,
    [join(ROOT, "dist/bench/load.js"), "--url", stack.httpUrl, "--rate", values.rate, "--out", out],
    {
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  const exited = new Promise<void>((r) => child.on("close", () => r()));
  return {
    stop: async (): Promise<Sample[]> => {
      child.kill("SIGTERM");
      await exited;
      const samples = JSON.parse(readFileSync(out, "utf8")) as Sample[];
      rmSync(out, { force: true });
      return samples;
    },
  };
}

const statusFigures: { ms: number; rss_mb?: number; code: number | null }[] = [];

async function once(s: Strategy, run: number): Promise<Run> {
  const stack = s.stack?.app
    ? await appUp()
    : await (s.routing === "swarm" ? swarmUp : up)({
        routing: s.routing,
        slot: 0,
        replicas: REPLICAS,
        ...s.stack,
      });
  try {
    if (s.routing === "file") {
      const sync = await cli(stack, ["sync", "web"]);
      if (sync.code !== 0) throw new Error(`sync failed: ${sync.stderr}`);
    }
    const tasks = s.stack?.app ? await busyWorkerOn(stack) : undefined;
    const load = startLoad(stack, join(os.tmpdir(), `compose-roll-bench-load-${process.pid}.json`));
    const t0 = Date.now();
    await sleep(STEADY_MS);
    const start = Date.now();
    const peak = peakTasks(stack);
    const outcome = await s
      .roll(stack, TO)
      .catch((err: Error) => ({ ok: false, detail: err.message }) as const);
    const end = Date.now();
    const peak_tasks = await peak.stop();
    await sleep(AFTER_MS);
    const samples = await load.stop();
    const taskFigures = await tasks?.();
    if (s.name === "compose-roll file" && statusFigures.length === 0) {
      for (let i = 0; i < 5; i++) statusFigures.push(await cli(stack, ["status", "web"]));
    }
    const all = summarize(samples);
    const during = summarize(samples, start, end);
    const steady = summarize(samples, t0 + 1000, start);
    const events = "events" in outcome ? outcome.events : undefined;
    const o = events ? overhead(events, DRAIN_MS) : undefined;
    return {
      strategy: s.name,
      run,
      replicas: REPLICAS,
      ok: outcome.ok,
      ...(outcome.detail ? { detail: outcome.detail } : {}),
      total: all.sent,
      failed: all.failed,
      failed_5xx: all.failed_5xx,
      failed_conn: all.failed_conn,
      causes: causes(samples),
      p50_ms: during.p50_ms,
      p99_ms: during.p99_ms,
      max_ms: during.max_ms,
      steady: { p50_ms: steady.p50_ms, p99_ms: steady.p99_ms, max_ms: steady.max_ms },
      rollout_s: Math.round((end - start) / 100) / 10,
      all_new_s: untilAllNew(samples, "v1", start),
      ...(o && events ? { overhead_s: o.overhead_s, boot_s: o.boot_s, phases: phases(events) } : {}),
      ...("rss_mb" in outcome && outcome.rss_mb ? { rss_mb: outcome.rss_mb } : {}),
      ...(taskFigures ? { tasks: taskFigures } : {}),
      ...(peak_tasks !== undefined ? { peak_tasks } : {}),
      timeline: timeline(samples, start, 500),
    };
  } finally {
    await stack.down();
  }
}

/** Samples stack.tasks() every second until stop(), which gives the most seen (undefined: none). */
function peakTasks(stack: Stack) {
  let peak: number | undefined;
  let on = Boolean(stack.tasks);
  const loop = (async () => {
    while (on && stack.tasks) {
      const n = await stack.tasks().catch(() => undefined);
      if (n !== undefined) peak = Math.max(peak ?? 0, n);
      await sleep(1000);
    }
  })();
  return {
    stop: async () => {
      on = false;
      await loop;
      return peak;
    },
  };
}

async function sweep(routing: "file" | "labels", replicas: number, slowBoot: boolean): Promise<Sweep> {
  const stack = await up({ routing, slot: 1, replicas, slowBoot });
  try {
    if (routing === "file") await cli(stack, ["sync", "web"]);
    const res = await cli(stack, ["web", "--image", TO, "--json", "--no-write", "--drain", `${DRAIN_MS}ms`]);
    const events = res.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l));
    const o = overhead(events, DRAIN_MS);
    if (res.code !== 0) log(`sweep ${routing} N=${replicas} failed: ${res.stderr.trim()}`);
    return {
      routing,
      stack: slowBoot ? "3 s boot, 2 s health interval" : "demo",
      replicas,
      rollout_s: o.wall_s,
      boot_s: o.boot_s,
      overhead_s: o.overhead_s,
      per_replica_s: Math.round((o.overhead_s / replicas) * 100) / 100,
      phases: phases(events),
      ...(res.rss_mb ? { rss_mb: res.rss_mb } : {}),
      ok: res.code === 0,
    };
  } finally {
    await stack.down();
  }
}

async function main(): Promise<void> {
  if (values.replot) {
    // Redraws latest.svg from latest.json (after a change to the plot), runs nothing.
    const dir = join(ROOT, "bench/results");
    const last = JSON.parse(readFileSync(join(dir, "latest.json"), "utf8")) as { runs: Run[] };
    writeFileSync(join(dir, "latest.svg"), await plot(last.runs));
    return;
  }
  const only = values.only?.split(",");
  const swarm = values.swarm;
  const strategies = (swarm ? SWARM_STRATEGIES : [...STRATEGIES, ...APP_STRATEGIES]).filter(
    (s) => !only || only.some((o) => s.name.includes(o)),
  );
  const machine = {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    mem_gb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    loadavg_start: os.loadavg().map((x) => Math.round(x * 100) / 100),
    note:
      values.note ??
      "shared 2-core testbed, loaded by other sessions' tests while this ran: absolute times are pessimistic",
    rate_per_s: Number(values.rate),
    quick,
  };
  const help = [];
  for (let i = 0; i < 5; i++) help.push(await cli(undefined, ["--help"]));
  const runs: Run[] = [];
  const bed = swarm ? await swarmTestbed() : undefined;
  try {
    if (!values["sweep-only"]) {
      for (let r = 1; r <= R; r++) {
        // Interleaved: each run starts with the next strategy, so none always goes first.
        const order = strategies.map((_, i) => strategies[(i + r - 1) % strategies.length] as Strategy);
        for (const s of order) {
          log(`run ${r}/${R}: ${s.name}`);
          const res = await once(s, r);
          log(
            `  ${res.failed} failed of ${res.total}, rollout ${res.rollout_s} s, overhead ${res.overhead_s ?? "–"} s`,
          );
          if (res.failed) log(`  failures: ${JSON.stringify(res.causes)}`);
          const steadyLost = res.timeline.filter((b) => b.t < 0).reduce((n, b) => n + b.errors, 0);
          if (steadyLost > 0)
            log(`  ${steadyLost} failed BEFORE the rollout: the stack cannot carry this rate here`);
          if (!res.ok) log(`  the rollout failed: ${res.detail}`);
          runs.push(res);
        }
      }
    }
  } finally {
    await bed?.down();
  }
  const sweeps: Sweep[] = [];
  if (!values["no-sweep"] && !swarm) {
    const plan: ["file" | "labels", number, boolean][] = quick
      ? [["file", 6, false]]
      : (["file", "labels"] as const).flatMap((m) =>
          [1, 3, 6].flatMap(
            (n) =>
              [
                [m, n, false],
                [m, n, true],
              ] as ["file" | "labels", number, boolean][],
          ),
        );
    for (const [m, n, slow] of plan) {
      log(`sweep: compose-roll ${m}, N=${n}${slow ? ", 3 s boot" : ""}`);
      sweeps.push(await sweep(m, n, slow));
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const cliStart = {
    help_ms: med(help.map((h) => h.ms)),
    help_rss_mb: Math.max(...help.map((h) => h.rss_mb ?? 0)),
    ...(statusFigures.length
      ? {
          status_ms: med(statusFigures.map((h) => h.ms)),
          status_rss_mb: Math.max(...statusFigures.map((h) => h.rss_mb ?? 0)),
        }
      : {}),
  };
  const result = {
    machine: { ...machine, loadavg_end: os.loadavg().map((x) => Math.round(x * 100) / 100) },
    ...(bed ? { testbed: bed.figures } : {}),
    at: new Date().toISOString(),
    cli: cliStart,
    runs,
    sweeps,
  };
  const dir = join(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  const stamp = result.at.replace(/[:.]/g, "-");
  // A sweep alone leaves latest.* (the strategies' comparison) as it was.
  const partial = runs.length === 0;
  const latest = swarm ? "swarm-latest" : "latest";
  writeFileSync(
    join(dir, `${stamp}${partial ? "-sweep" : swarm ? "-swarm" : ""}.json`),
    `${JSON.stringify(result, null, 1)}\n`,
  );
  if (!partial) writeFileSync(join(dir, `${latest}.json`), `${JSON.stringify(result, null, 1)}\n`);
  const md = [
    `Measured ${result.at} on ${machine.cpus} × ${machine.cpu ?? "?"}, Node ${machine.node}; ${machine.note}.`,
    `Load average ${machine.loadavg_start.join(" ")} at the start, ${result.machine.loadavg_end.join(" ")} at the end. ${R} run(s) per strategy${quick ? " (--quick)" : ""}; load ${machine.rate_per_s} req/s.`,
    "",
    bed
      ? `On the 3-manager Swarm testbed (scripts/swarm-testbed): up in ${bed.figures.up_s} s${bed.figures.down_s ? `, down in ${bed.figures.down_s} s` : " (left up afterwards)"}, ${bed.figures.daemons_rss_mb} MB RSS for the three dockerd and their containerd. "rollout s" of the node loss = cut → Traefik lists 3 servers again, none on the cut node; "peak tasks" = most tasks Swarm reported running at once (sampled each second), the service's and compose-roll's stand-ins'.`
      : "",
    "",
    runs.length ? table(runs) : "",
    "",
    sweeps.length
      ? `compose-roll alone (no load), overhead = rollout − Σ create→healthy − one drain (${DRAIN_MS} ms):\n\n${sweepTable(sweeps)}`
      : "",
    "",
    `CLI start (median of 5): \`--help\` ${cliStart.help_ms} ms, ${cliStart.help_rss_mb} MB RSS` +
      ("status_ms" in cliStart
        ? `; \`status web\` ${cliStart.status_ms} ms, ${cliStart.status_rss_mb} MB RSS.`
        : "."),
  ].join("\n");
  if (!partial) {
    writeFileSync(join(dir, `${latest}.md`), `${md}\n`);
    writeFileSync(join(dir, `${latest}.svg`), await plot(runs));
    if (values.docs || values.readme) updateDocs(md, swarm ? "swarm-bench" : "bench");
  }
  process.stdout.write(`${md}\n`);
}

/** Brings the Swarm testbed up for the run (timed); down() tears it down and times that too. */
async function swarmTestbed() {
  const t0 = Date.now();
  await testbed("up");
  const figures = { up_s: (Date.now() - t0) / 1000, down_s: 0, daemons_rss_mb: 0 };
  figures.daemons_rss_mb = Number(/daemons total: (\d+) MB/.exec(await testbed("status"))?.[1] ?? 0);
  log(`swarm testbed up in ${figures.up_s} s, daemons ${figures.daemons_rss_mb} MB`);
  return {
    figures,
    down: async () => {
      // CRSW_KEEP: left up for the next run (the testbed's users take turns on it).
      if (process.env.CRSW_KEEP) return;
      const t1 = Date.now();
      await testbed("down");
      figures.down_s = (Date.now() - t1) / 1000;
    },
  };
}

/** Replaces what docs/evidence.md holds between `<!-- <mark>:start -->` and `<!-- <mark>:end -->`. */
function updateDocs(md: string, mark: string): void {
  const path = join(ROOT, "docs", "evidence.md");
  const text = readFileSync(path, "utf8");
  const [start, end] = [`<!-- ${mark}:start -->`, `<!-- ${mark}:end -->`];
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) {
    log("docs/evidence.md has no bench markers; table not copied");
    return;
  }
  writeFileSync(path, `${text.slice(0, a + start.length)}\n${md}\n${text.slice(b)}`);
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
