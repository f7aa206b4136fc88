// `npm run bench:create [-- --runs 2] [-- --n 3]`: what compose's own create costs against
// compose-roll's clone, per step and per rollout. On one stack (file mode), rollouts alternate
// v1 → v2 → v1 … taking turns between the clone (only the image changes) and compose's create
// (COMPOSE_ROLL_BENCH_CREATE=compose, the path a configuration change takes), so the machine's
// load drifts over both alike. Prints each run and the medians; no load is sent.
import { parseArgs } from "node:util";
import { runCli } from "../test/support/cli.js";
import { PATIENT_HEALTH, startDemo } from "../test/support/stack.js";

// Ryuk's image cannot be pulled here (no registry); the stack is taken down at the end.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "2" }, n: { type: "string", default: "3" } },
});
const runs = Number(values.runs);
const n = Number(values.n);
const app = (tag: string) => `compose-roll-demo/app:${tag}`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

const stack = await startDemo("bench-create-routed", {}, PATIENT_HEALTH);
const rows: { how: string; seconds: number; createMs: number[] }[] = [];
try {
  const flags = ["-p", stack.project, "--json"];
  const sync = await runCli(["sync", "web", "-p", stack.project], { cwd: stack.dir, env: stack.composeEnv });
  if (sync.code !== 0) throw new Error(sync.stderr);
  if (n !== 3)
    await runCli(["web", "--scale", `web=${n}`, ...flags], { cwd: stack.dir, env: stack.composeEnv });
  let tag = "v1";
  for (let i = 0; i < runs * 2; i++) {
    const how = i % 2 === 0 ? "clone" : "compose create";
    tag = tag === "v1" ? "v2" : "v1";
    const env = { ...stack.composeEnv, ...(how === "clone" ? {} : { COMPOSE_ROLL_BENCH_CREATE: "compose" }) };
    const run = await runCli(["web", "--image", app(tag), "--scale", `web=${n}`, ...flags], {
      cwd: stack.dir,
      env,
    });
    if (run.code !== 0) throw new Error(`${how} exit ${run.code}: ${run.stderr}`);
    const done = run.events.find((e) => e.type === "done") as { seconds: number } | undefined;
    const createMs = run.events.flatMap((e) =>
      e.type === "replica" && e.state === "adding"
        ? [Number(/created in (\d+) ms/.exec(String(e.detail))?.[1])]
        : [],
    );
    rows.push({ how, seconds: done?.seconds ?? Number.NaN, createMs });
    console.log(`${how}: ${done?.seconds} s, create+start per step ${createMs.join(", ")} ms`);
  }
} finally {
  await stack.down();
}
for (const how of ["clone", "compose create"]) {
  const mine = rows.filter((r) => r.how === how);
  console.log(
    `${how}: median rollout ${median(mine.map((r) => r.seconds))} s, median create+start ${median(mine.flatMap((r) => r.createMs))} ms (N=${n}, ${mine.length} runs)`,
  );
}
