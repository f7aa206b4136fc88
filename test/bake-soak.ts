// `npm run test:bake-soak`: consecutive baked rollouts of good releases (v1 ⇄ v2) on the
// minimal stack under load, to show the bake does not roll back a good release on this
// machine's noise, and to measure that noise: per verdict, the new replicas' 5xx rate and p99
// against the old ones' in the same seconds. Then the access log's cost: plain rollouts on a
// stack without it and one with it. Prints a JSON summary; exits 1 on any false rollback.
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LoadProbe } from "./load/probe.js";
import { type CliRun, runCli, stackArgs } from "./support/cli.js";
import { type DemoStack, PATIENT_HEALTH, startDemo } from "./support/stack.js";

process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true"; // Ryuk's image cannot be pulled here

const ROLLOUTS = Number(process.env.BAKE_SOAK_ROLLOUTS ?? 10);
const BAKE = process.env.BAKE_SOAK_BAKE ?? "15s";
const COST_ROLLOUTS = Number(process.env.BAKE_SOAK_COST_ROLLOUTS ?? 3);
const IMAGES = ["compose-roll-demo/app:v2", "compose-roll-demo/app:v1"];

interface Figures {
  requests: number;
  errors: number;
  p99?: number;
}

const load = (stack: DemoStack) =>
  new LoadProbe({
    url: stack.httpUrl,
    keepAliveClients: 4,
    freshClients: 2,
    slowClients: 0,
    paths: ["/", "/slow/?ms=20"],
    maxSeconds: 600,
  }).start();

async function roll(stack: DemoStack, image: string, extra: string[]) {
  const probe = load(stack);
  const t0 = performance.now();
  const run: CliRun = await runCli(["web", "--image", image, ...extra, ...stackArgs(stack), "--json"], {
    cwd: stack.dir,
    timeoutMs: 600_000,
  });
  const seconds = (performance.now() - t0) / 1000;
  const report = await probe.stop();
  return { run, seconds, report };
}

async function up(name: string, accessLog: boolean): Promise<DemoStack> {
  const stack = await startDemo(
    name,
    {},
    {
      ...PATIENT_HEALTH,
      prepare: (dir: string) => {
        PATIENT_HEALTH.prepare?.(dir);
        // Traefik's healthcheck exec alone took 2.5-3.8 s at load 60: its 2 s timeout failed `up`.
        appendFileSync(
          join(dir, "compose.override.yaml"),
          "  traefik:\n    healthcheck:\n      timeout: 6s\n",
        );
        if (accessLog) return;
        // Without the access log: the example's command minus its two flags.
        const file = join(dir, "compose.yaml");
        const text = readFileSync(file, "utf8")
          .split("\n")
          .filter((l) => !/--accesslog/.test(l))
          .join("\n");
        writeFileSync(file, text);
      },
    },
  );
  const sync = await runCli(["sync", "web", ...stackArgs(stack)], { cwd: stack.dir });
  if (sync.code !== 0) throw new Error(`sync failed: ${sync.stderr}`);
  return stack;
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function soak() {
  const stack = await up("bake-soak", true);
  const verdicts: { rollout: number; state: string; fresh: Figures; old: Figures; seconds: number }[] = [];
  const runs: { image: string; exit: number | null; seconds: number; sent: number; failed: number }[] = [];
  try {
    let on = 1; // the stack starts on v1; a rollback leaves it where it was
    for (let i = 0; i < ROLLOUTS; i++) {
      const image = IMAGES[on === 1 ? 0 : 1] as string;
      // Every other rollout with a 25 % canary: fewer requests on the new side, more noise.
      const canary = i % 2 ? ["--canary", "25"] : [];
      const { run, seconds, report } = await roll(stack, image, ["--bake", BAKE, ...canary]);
      runs.push({ image, exit: run.code, seconds: round(seconds), sent: report.sent, failed: report.failed });
      if (run.code === 0) on = on === 1 ? 2 : 1;
      for (const e of run.events) {
        if (e.type !== "bake" || e.state === "baking") continue;
        verdicts.push({
          rollout: i + 1,
          state: String(e.state),
          fresh: e.fresh as Figures,
          old: e.old as Figures,
          seconds: Number(e.seconds),
        });
      }
      console.error(
        `rollout ${i + 1}/${ROLLOUTS} → ${image}: exit ${run.code} in ${round(seconds)} s; load ${report.sent} sent, ${report.failed} failed`,
      );
      if (run.code !== 0) console.error(run.stderr);
    }
  } finally {
    await stack.down();
  }
  const judged = verdicts.filter((v) => v.state !== "not-enough-data");
  const rate = (f: Figures) => (f.requests ? (100 * f.errors) / f.requests : 0);
  const ratios = judged
    .filter((v) => v.fresh.p99 && v.old.p99)
    .map((v) => (v.fresh.p99 as number) / (v.old.p99 as number));
  return {
    rollouts: runs,
    falseRollbacks: verdicts.filter((v) => v.state === "breach").length,
    otherFailures: runs.filter((r) => r.exit !== 0).length,
    verdicts: verdicts.length,
    byState: Object.fromEntries(
      ["ok", "breach", "not-enough-data"].map((s) => [s, verdicts.filter((v) => v.state === s).length]),
    ),
    noise: {
      errorPointsMax: round(Math.max(0, ...judged.map((v) => rate(v.fresh) - rate(v.old))), 2),
      p99RatioMedian: round(median(ratios), 2),
      p99RatioMax: round(Math.max(0, ...ratios), 2),
      p99DiffMaxMs: round(Math.max(0, ...judged.map((v) => (v.fresh.p99 ?? 0) - (v.old.p99 ?? 0)))),
      newRequestsMin: Math.min(...verdicts.map((v) => v.fresh.requests)),
      newRequestsMedian: median(verdicts.map((v) => v.fresh.requests)),
    },
    verdictList: verdicts,
  };
}

/** Plain rollouts (no bake) with and without the access log, interleaved: does the log cost anything? */
async function cost() {
  const out: Record<string, { seconds: number[]; p99: number[]; sent: number[]; failed: number }> = {};
  for (const accessLog of [false, true]) {
    const key = accessLog ? "withAccessLog" : "withoutAccessLog";
    const stack = await up(`bake-cost-${accessLog ? "on" : "off"}`, accessLog);
    const m = { seconds: [] as number[], p99: [] as number[], sent: [] as number[], failed: 0 };
    try {
      for (let i = 0; i < COST_ROLLOUTS; i++) {
        const { run, seconds, report } = await roll(stack, IMAGES[i % 2] as string, []);
        if (run.code !== 0) throw new Error(`cost rollout failed (exit ${run.code}): ${run.stderr}`);
        m.seconds.push(round(seconds));
        m.p99.push(report.p99);
        m.sent.push(report.sent);
        m.failed += report.failed;
      }
    } finally {
      await stack.down();
    }
    out[key] = m;
    console.error(`${key}: ${JSON.stringify(m)}`);
  }
  return out;
}

// BAKE_SOAK_ROLLOUTS=0: the cost phase alone.
const soaked = ROLLOUTS > 0 ? await soak() : undefined;
if (soaked) {
  const { verdictList, ...summary } = soaked;
  // The soak's figures first (the cost phase takes a while, and may be cut short).
  console.log(JSON.stringify({ bake: BAKE, ...summary, verdicts: verdictList }, null, 2));
}
if (COST_ROLLOUTS > 0) console.log(JSON.stringify({ cost: await cost() }, null, 2));
// A false rollback is a bake that judged a good release worse; a health failure on an
// overloaded host is counted in `rollouts` but is not the bake's.
process.exit((soaked?.byState.breach ?? 0) === 0 ? 0 : 1);
