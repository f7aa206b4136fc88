// `compose-roll up`: one release of the whole project on the real engine, compose and
// Traefik, under load. The minimal stack's web (2 replicas) plus a worker on the demo image
// whose shell finishes its "task" on SIGTERM, and a Postgres with a named data volume. The
// edits are what a user does: change .env, run `compose-roll up`.
import { execFile } from "node:child_process";
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReport, LoadProbe } from "../load/probe.js";
import { runCli } from "../support/cli.js";
import { compose, composePlan, type DemoStack, PATIENT_HEALTH, startDemo } from "../support/stack.js";
import { expectNoneFailed } from "../support/timeline.js";

const app = (tag: string) => `compose-roll-demo/app:${tag}`;
const docker = new Docker();

// The worker: a long-running loop that, on SIGTERM, finishes what it has in hand (a second)
// and exits 0, as Celery's warm shutdown does; it crashes at boot when its image says so
// (the demo's crash image sets CRASH_AT_BOOT=1).
const RELEASE_FILE = `
services:
  worker:
    image: \${WORKER_IMAGE:-${app("v1")}}
    command: ["sh", "-c", "if [ \\"$$CRASH_AT_BOOT\\" = 1 ]; then echo crash; exit 3; fi; trap 'sleep 1; exit 0' TERM; while true; do sleep 0.2; done"]
    environment:
      MODE: \${WORKER_MODE:-one}
    healthcheck:
      disable: true
    stop_grace_period: 15s
  db:
    image: compose-roll-demo/postgres:15
    environment:
      POSTGRES_PASSWORD: release
      POSTGRES_DB: \${DB_NAME:-app}
    volumes:
      - dbdata:/var/lib/postgresql/data
volumes:
  dbdata:
`;

async function ids(
  stack: DemoStack,
  service: string,
): Promise<{ id: string; image: string; imageId: string }[]> {
  const list = await docker.listContainers({
    filters: {
      label: [`com.docker.compose.project=${stack.project}`, `com.docker.compose.service=${service}`],
    },
  });
  return list
    .map((c) => ({ id: c.Id, image: c.Image, imageId: c.ImageID }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** `docker events` of the project between two instants, as {id, action, signal, at (ns)}. */
async function events(stack: DemoStack, since: number, until: number) {
  const { stdout } = await promisify(execFile)("docker", [
    "events",
    "--since",
    String(Math.floor(since / 1000)),
    "--until",
    String(Math.ceil(until / 1000) + 1),
    "--filter",
    `label=com.docker.compose.project=${stack.project}`,
    "--filter",
    "label=com.docker.compose.service=worker",
    "--format",
    "{{json .}}",
  ]);
  return stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map(
      (l) =>
        JSON.parse(l) as {
          id: string;
          Action: string;
          timeNano: number;
          Actor: { Attributes: Record<string, string> };
        },
    )
    .map((e) => ({ id: e.id, action: e.Action, signal: e.Actor.Attributes.signal, at: e.timeNano }));
}

describe("compose-roll up: web and a worker as one release", () => {
  let stack: DemoStack;
  const dotenv: Record<string, string> = {};
  const env = (vars: Record<string, string>) => {
    Object.assign(dotenv, vars);
    writeFileSync(
      join(stack.dir, ".env"),
      Object.entries(dotenv)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(""),
    );
  };
  const up = async (args: string[]) => {
    const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 200, slowMs: 1000 }).start();
    const t0 = Date.now();
    const run = await runCli(["up", ...args, "-p", stack.project, ...stack.files.flatMap((f) => ["-f", f])], {
      cwd: stack.dir,
      env: stack.composeEnv,
    });
    const seconds = (Date.now() - t0) / 1000;
    const load = await probe.stop();
    // Web's rollout alone, as the single-service rollout reports it, beside the release's wall time.
    const web = /done: .* in ([\d.]+)s/.exec(run.stderr)?.[1];
    console.log(
      `up ${args.join(" ")}: exit ${run.code} in ${seconds.toFixed(1)} s (web's rollout ${web ?? "?"} s); ${formatReport(load)}`,
    );
    expectNoneFailed(load);
    return { run, t0, seconds };
  };
  const plansNothing = async () => {
    const { containers, stderr } = await composePlan(stack);
    expect(containers.length, stderr).toBeGreaterThan(0);
    for (const l of containers) expect(l, stderr).toMatch(/\s(Running)\s*$/);
  };

  beforeAll(async () => {
    // Two web replicas (a release's wall time is mostly web's rollout), patient health checks.
    stack = await startDemo(
      "release",
      {},
      {
        files: PATIENT_HEALTH.files as string[],
        prepare: (dir) => {
          PATIENT_HEALTH.prepare?.(dir);
          // Traefik's own healthcheck (2 s × 3) failed the stack's start at load averages of 50-100.
          appendFileSync(
            join(dir, "compose.override.yaml"),
            "    deploy:\n      replicas: 2\n  traefik:\n    healthcheck:\n      timeout: 6s\n      retries: 10\n",
          );
        },
      },
    );
    writeFileSync(join(stack.dir, "compose.release.yaml"), RELEASE_FILE);
    stack.files.push("compose.release.yaml");
    writeFileSync(join(stack.dir, ".env"), "");
    await compose(stack, ["up", "-d", "worker", "db"]);
    const sync = await runCli(
      ["sync", "web", "-p", stack.project, ...stack.files.flatMap((f) => ["-f", f])],
      {
        cwd: stack.dir,
        env: stack.composeEnv,
      },
    );
    expect(sync.code, sync.stderr).toBe(0);
  }, 240_000);
  afterAll(async () => {
    await stack?.down();
  });

  it("plans with --dry-run, rolls web's image and the worker's env with 0 failed; the worker is stopped only once its successor runs; db untouched", async () => {
    env({ WEB_IMAGE: app("v2"), WORKER_MODE: "two", DB_NAME: "other" });
    const [db, oldWorker] = [await ids(stack, "db"), await ids(stack, "worker")];
    const dry = await runCli(
      ["up", "--dry-run", "-p", stack.project, ...stack.files.flatMap((f) => ["-f", f])],
      {
        cwd: stack.dir,
        env: stack.composeEnv,
      },
    );
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(
      /1\. web: image compose-roll-demo\/app:v1 → compose-roll-demo\/app:v2\n\s+policy: routed/,
    );
    // What changed, by name: the engine's view of the running worker against the files.
    expect(dry.stdout).toMatch(/2\. worker: environment: MODE changed\n\s+policy: unrouted/);
    expect(dry.stdout).toMatch(/held: db changed .* but is stateful \(named volume dbdata/);

    const { run, t0 } = await up(["--settle", "2s"]);
    expect(run.code, run.stderr).toBe(0);
    expect((await ids(stack, "web")).map((c) => c.image)).toEqual([app("v2"), app("v2")]);
    expect(await ids(stack, "db")).toEqual(db);
    const [newWorker] = await ids(stack, "worker");
    expect(newWorker?.id).not.toBe(oldWorker[0]?.id);
    // SIGTERM (15) reached the old worker only after the new one had started and run 2 s.
    const seen = await events(stack, t0, Date.now());
    const started = seen.find((e) => e.id === newWorker?.id && e.action === "start");
    const term = seen.find((e) => e.id === oldWorker[0]?.id && e.action === "kill");
    expect(started && term, JSON.stringify(seen)).toBeTruthy();
    expect(term?.signal).toBe("15");
    expect(((term?.at ?? 0) - (started?.at ?? 0)) / 1e6).toBeGreaterThanOrEqual(2000);
    // Afterwards compose plans nothing but the held database.
    env({ DB_NAME: "app" });
    await plansNothing();
  }, 300_000);

  it("a worker image that crashes at boot rolls web back too: exit 5, 0 failed, the previous release running", async () => {
    env({ WEB_IMAGE: app("v3"), WORKER_IMAGE: app("crash") });
    const [web, worker] = [await ids(stack, "web"), await ids(stack, "worker")];
    const { run } = await up(["--settle", "2s"]);
    expect(run.code, run.stderr).toBe(5);
    expect(run.stderr).toMatch(
      /release rolled back: worker failed: .*exited with code 3; worker, web restored/,
    );
    // The exact images web ran (by ID: a rebuild may have moved the tag meanwhile).
    expect((await ids(stack, "web")).map((c) => c.imageId)).toEqual(web.map((c) => c.imageId));
    expect(await ids(stack, "worker")).toEqual(worker);
    // The files still name the crashing release; put them back: compose then plans nothing.
    env({ WEB_IMAGE: app("v2"), WORKER_IMAGE: app("v1") });
    await plansNothing();
  }, 300_000);

  it("undo with no service puts the newest release of several services back as a whole: web and worker on their previous images, 0 failed", async () => {
    env({ WEB_IMAGE: app("v3"), WORKER_IMAGE: app("v2") });
    const released = await up(["--settle", "2s"]);
    expect(released.run.code, released.run.stderr).toBe(0);
    expect((await ids(stack, "worker")).map((c) => c.image)).toEqual([app("v2")]);

    const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 200, slowMs: 1000 }).start();
    const run = await runCli(["undo", "-p", stack.project, ...stack.files.flatMap((f) => ["-f", f])], {
      cwd: stack.dir,
      env: stack.composeEnv,
    });
    const load = await probe.stop();
    console.log(`undo (the whole release): exit ${run.code}; ${formatReport(load)}`);
    expect(run.code, run.stderr).toBe(0);
    expectNoneFailed(load);
    expect(run.stderr).toMatch(/undo: release \S+ .*changed (web, worker|worker, web)/);
    expect((await ids(stack, "web")).map((c) => c.image)).toEqual([app("v2"), app("v2")]);
    expect((await ids(stack, "worker")).map((c) => c.image)).toEqual([app("v1")]);
  }, 300_000);
});
