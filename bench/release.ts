// `npm run bench:release [-- --runs R]`: a whole-app release as users run one today, beside
// compose-roll's. One label-mode stack of the whole demo app (examples/demo-labels: Traefik's
// Docker provider, 3 x web, a Celery worker, beat, Redis, PostgreSQL); each run changes web's and
// the worker's image and an environment variable of both, with the worker busy on 6 s tasks and
// more queued through web meanwhile, then applies it with `docker compose up -d` or with
// `compose-roll up`, in turn (the first strategy alternates by round). Requests through Traefik
// are counted from before the command until 10 s after it returns; tasks until all are done or
// given up. Prints a table and writes it to bench/results/release-<date>.md; asserts nothing.
import { writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { isFailure, type ProbeReport } from "../test/load/probe.js";
import {
  APP_IMAGE,
  busyWorkerUnderLoad,
  countTasks,
  startAppStack,
  writeOverride,
} from "../test/support/celery.js";
import { runCli } from "../test/support/cli.js";
import { compose, type DemoStack, ROOT } from "../test/support/stack.js";
import { percentile } from "./stats.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "3" } } });
const RUNS = Number(values.runs);
const LONG_TASK = 6;
const RATE = 150;
const AFTER_MS = 10_000;
const log = (s: string) => process.stderr.write(`bench:release: ${s}\n`);

type Strategy = "docker compose up -d" | "compose-roll up";
interface Row {
  strategy: Strategy;
  round: number;
  exit: number;
  seconds: number;
  load: ProbeReport;
  queued: number;
  unfinished: number;
  startedTwice: number;
}

async function release(stack: DemoStack, strategy: Strategy, tag: string, round: number): Promise<Row> {
  const apply = async (): Promise<number> => {
    writeOverride(stack, {
      web: { image: APP_IMAGE(tag), environment: { DEMO_CHANGE: `${strategy}-${round}` } },
      worker: { image: APP_IMAGE(tag), environment: { DEMO_CHANGE: `${strategy}-${round}` } },
    });
    if (strategy === "docker compose up -d")
      return compose(stack, ["up", "-d"]).then(
        () => 0,
        () => 1,
      );
    const args = [
      ...["up", "--settle", "2s", "-p", stack.project, ...stack.files.flatMap((f) => ["-f", f])],
      ...["--traefik-api", stack.apiUrl, "--traefik-url", stack.httpUrl],
    ];
    return (await runCli(args, { cwd: stack.dir, env: stack.composeEnv })).code ?? 1;
  };
  const r = await busyWorkerUnderLoad(stack, apply, {
    taskSeconds: LONG_TASK,
    maxTasks: 60,
    probe: { maxSeconds: 300, slowMs: 1000, rate: RATE },
    afterMs: AFTER_MS,
    // Long enough for a task killed mid-run to come back after Redis's visibility timeout (20 s).
    drainMs: 90_000,
  });
  const { result: exit, seconds, load } = r;
  const c = countTasks(r.rows);
  return { strategy, round, exit, seconds, load, ...c };
}

const cell = (xs: number[], f = (x: number) => x.toFixed(0)) =>
  xs.length
    ? `${f(
        percentile(
          [...xs].sort((a, b) => a - b),
          50,
        ),
      )} (${xs.map(f).join(", ")})`
    : "-";

/** What the failed requests got: an HTTP status, or the client's error (a reset, a timeout). */
function answers(samples: ProbeReport["samples"]): string {
  const by = new Map<string, number>();
  for (const s of samples) {
    if (s.status === 200 && s.error === undefined) continue;
    const why = s.status ? String(s.status) : (s.error ?? "error").split(/[:\s]/)[0] || "error";
    by.set(why, (by.get(why) ?? 0) + 1);
  }
  return [...by].map(([k, n]) => `${k} × ${n}`).join(", ") || "-";
}

/** Seconds from the first failed request to the last one's answer (0 when none failed). */
function outage(load: ProbeReport): number {
  const failed = load.samples.filter(isFailure);
  if (!failed.length) return 0;
  return Math.max(...failed.map((s) => s.at + s.ms / 1000)) - Math.min(...failed.map((s) => s.at));
}

function table(rows: Row[]): string {
  const lines = [
    "| strategy | exit | failed / sent | failures by answer | outage s | p99 ms | tasks queued | unfinished | started twice | seconds |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const s of ["docker compose up -d", "compose-roll up"] as const) {
    const of = rows.filter((r) => r.strategy === s);
    const failed = of.reduce((n, r) => n + r.load.failed, 0);
    const sent = of.reduce((n, r) => n + r.load.sent, 0);
    lines.push(
      `| ${s} | ${of.map((r) => r.exit).join(", ")} | ${failed} / ${sent} (${of.map((r) => r.load.failed).join(", ")}) | ` +
        `${answers(of.flatMap((r) => r.load.samples))} | ${cell(
          of.map((r) => outage(r.load)),
          (x) => x.toFixed(1),
        )} | ` +
        `${cell(of.map((r) => r.load.p99))} | ${of.reduce((n, r) => n + r.queued, 0)} | ` +
        `${of.reduce((n, r) => n + r.unfinished, 0)} | ${of.reduce((n, r) => n + r.startedTwice, 0)} | ` +
        `${cell(
          of.map((r) => r.seconds),
          (x) => x.toFixed(1),
        )} |`,
    );
  }
  return lines.join("\n");
}

log("starting the whole app (examples/demo-labels)");
const stack = await startAppStack("bench-release", {
  example: "demo-labels",
  visibilityTimeout: 20,
  // The worker, beat, Redis and PostgreSQL are demo-labels' "app" profile.
  env: { TRAEFIK_THROTTLE: "2s", COMPOSE_PROFILES: "app" },
});
const rows: Row[] = [];
try {
  let tag = "v1";
  for (let round = 1; round <= RUNS; round++) {
    const order: Strategy[] =
      round % 2 ? ["docker compose up -d", "compose-roll up"] : ["compose-roll up", "docker compose up -d"];
    for (const strategy of order) {
      tag = tag === "v1" ? "v2" : "v1";
      const row = await release(stack, strategy, tag, round);
      log(
        `round ${round}, ${strategy} → ${tag}: exit ${row.exit} in ${row.seconds.toFixed(1)} s; ` +
          `${row.load.failed} of ${row.load.sent} requests failed, p99 ${row.load.p99.toFixed(0)} ms; tasks ` +
          `${row.queued} queued, ${row.unfinished} unfinished, ${row.startedTwice} started twice; load ${os.loadavg()[0]?.toFixed(1)}`,
      );
      rows.push(row);
    }
  }
} finally {
  await stack.down();
}
const date = new Date().toISOString().slice(0, 10);
const text = [
  `# A whole-app release: \`docker compose up -d\` beside \`compose-roll up\` (${date})`,
  "",
  `examples/demo-labels (Traefik's Docker provider at its default 2 s throttle), ${RUNS} rounds, the first`,
  "strategy alternating; each run changes web's and the worker's image (v1 ⇄ v2) and an environment",
  `variable of both while the worker runs 6 s tasks and more come through web; requests at ${RATE}/s`,
  `through Traefik until ${AFTER_MS / 1000} s after the command returns. Medians, then each run.`,
  "",
  table(rows),
  "",
].join("\n");
writeFileSync(join(ROOT, "bench", "results", `release-${date}.md`), text);
console.log(text);
