// The whole-app rows of `npm run bench`: a release of web AND the Celery worker (image and an
// environment variable of both) on the whole demo app in label mode (examples/demo-labels with
// its "app" profile: Traefik's Docker provider, 3 x web, a worker, beat, Redis, PostgreSQL),
// applied as users do today (`docker compose up -d`) or with `compose-roll up`. The worker is
// kept busy on long tasks, more queued through web meanwhile; the run counts them afterwards
// (bench:release is the same comparison alone, with the tasks in more detail).
import { busyWorker, countTasks, startAppStack, writeOverride } from "../test/support/celery.js";
import { compose, type DemoStack } from "../test/support/stack.js";
import type { Stack } from "./stacks.js";
import { cli, type Outcome, type Strategy } from "./strategies.js";

/** Seconds each task sleeps: longer than a worker takes to get its SIGTERM. */
const LONG_TASK = 6;

/** What became of the tasks queued while a whole-app release ran. */
export interface TaskFigures {
  queued: number;
  finished: number;
  /** Never finished within the drain: lost. */
  lost: number;
  startedTwice: number;
}

const apps = new WeakMap<Stack, DemoStack>();

/** The whole demo app as a bench Stack (its own free ports, migrated, worker and beat healthy). */
export async function appUp(): Promise<Stack> {
  const demo = await startAppStack("bench-app", {
    example: "demo-labels",
    // A task a killed worker held comes back after this; the drain below waits longer.
    visibilityTimeout: 20,
    env: { TRAEFIK_THROTTLE: "2s", COMPOSE_PROFILES: "app" },
  });
  const stack: Stack = {
    dir: demo.dir,
    project: demo.project,
    routing: "labels",
    replicas: 3,
    env: demo.composeEnv,
    httpUrl: demo.httpUrl,
    apiUrl: demo.apiUrl,
    compose: async (args, extraEnv) => (await compose(demo, args, extraEnv)).stdout,
    down: () => demo.down(),
  };
  apps.set(stack, demo);
  return stack;
}

function demoOf(stack: Stack): DemoStack {
  const demo = apps.get(stack);
  if (!demo) throw new Error(`${stack.project} is not a whole-app stack (bench/app.ts appUp)`);
  return demo;
}

/** The worker kept busy (test/support/celery.ts busyWorker); the function returned counts the tasks. */
export async function busyWorkerOn(stack: Stack): Promise<() => Promise<TaskFigures>> {
  const finish = await busyWorker(demoOf(stack), { taskSeconds: LONG_TASK, maxTasks: 60, drainMs: 90_000 });
  return async () => {
    const c = countTasks((await finish()).rows);
    return { queued: c.queued, finished: c.finished, lost: c.unfinished, startedTwice: c.startedTwice };
  };
}

/** Pins web and the worker to `to` with a changed environment variable, as a release does. */
function release(stack: Stack, to: string): void {
  const change = { DEMO_CHANGE: `bench-${to}-${Date.now()}` };
  writeOverride(demoOf(stack), {
    web: { image: to, environment: change },
    worker: { image: to, environment: change },
  });
}

/** A whole-app strategy: pin the release in the files, then apply it with `apply`. */
function wholeApp(name: string, apply: (stack: Stack) => Promise<Outcome>): Strategy {
  return {
    name: `whole app: ${name}`,
    routing: "labels",
    stack: { app: true },
    async roll(stack, to) {
      release(stack, to);
      return apply(stack);
    },
  };
}

const composeUp = wholeApp("docker compose up -d", async (stack) => {
  await stack.compose(["up", "-d"]);
  return { ok: true };
});

const composeRollUp = wholeApp("compose-roll up", async (stack) => {
  const files = demoOf(stack).files.flatMap((f) => ["-f", f]);
  const res = await cli(stack, ["up", "--settle", "2s", "--json", ...files]);
  return {
    ok: res.code === 0,
    ...(res.rss_mb ? { rss_mb: res.rss_mb } : {}),
    ...(res.code === 0 ? {} : { detail: res.stderr.trim().split("\n").slice(-3).join(" | ") }),
  };
});

export const APP_STRATEGIES: Strategy[] = [composeUp, composeRollUp];
