// The lock and the history against the habits of real hosts (issue 13): a SIGKILLed holder
// nobody reaps, a dead holder on another host, a live one whose rollout outlasts its lease,
// a lock released under a running rollout, SIGINT, and `docker ... prune`. One demo stack,
// Traefik at a 100 ms throttle so each rollout takes seconds. Prunes are the real commands,
// filtered to this stack's labels: other suites' containers on this engine are not ours.
import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LockInfo } from "../../controller/ports.js";
import { connect } from "../../engine/docker.js";
import { DockerLock, StateLabel } from "../../state/index.js";
import { formatReport, LoadProbe } from "../load/probe.js";
import { BIN, type CliRun, containers, runCli, stackArgs } from "../support/cli.js";
import { type DemoStack, PATIENT_HEALTH, startDemo } from "../support/stack.js";
import { expectNoneFailed } from "../support/timeline.js";

const sh = promisify(execFile);
let stack: DemoStack;
const app = (tag: string) => `compose-roll-demo/app:${tag}`;
/**
 * The two longest cases (a rollout past its lease, SIGINT) run on demand, keeping this file
 * near CI's 2-minute share: `npm run test:lease` runs all of them.
 */
const LONG = Boolean(process.env.COMPOSE_ROLL_E2E_FULL);

/** Runs the CLI as if on another machine: its own UTS namespace, another host name. */
const elsewhere = (host: string) => ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', host];

beforeAll(async () => {
  stack = await startDemo("lease", { TRAEFIK_THROTTLE: "100ms" }, PATIENT_HEALTH);
  const sync = await runCli(["sync", "web", ...stackArgs(stack)], { cwd: stack.dir });
  expect(sync.code, sync.stderr).toBe(0);
});
afterAll(async () => {
  await stack?.down();
  // Volumes are records now: remove this stack's, and nothing else.
  const { stdout } = await sh("docker", [
    "volume",
    "ls",
    "-q",
    "--filter",
    `label=${StateLabel.project}=${stack?.project}`,
  ]);
  for (const v of stdout.split("\n").filter(Boolean)) await sh("docker", ["volume", "rm", v]).catch(() => {});
});

function roll(
  tag: string,
  extra: string[] = [],
  opts: Parameters<typeof runCli>[1] | object = {},
): Promise<CliRun> {
  return runCli(["web", "--image", app(tag), ...stackArgs(stack), ...extra], { cwd: stack.dir, ...opts });
}

/** The stack as each test expects to find it: one image, 3 healthy replicas (a test before may have failed). */
async function settled(): Promise<string> {
  // A lock an earlier failed test left behind (never one of a run still going: tests are sequential).
  const st = await runCli(["lock", "status", "web", "-p", stack.project, "--json"], { cwd: stack.dir });
  if (JSON.parse(st.stdout || "{}").lock) {
    await runCli(["lock", "release", "web", "-p", stack.project], { cwd: stack.dir });
  }
  try {
    return await running();
  } catch {
    // Whatever an earlier failure left: mixed images (repair refuses those), a missing replica.
    const r = await roll("v1");
    expect(r.code, r.stderr).toBe(0);
    return running();
  }
}

async function running(): Promise<string> {
  const cs = await containers(stack.project);
  const images = [...new Set(cs.map((c) => `${c.image} ${c.state} ${c.health}`))];
  expect(images, JSON.stringify(cs)).toHaveLength(1);
  expect(cs).toHaveLength(3);
  return cs[0]?.image as string;
}

const other = (tag: string) => (tag === "v1" ? "v2" : "v1");
const tagOf = (image: string) => image.split(":")[1] as string;

describe("the lock", () => {
  it("a SIGKILLed holder that nobody reaps (a zombie) is taken over at once", async () => {
    const from = tagOf(await settled());
    // `exec sleep` replaces the shell that started compose-roll, so nothing reaps it: a CI
    // container whose PID 1 never waits, or any parent that does not.
    const events = join(stack.dir, "killed.jsonl");
    const args = [BIN, "web", "--image", app(other(from)), ...stackArgs(stack), "--json"];
    const parent = spawn(
      "sh",
      ["-c", `"$0" "$@" > ${events} 2>&1 & echo $!; exec sleep 300`, process.execPath, ...args],
      { cwd: stack.dir, stdio: ["ignore", "pipe", "ignore"] },
    );
    try {
      const pid = Number(
        await new Promise<string>((ok) => parent.stdout.once("data", (d: Buffer) => ok(String(d)))),
      );
      for (let i = 0; i < 600 && !/"state":"adding"/.test(readSafe(events)); i++) await sleep(100);
      process.kill(pid, "SIGKILL");
      for (let i = 0; i < 100 && !/\) Z /.test(readSafe(`/proc/${pid}/stat`)); i++) await sleep(20);
      expect(readSafe(`/proc/${pid}/stat`)).toMatch(/\) Z /); // still there, as a zombie
      const again = await roll(other(from));
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(
        new RegExp(`taking over a stale lock: .* pid ${pid} is no longer running on this host`),
      );
      expect(await running()).toBe(app(other(from)));
    } finally {
      parent.kill("SIGKILL");
    }
  });

  it("a dead holder on another host frees within its lease (Docker host's clock), not 30 minutes", async () => {
    const { docker } = await connect();
    const now = await settled();
    const to = app(other(tagOf(now)));
    const id = async (ref: string) => (await docker.getImage(ref).inspect()).Id;
    const dead: LockInfo = {
      by: { user: "ci", host: "runner-gone", pid: 4242, ciJob: "github:acme/shop#1" },
      since: new Date().toISOString(),
      target: { ref: to, id: await id(to) },
      previous: { ref: now, id: await id(now) },
      revision: 99,
      replicas: 3,
      command: `roll --image ${to}`,
      leaseMs: 15_000,
    };
    const t0 = Date.now();
    expect(
      await new DockerLock({ docker }).acquire({ project: stack.project, service: "web" }, dead),
    ).toEqual({
      acquired: true,
    });
    const first = await roll(tagOf(to));
    expect(first.code).toBe(3);
    expect(first.stderr).toMatch(
      /runner-gone pid 4242 [\s\S]*; if that run is dead, its lease runs out in \d+s/,
    );
    const run = await roll(tagOf(to), ["--wait", "1m"]);
    // Taken over when the lease had gone unrenewed this long (the Docker host's clock).
    const age = /last renewed its 15s lease (\d+)s ago/.exec(run.stderr)?.[1];
    console.log(
      `dead remote holder (15 s lease): taken over ${age} s after its last renewal; run done after ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      /taking over a stale lock: .*runner-gone.* on another host, last renewed its 15s lease \d+s ago/,
    );
    expect(await running()).toBe(to);
  });

  it.runIf(LONG)(
    "a live holder whose rollout outlasts its lease is never taken over from another host",
    async () => {
      const to = other(tagOf(await settled()));
      // --drain 15s: the rollout lasts well beyond its 10 s lease; the waiter looks at 12 s.
      const holder = roll(to, ["--lock-lease", "10s", "--drain", "15s"]);
      try {
        await sleep(12_000);
        const w = await runCli(["web", "--image", app(to), ...stackArgs(stack), "--wait", "3s"], {
          cwd: stack.dir,
          prefix: elsewhere("other-runner"),
        });
        expect(w.code, w.stderr).toBe(3);
        // It waited for the live holder on this machine, which is "another host" to it.
        expect(w.stderr).toMatch(new RegExp(`waiting for the lock: .* by \\S+@${hostname()} pid`));
      } finally {
        // Never left running into the next test, whose lock it would hold.
        const h = await holder;
        expect(h.code, h.stderr).toBe(0);
      }
      expect(await running()).toBe(app(to));
    },
  );

  it("a holder whose lock is released under it stops where it is: no restore, exit 4, saying nobody holds it now", async () => {
    const from = await settled();
    let released: Promise<CliRun> | undefined;
    const holder = await roll(other(tagOf(from)), ["--lock-lease", "10s", "--json"], {
      onEvent: (e: Record<string, unknown>) => {
        if (e.type === "replica" && e.state === "healthy" && !released) {
          released = runCli(["lock", "release", "web", "-p", stack.project], { cwd: stack.dir });
        }
      },
    });
    expect((await (released as Promise<CliRun>)).code).toBe(0);
    expect(holder.code, holder.stderr).toBe(4);
    expect(holder.stderr).toMatch(/lost the lock: it was released or taken over by another run/);
    expect(holder.stderr).toMatch(/it is held now by nobody \(it was released\)/);
    expect(holder.stderr).toMatch(/compose-roll status/);
    expect(holder.events.map((e) => e.type)).not.toContain("restore");
    // What it left is for whoever released the lock: here, put back as it was.
    for (const c of await containers(stack.project)) {
      if (c.image !== from) await sh("docker", ["rm", "-f", c.name]);
    }
    const sync = await runCli(["sync", "web", ...stackArgs(stack)], { cwd: stack.dir });
    expect(sync.code, sync.stderr).toBe(0);
    expect(await running()).toBe(from);
  });

  it.runIf(LONG)(
    "SIGINT mid-rollout: restores the previous image, exit 5, nothing lost, lock free",
    async () => {
      const from = await settled();
      const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 120 }).start();
      const run = await roll(other(tagOf(from)), ["--json"], {
        onEvent: (e: Record<string, unknown>, kill: (s: NodeJS.Signals) => void) => {
          if (e.type === "replica" && e.state === "routed") kill("SIGINT");
        },
      });
      const load = await probe.stop();
      console.log(`SIGINT mid-rollout: exit ${run.code}; ${formatReport(load)}`);
      expect(run.code, run.stderr).toBe(5);
      expect(run.stderr).toMatch(/SIGINT: stopping after this step/);
      // Cut short mid-wait, the wait names itself ("interrupted while waiting for Traefik");
      // between steps, the reason does ("interrupted by SIGINT").
      expect(run.stderr).toMatch(/rolled back; still serving .*: interrupted (by SIGINT|while)/);
      expectNoneFailed(load);
      expect(await running()).toBe(from);
      const st = await runCli(["lock", "status", "web", "-p", stack.project, "--json"], { cwd: stack.dir });
      expect(JSON.parse(st.stdout).lock).toBeNull();
    },
  );
});

describe("the history and prune", () => {
  const filter = () => ["--filter", `label=${StateLabel.project}=${stack.project}`];
  const history = async () => {
    const h = await runCli(["history", "web", "-p", stack.project, "--json"], { cwd: stack.dir });
    expect(h.code, h.stderr).toBe(0);
    return JSON.parse(h.stdout) as { revisions: { number: number; image: { ref: string } }[]; lost?: string };
  };

  it("survives `docker container prune -f` and `docker system prune -f`", async () => {
    const now = await settled();
    expect((await roll(other(tagOf(now)))).code).toBe(0);
    const before = (await history()).revisions;
    expect(before.length).toBeGreaterThanOrEqual(2);
    const out = await sh("docker", ["container", "prune", "-f", ...filter()]);
    expect(out.stdout).toMatch(/compose-roll-rev|Deleted Containers/); // the pins went
    expect((await history()).revisions).toEqual(before);
    await sh("docker", ["system", "prune", "-f", ...filter()]);
    expect((await history()).revisions).toEqual(before);
    // compose still sees its 3 web containers and Traefik, nothing of ours.
    const ps = await sh("docker", ["compose", "-p", stack.project, "ps", "-q"], { cwd: stack.dir });
    expect(ps.stdout.trim().split("\n")).toHaveLength(4);
    // Undo still knows where to go, from the records alone, and writes a new one on top.
    const undo = await runCli(["undo", "web", ...stackArgs(stack)], { cwd: stack.dir });
    expect(undo.code, undo.stderr).toBe(0);
    expect(undo.stderr).toMatch(/rolling back to .* \(revision \d+\)/);
    expect(await running()).toBe(now);
    expect((await history()).revisions.length).toBe(before.length + 1);
  });

  it("`docker system prune -f --volumes` loses it: said out loud, and undo goes only where the containers say", async () => {
    await settled();
    // Where the running containers say they came from: the one target undo may still use.
    const { docker } = await connect();
    const [web] = await docker.listContainers({
      filters: { label: [`com.docker.compose.project=${stack.project}`, "com.docker.compose.service=web"] },
    });
    const labelled = web?.Labels["com.compose-roll.previous-image-ref"];
    expect(labelled).toMatch(/compose-roll-demo\/app:v[12]/);
    await sh("docker", ["system", "prune", "-f", "--volumes", ...filter()]);
    const h = await history();
    expect(h.revisions).toEqual([]);
    expect(h.lost).toMatch(
      /no revision records .* are on the Docker host, although its containers were rolled out as revision \d+/,
    );
    const undo = await runCli(["undo", "web", ...stackArgs(stack)], { cwd: stack.dir });
    expect(undo.code, undo.stderr).toBe(0);
    expect(undo.stderr).toMatch(/continuing without history/);
    expect(undo.stderr).toMatch(/rolling back to .* \(the running containers' labels\)/);
    expect(await running()).toBe(labelled);
  });
});

function readSafe(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
