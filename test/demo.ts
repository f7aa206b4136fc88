// `npm run demo`: bring up a private copy of examples/demo (the whole Django app: web on
// PostgreSQL, migrated to v1's schema, a Celery worker and beat on Redis), sync Traefik's file,
// then release v1 → v2 as a user would: WEB_IMAGE and WORKER_IMAGE in .env, `compose-roll up`,
// under the load probe while tasks are queued through web and by beat. Web rolls first (the
// migration gate reads v2's plan, the pre-deploy hook migrates, each new replica is smoke checked
// and warmed), then beat stop-first and the worker start-first (the old one's warm shutdown
// finishes its tasks); db and redis are untouched. The demo prints what users saw, where the time went and
// what became of the tasks (queued, finished, lost, run twice). Then it tries v3, whose migration
// drops a column v2 still reads: the gate refuses it before anything changes, exit 6.
// `npm run demo -- --labels`: web alone with examples/demo-labels (Traefik's Docker provider,
// routed by labels, drained through the drain file; no sync, no worker): `web --image`.
// Doubles as the benchmark for issue figures: it prints measurements, it asserts nothing.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { HumanReporter } from "../cli/reporter.js";
import type { RolloutEvent } from "../controller/ports.js";
import { formatReport, LoadProbe } from "./load/probe.js";
import { APP_STARTUP_MS, countTasks, dbNow, drain, TaskLoad } from "./support/celery.js";
import { type CliRun, runCli, stackArgs } from "./support/cli.js";
import { labelsArgs, startLabelsDemo } from "./support/labels-stack.js";
import { type DemoStack, PATIENT_HEALTH, startDemo } from "./support/stack.js";

process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";

/** How long the demo waits for the tasks queued during the rollout to finish. */
const DRAIN_SECONDS = 120;
const secs = (a: unknown, b: unknown) => (Date.parse(String(b)) - Date.parse(String(a))) / 1000;
type Event = Record<string, unknown>;

/**
 * compose-roll runs compose as a user does, in the stack's directory: the variables the stack
 * came up with (its ports, the images) go into .env, where compose reads them, with `images`.
 */
function writeEnv(stack: DemoStack, images: Record<string, string>): void {
  const vars = { ...stack.composeEnv, ...images };
  writeFileSync(
    join(stack.dir, ".env"),
    Object.entries(vars)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
  );
}

/** The whole-app release: both images to `ref` in .env, then `compose-roll up`. */
async function release(stack: DemoStack, ref: string, json: boolean): Promise<CliRun> {
  writeEnv(stack, { WEB_IMAGE: ref, WORKER_IMAGE: ref });
  return runCli(["up", "-p", stack.project, ...(json ? ["--json"] : [])], { cwd: stack.dir });
}

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
  // The whole app (file mode): released with `up`, its tasks counted.
  const app = "traefikFile" in stack ? stack : undefined;
  const args = "traefikFile" in stack ? stackArgs(stack) : labelsArgs(stack);
  try {
    process.stderr.write(`demo: Traefik at ${stack.httpUrl}, API at ${stack.apiUrl}\n`);
    if (app) {
      writeEnv(app, env);
      const sync = await runCli(["sync", "web", ...args], { cwd: stack.dir });
      process.stderr.write(sync.stderr);
      if (sync.code !== 0) return sync.code ?? 1;
    }

    process.stderr.write(
      `demo: ${app ? "releasing" : "rolling web"} to ${to} under load (keep-alive, fresh and slow clients)…\n`,
    );
    // Tasks queued through web during the release, beside beat's.
    const since = app && (await dbNow(app));
    const tasks = app && new TaskLoad(app, { everyMs: 2000, maxTasks: 120, maxSeconds: 240 }).start();
    const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 300, slowMs: 2000 }).start();
    const t0 = Date.now();
    const run = app
      ? await release(app, to, true)
      : await runCli(["web", "--image", to, ...args, "--json"], { cwd: stack.dir });
    const wall = (Date.now() - t0) / 1000;
    const load = await probe.stop();
    const queued = await tasks?.stop();
    const summary = run.events.find((e) => e.type === "release");
    for (const e of run.events)
      if (e !== summary) process.stderr.write(`  ${HumanReporter.text(e as unknown as RolloutEvent)}\n`);
    process.stderr.write(run.stderr);

    console.log("");
    const rolled = summary ? ` (release ${summary.id}: ${(summary.rolled as string[]).join(", ")})` : "";
    console.log(
      `${app ? "release" : "rollout"} ${from} → ${to}: exit ${run.code} in ${wall.toFixed(1)} s${rolled}`,
    );
    console.log(`  ${formatReport(load)}`);
    console.log(`  releases answered, in order: ${load.releases.join(" → ")}`);
    printWeb(run.events, new Date(t0).toISOString());
    // Past web's "done" only: a web rollout that failed rolled nothing else.
    if (app && run.events.some((e) => e.type === "done" && e.result === "complete"))
      printWorkers(run.events, new Date(t0 + wall * 1000).toISOString());
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
    if (!app || run.code !== 0) return run.code === 0 && load.failed === 0 && tasksOk ? 0 : 1;

    // The gate's refusal: v3 drops the column v2's replicas still read.
    const v3 = "compose-roll-demo/app:v3";
    process.stderr.write(
      `\ndemo: now ${v3} (WEB_IMAGE and WORKER_IMAGE), whose migration drops visits.user_agent (which v2 still reads)…\n`,
    );
    const refused = await release(app, v3, false);
    process.stderr.write(refused.stderr);
    console.log(`release → ${v3}: exit ${refused.code} (6: refused by the migration gate, nothing changed)`);
    return run.code === 0 && load.failed === 0 && tasksOk && refused.code === 6 ? 0 : 1;
  } finally {
    await stack.down();
  }
}

/**
 * Web's rollout (its events from "start" to "done"; the pulls before are the image check, `start`
 * when compose-roll was run):
 * where the time went, the app's own boot (adding → healthy) versus compose-roll's steps
 * around it (probe and Traefik reloads, draining, stopping).
 */
function printWeb(events: Event[], start: string): void {
  const first = events.findIndex((e) => e.type === "start");
  const end = events.findIndex((e) => e.type === "done");
  const web = events.slice(Math.max(first, 0), end < 0 ? undefined : end + 1);
  const at = (name: unknown, state: string) =>
    web.find((e) => e.type === "replica" && e.name === name && e.state === state)?.time;
  const started = web.filter((e) => e.type === "replica" && e.state === "adding");
  const boot = started.reduce((sum, e) => sum + secs(e.time, at(e.name, "healthy")), 0);
  const total = web.length ? secs(web[0]?.time, web.at(-1)?.time) : Number.NaN;
  console.log(
    `  web: rollout ${total.toFixed(1)} s for ${started.length} replica(s): app boot ${boot.toFixed(1)} s, ` +
      `compose-roll (probe, Traefik reloads, drain, stop) ${(total - boot).toFixed(1)} s`,
  );
  // The same total split by the step each stretch of the loop ended with ("removed" comes
  // from drains in the background and is skipped): healthy = the app booting, routed =
  // Traefik listing it + the live proof, draining = taking an old one out of Traefik,
  // adding = starting a container, done = the last drain and stop.
  const steps = web.filter((e) => !(e.type === "replica" && e.state === "removed"));
  const phases = new Map<string, number>();
  for (let i = 1; i < steps.length; i++) {
    const e = steps[i] as Event;
    const key = String(e.type === "replica" ? e.state : e.type);
    phases.set(key, (phases.get(key) ?? 0) + secs(steps[i - 1]?.time, e.time));
  }
  console.log(`  by step: ${[...phases].map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(", ")}`);
  // Before the first replica: compose's plan, the image check, the migration gate, the pre-deploy hook.
  console.log(
    `  before web's first replica: ${secs(start, web[0]?.time).toFixed(1)} s (plan, image check, gate, pre-deploy)`,
  );
  const hook = events
    .slice(0, end < 0 ? undefined : end)
    .find((e) => e.type === "hook" && e.hook === "pre-deploy" && e.state !== "running");
  if (hook)
    console.log(
      `  pre-deploy \`${(hook.argv as string[]).join(" ")}\`: ${hook.state} in ${hook.seconds} s, before any replica changed`,
    );
}

/**
 * After web, the services Traefik does not route, one after another (their replica events name
 * the service as `image`): the new container's boot (adding → healthy) and the old one's stop
 * (draining → the next service's first event; for the last one, until `up` returned, which
 * includes removing the old containers and recording the release).
 */
function printWorkers(events: Event[], end: string): void {
  const done = events.findIndex((e) => e.type === "done");
  const rest = events.slice(done + 1).filter((e) => e.type === "replica");
  const services = [...new Set(rest.map((e) => String(e.image)))];
  for (const [i, service] of services.entries()) {
    const own = rest.filter((e) => e.image === service);
    const t = (state: string) => own.find((e) => e.state === state)?.time;
    const next = rest.find((e) => e.image === services[i + 1])?.time;
    const stopFirst = own[0]?.state === "draining";
    const stopped = stopFirst ? t("adding") : (next ?? end);
    const until = stopFirst || next ? "" : " (until `up` returned)";
    console.log(
      `  ${service} (${stopFirst ? "stop-first" : "start-first"}): new container healthy after ${secs(t("adding"), t("healthy")).toFixed(1)} s, ` +
        `old one stopped in ${secs(t("draining"), stopped).toFixed(1)} s${until} (${String(own.find((e) => e.state === "draining")?.detail ?? "")})`,
    );
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
