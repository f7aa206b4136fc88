// The whole demo app (examples/demo: web, a Celery worker, celery beat, Redis, PostgreSQL) comes up
// and its tasks flow, counted from PostgreSQL. Then the BASELINE compose-roll must beat: what plain
// `docker compose up -d` does to tasks in flight when the worker's configuration changes. Compose
// recreates stop-first: SIGTERM to the old worker, SIGKILL once the grace period is over, and the
// grace is the OLD container's own stop_grace_period (compose passes the Engine no timeout unless
// `up --timeout` is given), not the one the edited file now says. So the stack starts with a 1 s
// grace: the first recreate kills the tasks in flight mid-run; acks_late leaves their messages
// unacknowledged and Redis gives them to the new worker once the visibility timeout has passed:
// started twice, finished once, not lost. The new worker has a 20 s grace: the second recreate
// lets Celery's warm shutdown finish them on the old worker, none moved, none run twice.
// Last, what compose-roll does instead: `compose-roll up` rolls web's new image and the busy
// worker's new configuration as one release, and no request fails and no task is lost or run twice.
// Real engine, compose, Celery, Redis, PostgreSQL.
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReport } from "../load/probe.js";
import {
  APP_IMAGE,
  countTasks,
  dbNow,
  drain,
  enqueue,
  serviceContainers,
  startAppStack,
  TaskLoad,
  type TaskRow,
  taskRows,
  busyWorkerUnderLoad as underLoad,
  waitHealthy,
  waitInFlight,
  watchRunning,
  workerNames,
  writeOverride,
} from "../support/celery.js";
import { runCli } from "../support/cli.js";
import { compose, composePlan, type DemoStack } from "../support/stack.js";
import { expectNoneFailed } from "../support/timeline.js";

const TASK_SECONDS = 3;
// The tasks queued across a recreate: long enough that the worker is mid-task when compose's stop
// lands, however slow compose is to get there on the loaded testbed.
const LONG_TASK = 6;
const VISIBILITY = 20; // well above LONG_TASK even on the loaded testbed, short enough for one test
let stack: DemoStack;

beforeAll(async () => {
  stack = await startAppStack("celery", {
    taskSeconds: TASK_SECONDS,
    visibilityTimeout: VISIBILITY,
    env: { WORKER_GRACE: "1s" },
  });
});
afterAll(async () => {
  await stack?.down();
});

/** A row as the counting sees it, for the made-up cases. */
const row = (id: string, starts: number, finishes: number, by = "aaa", fin = by): TaskRow => ({
  id,
  queued_at: "2026-01-01T00:00:00Z",
  queued_by: "beat",
  started_at: starts ? "2026-01-01T00:00:01Z" : null,
  started_by: starts ? by : "",
  started_release: starts ? "v1" : "",
  starts,
  finished_at: finishes ? "2026-01-01T00:00:04Z" : null,
  finished_by: finishes ? fin : "",
  finished_release: finishes ? "v1" : "",
  finishes,
});

describe("counting", () => {
  it("a task killed mid-run counts as unfinished; one delivered again as started twice", () => {
    const c = countTasks([
      row("ok", 1, 1),
      row("killed", 1, 0),
      row("queued", 0, 0),
      row("again", 2, 1, "aaa", "bbb"),
    ]);
    expect(c).toMatchObject({
      queued: 4,
      started: 3,
      finished: 2,
      unfinished: 2,
      startedTwice: 1,
      finishedTwice: 0,
      moved: 1,
    });
    expect(c.byWorker).toEqual({ "aaa v1": 1, "bbb v1": 1 });
  });
});

describe("the whole app", () => {
  it("runs tasks queued by beat and through web, each once, on the worker", async () => {
    const since = await dbNow(stack);
    const load = new TaskLoad(stack, { perRequest: 2, everyMs: 300, maxTasks: 8, maxSeconds: 30 }).start();
    await load.done(); // its 8 tasks queued
    await sleep(2500); // and beat's one every 2 s
    const { ids, errors } = await load.stop();
    const until = await dbNow(stack);
    const rows = await drain(stack, { since, until });
    const c = countTasks(rows);
    console.log(`tasks: ${JSON.stringify(c)}`);
    expect(errors).toEqual([]);
    expect(ids).toHaveLength(8);
    expect(rows.map((r) => r.id)).toEqual(expect.arrayContaining(ids));
    expect(rows.some((r) => r.queued_by === "beat")).toBe(true); // beat queues one every 2 s
    expect(c).toMatchObject({ unfinished: 0, startedTwice: 0, finishedTwice: 0, moved: 0 });
    const [worker] = await workerNames(stack);
    expect(Object.keys(c.byWorker)).toEqual([`${worker?.[0]} v1`]);
  });
});

describe("baseline: `docker compose up -d` when the worker's configuration changes", () => {
  /**
   * Queues more long tasks than the worker runs at once (4), so it is busy whenever compose's stop
   * lands, however long compose takes to get there; changes the worker's environment (and grace);
   * runs compose's recreate. `killed`: the old worker's tasks left unfinished when compose returns.
   */
  async function recreateBusyWorker(settings: { env: string; grace: string }) {
    const [old] = await workerNames(stack);
    const since = await dbNow(stack);
    await enqueue(stack, 6, LONG_TASK);
    await waitInFlight(stack, { since });
    writeOverride(stack, {
      worker: {
        environment: { DEMO_CHANGE: settings.env },
        stop_grace_period: settings.grace,
      },
    });
    const t0 = Date.now();
    await compose(stack, ["up", "-d", "worker"]);
    const upSeconds = (Date.now() - t0) / 1000;
    const until = await dbNow(stack);
    const [now] = await workerNames(stack);
    const rows = await taskRows(stack, { since, until });
    const ranOnOld = rows.filter((x) => x.started_by === old?.[0]);
    const killed = ranOnOld.filter((x) => x.finishes === 0);
    return { old: old?.[0], now: now?.[0], since, until, ranOnOld, killed, upSeconds };
  }

  it("the old worker's grace (1 s) shorter than its tasks: they are killed mid-run, then delivered again after the visibility timeout", async () => {
    const r = await recreateBusyWorker({ env: "a", grace: "20s" });
    // Right after the kill: the tasks that were running have no finish, and the counting says so.
    expect(r.killed.length).toBeGreaterThan(0);
    expect(countTasks(r.killed)).toMatchObject({
      started: r.killed.length,
      finished: 0,
      unfinished: r.killed.length,
    });
    const rows = await drain(stack, r, (VISIBILITY + 90) * 1000);
    const c = countTasks(rows);
    console.log(
      `compose up -d (old grace 1s < task ${LONG_TASK}s) took ${r.upSeconds}s; started on the old worker: ${r.ranOnOld.length}, killed: ${r.killed.length}; ${JSON.stringify(c)}`,
    );
    expect(c.unfinished).toBe(0); // not lost: acks_late + the visibility timeout
    for (const t of r.killed) {
      expect(rows.find((x) => x.id === t.id)).toMatchObject({
        started_by: r.old,
        finished_by: r.now,
        starts: 2,
        finishes: 1,
      });
    }
    // The snapshot at compose's return can miss a task the old worker took in its last instant
    // (seen at load 50): every task started twice was killed on the old worker and finished
    // once on the new one, and none finished twice.
    expect(c.startedTwice).toBeGreaterThanOrEqual(r.killed.length);
    for (const t of rows.filter((x) => x.starts > 1))
      expect(t).toMatchObject({ started_by: r.old, finished_by: r.now, starts: 2, finishes: 1 });
    expect(c.finishedTwice).toBe(0);
    expect((await serviceContainers(stack, "worker")).length).toBe(1);
    await waitHealthy(stack, "worker");
  });

  it("the old worker's grace (20 s) longer than its tasks: it finishes them, none lost or run twice", async () => {
    const r = await recreateBusyWorker({ env: "b", grace: "20s" });
    const rows = await drain(stack, r, 120_000);
    const c = countTasks(rows);
    console.log(
      `compose up -d (old grace 20s > task ${LONG_TASK}s) took ${r.upSeconds}s; started on the old worker: ${r.ranOnOld.length}, unfinished when compose returned: ${r.killed.length}; ${JSON.stringify(c)}`,
    );
    expect(r.now).not.toBe(r.old); // compose did recreate it
    expect(r.ranOnOld.length).toBeGreaterThan(0);
    expect(r.killed).toEqual([]); // the warm shutdown ended them before the container went
    expect(c).toMatchObject({ unfinished: 0, startedTwice: 0, finishedTwice: 0, moved: 0 });
    for (const t of r.ranOnOld) {
      expect(rows.find((x) => x.id === t.id)).toMatchObject({ finished_by: r.old, starts: 1, finishes: 1 });
    }
  });
});

describe("compose-roll up: the whole app", () => {
  /** The running containers of each service, by ID. */
  const running = async (services: string[]) =>
    Object.fromEntries(
      await Promise.all(
        services.map(async (s) => [
          s,
          (await serviceContainers(stack, s))
            .filter((c) => c.State === "running")
            .map((c) => ({ id: c.Id, image: c.Image }))
            .sort((a, b) => a.id.localeCompare(b.id)),
        ]),
      ),
    ) as Record<string, { id: string; image: string }[]>;

  const cli = (args: string[]) =>
    runCli([...args, "-p", stack.project, ...stack.files.flatMap((f) => ["-f", f])], {
      cwd: stack.dir,
      env: stack.composeEnv,
    });
  const SERVICES = ["web", "worker", "beat", "db", "redis", "traefik"];

  /** A release (or its undo) with the worker busy and load on web; beats counted meanwhile. */
  async function busyWorkerUnderLoad(oldWorkerId: string | undefined, act: () => ReturnType<typeof cli>) {
    // Two beats at once would queue every scheduled task twice.
    const beatWatch = await watchRunning(stack, "beat", (await running(["beat"])).beat?.length ?? 0);
    const r = await underLoad(stack, act, {
      taskSeconds: LONG_TASK,
      maxTasks: 80,
      probe: { maxSeconds: 280, slowMs: 1000 },
      drainMs: 120_000,
    });
    const beats = beatWatch.stop();
    const ranOnOld = r.rows.filter((x) => x.started_by === oldWorkerId?.slice(0, 12));
    return {
      run: r.result,
      seconds: r.seconds,
      load: r.load,
      queued: r.queued,
      c: countTasks(r.rows),
      ranOnOld,
      beats,
    };
  }

  it("rolls web v1 → v2, the busy worker to v2 with a new environment and beat to v2 as one release: 0 failed requests, no task lost or run twice, never two beats, db and redis untouched", async () => {
    // File mode: compose-roll takes Traefik's file over (one server per web container) first.
    const sync = await cli(["sync", "web"]);
    expect(sync.code, sync.stderr).toBe(0);
    const before = await running(["web", "worker", "beat", "db", "redis", "traefik"]);
    const [oldWorker] = before.worker ?? [];
    // The worker the baseline left has a 20 s grace (its own is what its stop waits): longer than a task.
    const grace = (await docker.getContainer(oldWorker?.id ?? "").inspect()).Config.StopTimeout;
    expect(grace, "run after the baseline, which leaves the worker with a 20 s grace").toBe(20);

    const { run, seconds, load, queued, c, ranOnOld, beats } = await busyWorkerUnderLoad(
      oldWorker?.id,
      () => {
        writeOverride(stack, {
          web: { image: APP_IMAGE("v2"), environment: { DEMO_CHANGE: "release" } },
          worker: {
            image: APP_IMAGE("v2"),
            environment: { DEMO_CHANGE: "release" },
            stop_grace_period: "20s",
          },
          // beat runs the worker's image, as in the demo: a release moves it too, stop-first.
          beat: { image: APP_IMAGE("v2") },
        });
        return cli(["up", "--settle", "2s"]);
      },
    );
    console.log(
      `compose-roll up (web, worker and beat v1 → v2, an environment variable of web and worker): exit ${run.code} in ${seconds.toFixed(1)} s; ` +
        `beats at once at most ${beats.most} (${beats.events.join(", ")}); ` +
        `requests sent ${load.sent}, failed ${load.failed}; tasks queued ${c.queued} (${queued.ids.length} through web), ` +
        `finished ${c.finished}, unfinished ${c.unfinished}, started twice ${c.startedTwice}, finished twice ${c.finishedTwice}, ` +
        `moved ${c.moved}, ${ranOnOld.length} started on the old worker; ${formatReport(load)}`,
    );

    expect(run.code, run.stderr).toBe(0);
    expectNoneFailed(load);
    expect(queued.errors).toEqual([]);
    const after = await running(["web", "worker", "beat", "db", "redis", "traefik"]);
    expect(after.web?.map((w) => w.image)).toEqual([APP_IMAGE("v2"), APP_IMAGE("v2"), APP_IMAGE("v2")]);
    expect(after.worker).toHaveLength(1);
    expect(after.worker?.[0]?.id).not.toBe(oldWorker?.id);
    expect(after.worker?.[0]?.image).toBe(APP_IMAGE("v2"));
    expect(after.beat?.map((b) => b.image)).toEqual([APP_IMAGE("v2")]);
    expect(beats.events, "beat was replaced: one stopped, one started").toHaveLength(2);
    expect(beats.most, beats.events.join(", ")).toBe(1);
    for (const s of ["db", "redis", "traefik"]) expect(after[s], s).toEqual(before[s]);
    // The old worker had work in hand and finished it: nothing lost, nothing run twice.
    expect(ranOnOld.length).toBeGreaterThan(0);
    expect(c).toMatchObject({ unfinished: 0, startedTwice: 0, finishedTwice: 0, moved: 0 });
    // Compose plans nothing: every container Running (Waiting and Healthy are its depends_on
    // checks on db and redis, not changes).
    const plan = await composePlan(stack);
    expect(plan.containers.length, plan.stderr).toBeGreaterThan(0);
    for (const l of plan.containers) expect(l, plan.stderr).toMatch(/\s(Running|Waiting|Healthy)\s*$/);
  }, 420_000);

  it("undo with no service puts web, the busy worker and beat back on v1 together: 0 failed requests, no task lost or run twice, never two beats", async () => {
    const before = await running(SERVICES);
    const [oldWorker] = before.worker ?? [];
    const { run, seconds, load, queued, c, ranOnOld, beats } = await busyWorkerUnderLoad(oldWorker?.id, () =>
      cli(["undo"]),
    );
    console.log(
      `compose-roll undo (the release: web, worker and beat v2 → v1): exit ${run.code} in ${seconds.toFixed(1)} s; ` +
        `beats at once at most ${beats.most} (${beats.events.join(", ")}); ` +
        `tasks queued ${c.queued}, finished ${c.finished}, unfinished ${c.unfinished}, started twice ${c.startedTwice}, ` +
        `finished twice ${c.finishedTwice}, ${ranOnOld.length} started on the v2 worker; ${formatReport(load)}`,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/undo: release \S+ .*changed (?=.*\bweb\b)(?=.*\bworker\b)(?=.*\bbeat\b)/);
    expectNoneFailed(load);
    expect(queued.errors).toEqual([]);
    const after = await running(SERVICES);
    expect(after.web?.map((w) => w.image)).toEqual([APP_IMAGE("v1"), APP_IMAGE("v1"), APP_IMAGE("v1")]);
    expect(after.worker?.map((w) => w.image)).toEqual([APP_IMAGE("v1")]);
    expect(after.worker?.[0]?.id).not.toBe(oldWorker?.id);
    expect(after.beat?.map((b) => b.image)).toEqual([APP_IMAGE("v1")]);
    expect(beats.events, "beat was replaced: one stopped, one started").toHaveLength(2);
    expect(beats.most, beats.events.join(", ")).toBe(1);
    for (const s of ["db", "redis", "traefik"]) expect(after[s], s).toEqual(before[s]);
    expect(ranOnOld.length).toBeGreaterThan(0);
    expect(c).toMatchObject({ unfinished: 0, startedTwice: 0, finishedTwice: 0 });
  }, 420_000);
});

const docker = new Docker();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
