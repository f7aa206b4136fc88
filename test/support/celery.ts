// The whole demo app for e2e tests (examples/demo: Traefik, 3 x web, a Celery worker, celery beat,
// Redis, PostgreSQL) and the means to count its tasks. Every jobs.work task has one row in
// PostgreSQL (images/demo-app/jobs): who queued it, which worker container and release started
// and finished it, and how many times. A release that loses a task leaves a row never finished; one
// that runs a task twice leaves starts or finishes above 1.
import { writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import Docker from "dockerode";
import { stringify } from "yaml";
import { LoadProbe, type ProbeOptions, type ProbeReport } from "../load/probe.js";
import {
  compose,
  type DemoStack,
  IDLE_INTERVAL,
  LABEL_MODE_TIMEOUT,
  PATIENT_INTERVAL,
  startDemo,
} from "./stack.js";

export const APP_IMAGE = (tag: string) => `compose-roll-demo/app:${tag}`;

/**
 * How long the whole app may take to become healthy: eight containers, four of them Python apps
 * booting at once, took over testcontainers' default 60 s on the shared 2-core testbed.
 */
export const APP_STARTUP_MS = 180_000;

export interface AppStackOptions {
  /** examples/demo (Traefik's file provider, the default) or examples/demo-labels (its labels). */
  example?: "demo" | "demo-labels";
  /** Image of web (WEB_IMAGE), default compose-roll-demo/app:v1. */
  webImage?: string;
  /** Image of worker and beat (WORKER_IMAGE), default compose-roll-demo/app:v1. */
  workerImage?: string;
  /** Seconds each task sleeps (TASK_SECONDS, default 3). */
  taskSeconds?: number;
  /** Beat queues one task every this many seconds; 0: beat queues nothing (BEAT_INTERVAL, default 2). */
  beatInterval?: number;
  /** Seconds before Redis hands an unacknowledged task to another worker (VISIBILITY_TIMEOUT, default 30). */
  visibilityTimeout?: number;
  /** More compose variables (ports are chosen by startDemo). */
  env?: Record<string, string>;
}

/** Per-service settings the tests change the way a user would: in compose.override.yaml. */
export interface ServiceOverride {
  /** The image, as a user pins a release in the override instead of .env. */
  image?: string;
  environment?: Record<string, string>;
  stop_grace_period?: string;
}

/**
 * Starts examples/demo under its own project name (cr-<name>-<pid>) on free loopback ports,
 * migrated, with worker and beat healthy. `stack.down()` removes everything, named volumes too.
 * The stack's files are compose.yaml + compose.override.yaml (writeOverride rewrites the latter).
 */
export async function startAppStack(name: string, opts: AppStackOptions = {}): Promise<DemoStack> {
  const env: Record<string, string> = {
    WEB_IMAGE: opts.webImage ?? APP_IMAGE("v1"),
    WORKER_IMAGE: opts.workerImage ?? APP_IMAGE("v1"),
    ...(opts.taskSeconds !== undefined && { TASK_SECONDS: String(opts.taskSeconds) }),
    ...(opts.beatInterval !== undefined && { BEAT_INTERVAL: String(opts.beatInterval) }),
    ...(opts.visibilityTimeout !== undefined && { VISIBILITY_TIMEOUT: String(opts.visibilityTimeout) }),
    ...opts.env,
  };
  const stack = await startDemo(name, env, {
    example: opts.example ?? "demo",
    files: ["compose.yaml", "compose.override.yaml"],
    prepare: (dir) => writeFileSync(join(dir, "compose.override.yaml"), overrideYaml(dir, {})),
    migrate: true,
    startupTimeoutMs: APP_STARTUP_MS,
  });
  try {
    await waitHealthy(stack, "worker");
    await waitHealthy(stack, "beat");
  } catch (err) {
    await stack.down();
    throw err;
  }
  return stack;
}

/**
 * The override every app stack runs with: healthchecks as patient as PATIENT_HEALTH's (under load
 * averages of 50+ on the shared testbed, python3 starts slowly, initdb alone outlasts db's 30 s
 * start period, and a probe can take over 3 s), plus the given per-service settings. Compose
 * merges healthcheck fields one by one, so the probes themselves stay the example's.
 */
function overrideYaml(dir: string, services: Record<string, ServiceOverride>): string {
  const patient = { healthcheck: { timeout: "6s", start_period: "120s" } };
  const idle = { healthcheck: { ...patient.healthcheck, interval: IDLE_INTERVAL } };
  // Label mode keeps its example's probe and 1 s interval: its drains wait for the drain file
  // to fail the check.
  const web =
    basename(dir) === "demo-labels"
      ? { healthcheck: { ...patient.healthcheck, timeout: LABEL_MODE_TIMEOUT } }
      : {
          healthcheck: {
            test: ["CMD", "python3", "/app/healthcheck.py"],
            interval: PATIENT_INTERVAL,
            retries: 3,
            ...patient.healthcheck,
          },
        };
  const all: Record<string, object> = {
    traefik: idle,
    web,
    db: idle,
    redis: idle,
    beat: patient,
    worker: patient,
  };
  for (const [name, o] of Object.entries(services)) all[name] = { ...all[name], ...o };
  return stringify({ services: all });
}

/** Rewrites compose.override.yaml with these settings (web's patient healthcheck stays). */
export function writeOverride(stack: DemoStack, services: Record<string, ServiceOverride>): void {
  writeFileSync(join(stack.dir, "compose.override.yaml"), overrideYaml(stack.dir, services));
}

const docker = new Docker();

/**
 * Counts the service's running containers from the engine's start and die events, live from now
 * until `stop()` (the engine keeps only its last 256 events, which a busy host's health checks
 * fill in seconds, so they cannot be asked for afterwards): the most at once, and the events.
 */
export async function watchRunning(stack: DemoStack, service: string, runningAtStart: number) {
  const stream = (await docker.getEvents({
    filters: {
      type: ["container"],
      event: ["start", "die"],
      label: [`com.docker.compose.project=${stack.project}`, `com.docker.compose.service=${service}`],
    },
  })) as NodeJS.ReadableStream & { destroy(): void };
  const events: string[] = [];
  let now = runningAtStart;
  let most = now;
  let rest = "";
  stream.on("data", (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split("\n");
    rest = lines.pop() ?? "";
    for (const l of lines.filter((x) => x.trim())) {
      const e = JSON.parse(l) as { status: string; id: string };
      now += e.status === "start" ? 1 : -1;
      most = Math.max(most, now);
      events.push(`${e.status} ${e.id.slice(0, 12)}`);
    }
  });
  return {
    stop(): { most: number; events: string[] } {
      stream.destroy();
      return { most, events };
    },
  };
}

/** The service's containers (running or not), as compose labels them. */
export async function serviceContainers(stack: DemoStack, service: string) {
  return docker.listContainers({
    all: true,
    filters: {
      label: [`com.docker.compose.project=${stack.project}`, `com.docker.compose.service=${service}`],
    },
  });
}

/** Waits until every container of the service is running and healthy (all, and at least one). */
export async function waitHealthy(stack: DemoStack, service: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let states: string[] = [];
  while (Date.now() < deadline) {
    const list = await serviceContainers(stack, service);
    states = await Promise.all(
      list.map(async (c) => (await docker.getContainer(c.Id).inspect()).State.Health?.Status ?? c.State),
    );
    if (states.length > 0 && states.every((s) => s === "healthy")) return;
    await sleep(500);
  }
  throw new Error(
    `${stack.project}: ${service} is not healthy after ${timeoutMs} ms (${states.join(", ") || "no container"})`,
  );
}

/**
 * Container hostname (its ID's first 12 characters, what the task rows name) → container name,
 * for the service's containers now. Take it before a release: removed containers are gone after.
 */
export async function workerNames(stack: DemoStack, service = "worker"): Promise<Map<string, string>> {
  const list = await serviceContainers(stack, service);
  return new Map(list.map((c) => [c.Id.slice(0, 12), (c.Names[0] ?? c.Id).replace(/^\//, "")]));
}

/** Runs SQL in the stack's PostgreSQL (as the demo user, through the db container's socket). */
export async function psql(stack: DemoStack, sql: string): Promise<string> {
  const { stdout } = await compose(stack, [
    "exec",
    "-T",
    "db",
    "psql",
    "-U",
    "demo",
    "-d",
    "demo",
    "-X",
    "-At",
    "-c",
    sql,
  ]);
  return stdout.trim();
}

/** The database's clock now, as a timestamp the task queries accept (the host's may differ). */
export async function dbNow(stack: DemoStack): Promise<string> {
  return psql(stack, "SELECT to_json(clock_timestamp())#>>'{}'");
}

export interface TaskRow {
  id: string;
  queued_at: string | null;
  /** "beat", or "web <hostname>" for a task queued through POST /tasks/enqueue/. */
  queued_by: string;
  started_at: string | null;
  /** The first start's worker: its container hostname and app release. */
  started_by: string;
  started_release: string;
  starts: number;
  finished_at: string | null;
  /** The last finish's worker. */
  finished_by: string;
  finished_release: string;
  finishes: number;
}

/** A window of the task record: tasks queued at or after `since`, and before `until` if given. */
export interface Window {
  since: string;
  until?: string;
}

const TIMESTAMP = /^\d{4}-\d\d-\d\dT[\d:.]+([+-]\d\d:\d\d|Z)?$/;

/** The rows of tasks queued in the window (rows without queued_at, written by a worker, are left out). */
export async function taskRows(stack: DemoStack, w: Window): Promise<TaskRow[]> {
  for (const t of [w.since, w.until])
    if (t !== undefined && !TIMESTAMP.test(t)) throw new Error(`not a timestamp: ${t}`);
  const until = w.until ? ` AND queued_at < '${w.until}'` : "";
  const json = await psql(
    stack,
    `SELECT coalesce(json_agg(t ORDER BY queued_at), '[]') FROM jobs_taskrun t WHERE queued_at >= '${w.since}'${until}`,
  );
  return JSON.parse(json) as TaskRow[];
}

export interface TaskCounts {
  queued: number;
  started: number;
  finished: number;
  /** Queued and never finished: lost, or still to run (the caller's drain decides which). */
  unfinished: number;
  /** Started more than once (delivered again after a worker died mid-task). */
  startedTwice: number;
  /** Finished more than once: a task that really ran twice to the end. */
  finishedTwice: number;
  /** Finished tasks by the worker that finished them: "<hostname> <release>" → count. */
  byWorker: Record<string, number>;
  /** Tasks started and finished by different workers (the first start's and the last finish's). */
  moved: number;
}

/** Counts a set of task rows. Pure, so the counting itself can be checked on made-up rows. */
export function countTasks(rows: TaskRow[]): TaskCounts {
  const c: TaskCounts = {
    queued: rows.length,
    started: 0,
    finished: 0,
    unfinished: 0,
    startedTwice: 0,
    finishedTwice: 0,
    byWorker: {},
    moved: 0,
  };
  for (const r of rows) {
    if (r.starts > 0) c.started++;
    if (r.starts > 1) c.startedTwice++;
    if (r.finishes > 1) c.finishedTwice++;
    if (r.finishes === 0) {
      c.unfinished++;
      continue;
    }
    c.finished++;
    const who = `${r.finished_by} ${r.finished_release}`;
    c.byWorker[who] = (c.byWorker[who] ?? 0) + 1;
    if (r.started_by !== r.finished_by) c.moved++;
  }
  return c;
}

/**
 * Waits until every task queued in the window has finished (the queue has drained up to
 * `until`), or timeoutMs has passed; returns the rows either way: what is unfinished then is lost.
 * Beat keeps queueing, so a window with no `until` may never drain: give one.
 */
export async function drain(stack: DemoStack, w: Window, timeoutMs = 60_000): Promise<TaskRow[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await taskRows(stack, w);
    if (rows.every((r) => r.finishes > 0) || Date.now() >= deadline) return rows;
    await sleep(1000);
  }
}

/** POST /tasks/enqueue/?n=N through Traefik: the ids of the queued tasks, each taking `seconds`
 * (default: the stack's TASK_SECONDS). */
export async function enqueue(stack: DemoStack, n = 1, seconds?: number): Promise<string[]> {
  const url = new URL(
    `/tasks/enqueue/?n=${n}${seconds === undefined ? "" : `&seconds=${seconds}`}`,
    stack.httpUrl,
  );
  if (url.hostname !== "127.0.0.1") throw new Error(`enqueue only sends to loopback, not ${url.host}`);
  const res = await fetch(url, { method: "POST", signal: AbortSignal.timeout(30_000) });
  const body = (await res.json()) as { queued?: string[]; error?: string; reason?: string };
  if (!res.ok || !body.queued)
    throw new Error(`enqueue: HTTP ${res.status} ${body.error ?? ""} ${body.reason ?? ""}`);
  return body.queued;
}

export interface TaskLoadOptions {
  /** Tasks per request (default 1). */
  perRequest?: number;
  /** Seconds each task sleeps (default: the stack's TASK_SECONDS). */
  seconds?: number;
  /** Pause between requests (default 500 ms). */
  everyMs?: number;
  /** Stops by itself after this many tasks (default 100) … */
  maxTasks?: number;
  /** … or this long (default 120 s), whichever comes first. */
  maxSeconds?: number;
}

/** Queues tasks through the web tier in a loop, bounded in count and time, until stopped. */
export class TaskLoad {
  readonly ids: string[] = [];
  readonly errors: string[] = [];
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly stack: DemoStack,
    private readonly opts: TaskLoadOptions = {},
  ) {}

  start(): this {
    const { perRequest = 1, seconds, everyMs = 500, maxTasks = 100, maxSeconds = 120 } = this.opts;
    const end = Date.now() + maxSeconds * 1000;
    this.running = true;
    this.loop = (async () => {
      while (this.running && this.ids.length < maxTasks && Date.now() < end) {
        try {
          const n = Math.min(perRequest, maxTasks - this.ids.length);
          this.ids.push(...(await enqueue(this.stack, n, seconds)));
        } catch (err) {
          this.errors.push((err as Error).message);
        }
        await sleep(everyMs);
      }
    })();
    return this;
  }

  /** Resolves when the loop has ended by itself (maxTasks or maxSeconds reached) or was stopped. */
  done(): Promise<void> {
    return this.loop;
  }

  async stop(): Promise<{ ids: string[]; errors: string[] }> {
    this.running = false;
    await this.loop;
    return { ids: this.ids, errors: this.errors };
  }
}

/** Waits until some task of the window is running (started, not finished): the rows running then. */
export async function waitInFlight(stack: DemoStack, w: Window, timeoutMs = 60_000): Promise<TaskRow[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const running = (await taskRows(stack, w)).filter((r) => r.starts > 0 && r.finishes === 0);
    if (running.length > 0) return running;
    await sleep(300);
  }
  throw new Error(`${stack.project}: no task started within ${timeoutMs} ms`);
}

export interface BusyWorkerOptions {
  /** Seconds each task sleeps: longer than the worker's own stop takes to begin. */
  taskSeconds: number;
  /** Tasks queued through web while `act` runs, at most (one every 3 s). */
  maxTasks: number;
  /** The load probe's settings beside its URL. */
  probe: Omit<ProbeOptions, "url">;
  /** Requests still counted this long after `act` returns (default 0). */
  afterMs?: number;
  /** How long to wait for every task of the window to finish before counting them. */
  drainMs: number;
}

/**
 * The worker busy (6 long tasks, at least one running) and more long tasks queued through web,
 * one every 3 s, until the returned function stops queueing; that function then waits until
 * every task of the window has finished or `drainMs` has passed (a lost one stays unfinished).
 */
export async function busyWorker(stack: DemoStack, o: Omit<BusyWorkerOptions, "probe" | "afterMs">) {
  const since = await dbNow(stack);
  await enqueue(stack, 6, o.taskSeconds);
  await waitInFlight(stack, { since });
  const tasks = new TaskLoad(stack, {
    seconds: o.taskSeconds,
    everyMs: 3000,
    maxTasks: o.maxTasks,
    maxSeconds: 240,
  }).start();
  return async () => {
    const queued = await tasks.stop();
    const rows = await drain(stack, { since, until: await dbNow(stack) }, o.drainMs);
    return { queued, rows };
  };
}

/** `act` under busyWorker, with every request through Traefik counted meanwhile. */
export async function busyWorkerUnderLoad<T>(stack: DemoStack, act: () => Promise<T>, o: BusyWorkerOptions) {
  const finish = await busyWorker(stack, o);
  const probe = new LoadProbe({ url: stack.httpUrl, ...o.probe }).start();
  const t0 = Date.now();
  const result = await act();
  const seconds = (Date.now() - t0) / 1000;
  await sleep(o.afterMs ?? 0);
  const load: ProbeReport = await probe.stop();
  const { queued, rows } = await finish();
  return { result, seconds, load, queued, rows };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
