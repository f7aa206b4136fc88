// `npm run demo`: bring up a private copy of examples/demo (the whole Django app: web on
// PostgreSQL, migrated to v1's schema, a Celery worker and beat on Redis), sync Traefik's file,
// then roll web v1 → v2 under the load probe while tasks are queued through web and by beat: the
// migration gate reads v2's plan, the pre-deploy hook migrates, each new replica is smoke
// checked and warmed, and the demo prints what users saw, where the time went and what became of
// the tasks (queued, finished, lost, run twice). Then it tries v3, whose migration drops a column
// v2 still reads: the gate refuses it, exit 6.
// `npm run demo -- --labels`: the same with examples/demo-labels (Traefik's Docker provider,
// routed by labels, drained through the drain file; no sync).
// Doubles as the benchmark for issue figures: it prints measurements, it asserts nothing.
import { HumanReporter } from "../cli/reporter.js";
import type { RolloutEvent } from "../controller/ports.js";
import { formatReport, LoadProbe } from "./load/probe.js";
import { APP_STARTUP_MS, countTasks, dbNow, drain, TaskLoad } from "./support/celery.js";
import { runCli, stackArgs } from "./support/cli.js";
import { labelsArgs, startLabelsDemo } from "./support/labels-stack.js";
import { PATIENT_HEALTH, startDemo } from "./support/stack.js";

process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";

/** How long the demo waits for the tasks queued during the rollout to finish. */
const DRAIN_SECONDS = 120;
const secs = (a: unknown, b: unknown) => (Date.parse(String(b)) - Date.parse(String(a))) / 1000;

async function main(): Promise<number> {
  const labels = process.argv.includes("--labels");
  const [from = "compose-roll-demo/app:v1", to = "compose-roll-demo/app:v2"] = process.argv
    .slice(2)
    .filter((a) => a !== "--labels");
  const example = labels ? "examples/demo-labels" : "examples/demo";
  process.stderr.write(
    `demo: bringing up Traefik + 3 x ${from}${labels ? "" : ", a Celery worker and beat, Redis and PostgreSQL"} (${example})…\n`,
  );
  const env = { WEB_IMAGE: from, WORKER_IMAGE: from };
  const stack = labels
    ? await startLabelsDemo("demo", env)
    : // PATIENT_HEALTH: on a loaded host the image's 3 s probe can time out while web still
      // serves, and compose-roll then rightly retires that old replica first, as unhealthy.
      await startDemo("demo", env, {
        ...PATIENT_HEALTH,
        example: "demo",
        migrate: true,
        startupTimeoutMs: APP_STARTUP_MS,
      });
  const args = "traefikFile" in stack ? stackArgs(stack) : labelsArgs(stack);
  try {
    process.stderr.write(`demo: Traefik at ${stack.httpUrl}, API at ${stack.apiUrl}\n`);
    if ("traefikFile" in stack) {
      const sync = await runCli(["sync", "web", ...args], { cwd: stack.dir });
      process.stderr.write(sync.stderr);
      if (sync.code !== 0) return sync.code ?? 1;
    }

    process.stderr.write(`demo: rolling to ${to} under load (keep-alive, fresh and slow clients)…\n`);
    // The whole app (file mode): tasks queued through web during the rollout, beside beat's.
    const app = "traefikFile" in stack ? stack : undefined;
    const since = app && (await dbNow(app));
    const tasks = app && new TaskLoad(app, { everyMs: 2000, maxTasks: 120, maxSeconds: 240 }).start();
    const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 300, slowMs: 2000 }).start();
    // WHOLE-APP RELEASE — not on this branch yet: once `compose-roll up` exists, this is where
    // the demo runs it (web AND worker to `to`, beat stop-first, db and redis untouched) in place
    // of `web --image`, and the task counts below become the worker's rollout's too. Until then
    // only web rolls; worker and beat stay on `from`.
    const run = await runCli(["web", "--image", to, ...args, "--json"], { cwd: stack.dir });
    const load = await probe.stop();
    const queued = await tasks?.stop();
    for (const e of run.events)
      process.stderr.write(`  ${HumanReporter.text(e as unknown as RolloutEvent)}\n`);
    process.stderr.write(run.stderr);

    // Where the time went: the app's own boot (adding → healthy) versus compose-roll's
    // steps around it (probe and Traefik reloads, draining, stopping).
    const at = (name: unknown, state: string) =>
      run.events.find((e) => e.type === "replica" && e.name === name && e.state === state)?.time;
    const started = run.events.filter((e) => e.type === "replica" && e.state === "adding");
    const boot = started.reduce((sum, e) => sum + secs(e.time, at(e.name, "healthy")), 0);
    // From "start": the pull events before it are the image check, not the rollout.
    const first = (run.events.find((e) => e.type === "start") ?? run.events[0])?.time;
    const last = run.events.at(-1)?.time;
    const total = first && last ? secs(first, last) : Number.NaN;

    console.log("");
    console.log(`rollout ${from} → ${to}: exit ${run.code}`);
    console.log(`  ${formatReport(load)}`);
    console.log(`  releases answered, in order: ${load.releases.join(" → ")}`);
    console.log(
      `  rollout ${total.toFixed(1)} s for ${started.length} replica(s): app boot ${boot.toFixed(1)} s, ` +
        `compose-roll (probe, Traefik reloads, drain, stop) ${(total - boot).toFixed(1)} s`,
    );
    // The same total split by the step each stretch of the loop ended with ("removed" comes
    // from drains in the background and is skipped): healthy = the app booting, routed =
    // Traefik listing it + the live proof, draining = taking an old one out of Traefik,
    // adding = starting a container, done = the last drain and stop.
    const steps = run.events.filter((e) => !(e.type === "replica" && e.state === "removed"));
    const phases = new Map<string, number>();
    for (let i = 1; i < steps.length; i++) {
      const e = steps[i] as Record<string, unknown>;
      const key = String(e.type === "replica" ? e.state : e.type);
      phases.set(key, (phases.get(key) ?? 0) + secs(steps[i - 1]?.time, e.time));
    }
    console.log(`  by step: ${[...phases].map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(", ")}`);
    const hook = run.events.find(
      (e) => e.type === "hook" && e.hook === "pre-deploy" && e.state !== "running",
    );
    if (hook)
      console.log(
        `  pre-deploy \`${(hook.argv as string[]).join(" ")}\`: ${hook.state} in ${hook.seconds} s, before any replica changed`,
      );
    let tasksOk = true;
    if (app && since && queued) {
      // Web and beat each queue one task every 2 s; the worker runs 4 at a time, 3 s each.
      const c = countTasks(await drain(app, { since, until: await dbNow(app) }, DRAIN_SECONDS * 1000));
      const workers = Object.entries(c.byWorker).map(([w, n]) => `${n} on ${w}`);
      console.log(
        `  tasks (Celery on Redis, ${queued.ids.length} queued through web, the rest by beat): queued ${c.queued}, ` +
          `finished ${c.finished} (${workers.join(", ") || "none"}), unfinished after ${DRAIN_SECONDS} s (lost) ${c.unfinished}, run twice ${c.startedTwice + c.finishedTwice}` +
          (queued.errors.length
            ? `; ${queued.errors.length} enqueue request(s) failed: ${queued.errors[0]}`
            : ""),
      );
      tasksOk = c.unfinished === 0 && c.startedTwice + c.finishedTwice === 0 && queued.errors.length === 0;
    }
    if (labels || run.code !== 0) return run.code === 0 && load.failed === 0 && tasksOk ? 0 : 1;

    // The gate's refusal: v3 drops the column v2's replicas still read.
    const v3 = "compose-roll-demo/app:v3";
    process.stderr.write(
      `\ndemo: now ${v3}, whose migration drops visits.user_agent (which v2 still reads)…\n`,
    );
    const refused = await runCli(["web", "--image", v3, ...args], { cwd: stack.dir });
    process.stderr.write(refused.stderr);
    console.log(`rollout → ${v3}: exit ${refused.code} (6: refused by the migration gate, nothing changed)`);
    return run.code === 0 && load.failed === 0 && tasksOk && refused.code === 6 ? 0 : 1;
  } finally {
    await stack.down();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`demo: ${err.message}\n`);
    process.exitCode = 1;
  },
);
