// Label mode end to end: Traefik's Docker provider routes `web` by its labels; compose-roll
// detects that, proves each new container, drains old ones through the drain file, and
// restores on failure. The same load probe as file mode (keep-alive, fresh, slow requests)
// must see zero failures. Failure cases first: each must leave 3 x v1 behind.
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReport, LoadProbe, type ProbeReport } from "../load/probe.js";
import { containers, runCli } from "../support/cli.js";
import { type LabelsStack, labelsArgs, startLabelsDemo, waitForServers } from "../support/labels-stack.js";
import { expectNoneFailed, Timeline } from "../support/timeline.js";

let stack: LabelsStack;

beforeAll(async () => {
  // Traefik's default: every container is routed unless it says traefik.enable=false, so a
  // one-off hook container of the service would join its service if compose-roll let it.
  stack = await startLabelsDemo("labels", { TRAEFIK_EXPOSED_BY_DEFAULT: "true" });
});
afterAll(async () => {
  await stack?.down();
});

async function underLoad(
  args: string[],
): Promise<{ run: Awaited<ReturnType<typeof runCli>>; load: ProbeReport; timeline: Timeline }> {
  const timeline = await Timeline.watch(stack.project);
  const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 240, slowMs: 2000 }).start();
  const run = await runCli(["web", ...args, ...labelsArgs(stack), "--json"], {
    cwd: stack.dir,
    onEvent: (e) => timeline.note(e),
  });
  const load = await probe.stop();
  timeline.stop();
  console.log(`${args.join(" ")}: exit ${run.code}; ${formatReport(load)}`);
  return { run, load, timeline };
}

async function expectAllOn(image: string) {
  const cs = await containers(stack.project);
  expect(cs.map((c) => `${c.image} ${c.state} ${c.health}`)).toEqual(
    Array(3).fill(`${image} running healthy`),
  );
  // Traefik's view agrees: exactly the three running containers, by their IPs.
  await waitForServers(stack, 3);
}

async function webIds(): Promise<string[]> {
  const list = await new Docker().listContainers({
    all: true,
    filters: { label: [`com.docker.compose.project=${stack.project}`, "com.docker.compose.service=web"] },
  });
  return list.map((c) => c.Id).sort();
}

describe("label mode", () => {
  it("another label-mode project on the same host, its router also named `web`, leaves this one routed", async () => {
    // Traefik's Docker provider reads every container on the host: without the example's
    // constraint to its own project, both routers named `web` were dropped (404 for both).
    const other = await startLabelsDemo("labels-neighbour");
    try {
      const codes = async (url: string) =>
        Promise.all(
          Array.from({ length: 10 }, () =>
            fetch(url).then(
              (r) => r.status,
              () => 0,
            ),
          ),
        );
      // Past the provider's throttle, so Traefik has seen the neighbour's containers.
      await new Promise((r) => setTimeout(r, 3000));
      expect(await codes(stack.httpUrl)).toEqual(Array(10).fill(200));
      expect(await codes(other.httpUrl)).toEqual(Array(10).fill(200));
      await waitForServers(stack, 3);
    } finally {
      await other.down();
    }
  });

  it("status shows the mode, the drain method and Traefik's view; sync is not needed", async () => {
    const status = await runCli(["status", "web", ...labelsArgs(stack), "--json"], { cwd: stack.dir });
    expect(status.code, status.stderr).toBe(0);
    const view = status.events[0] as {
      mode: string;
      traefikService: string;
      drain: string;
      traefik: { servers: string[]; status: Record<string, string> };
      replicas: { url: string; health: string }[];
    };
    expect(view).toMatchObject({ mode: "labels", traefikService: stack.traefikService });
    expect(view.drain).toMatch(/^drain file \/tmp\/drain/);
    // Traefik's view next to the containers: each container's URL is listed, and UP.
    expect(view.traefik.servers.sort()).toEqual(view.replicas.map((r) => r.url).sort());
    expect(Object.values(view.traefik.status)).toEqual(["UP", "UP", "UP"]);
    const sync = await runCli(["sync", "web", ...labelsArgs(stack)], { cwd: stack.dir });
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stderr).toMatch(/sync is not needed/);
  });

  it("refuses before any change when nothing can drain an old container (exit 2)", async () => {
    const before = await webIds();
    // The healthcheck checks /tmp/drain, not /tmp/elsewhere: no drain file, no command.
    const run = await runCli(
      ["web", "--image", "compose-roll-demo/app:v2", "--drain-file", "/tmp/elsewhere", ...labelsArgs(stack)],
      { cwd: stack.dir },
    );
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/requests in flight to old containers may fail/);
    expect(run.stderr).toMatch(/test ! -f \/tmp\/elsewhere && <your check>/);
    expect(await webIds()).toEqual(before);
    await expectAllOn("compose-roll-demo/app:v1");
  });

  it("rolls back a never-healthy image: exit 5, nothing lost, still 3 x v1", async () => {
    const { run, load, timeline } = await underLoad([
      "--image",
      "compose-roll-demo/app:broken",
      "--health-timeout",
      "10s",
    ]);
    expect(run.code, run.stderr).toBe(5);
    expect(run.stderr).toMatch(/rolled back; still serving compose-roll-demo\/app:v1/);
    expectNoneFailed(load, timeline);
    expect(load.sent).toBeGreaterThan(100);
    expect(load.releases).toEqual(["v1"]);
    await expectAllOn("compose-roll-demo/app:v1");
  });

  it("rolls back an image that crashes at boot", async () => {
    const { run, load, timeline } = await underLoad(["--image", "compose-roll-demo/app:crash"]);
    expect(run.code, run.stderr).toBe(5);
    expect(run.stderr).toMatch(/exited with code 3/);
    expectNoneFailed(load, timeline);
    expect(load.releases).toEqual(["v1"]);
    await expectAllOn("compose-roll-demo/app:v1");
  });

  it("rolls v1 → v2 with zero failed requests, draining each old container by the drain file", async () => {
    // The pre-deploy one-off (same image, port 8000 EXPOSEd, nothing listening, no healthcheck)
    // runs 6 s under load: Traefik must never send it a request.
    const { run, load, timeline } = await underLoad([
      "--image",
      "compose-roll-demo/app:v2",
      "--pre-deploy",
      `python3 -c "import time; time.sleep(6); print('hook done')"`,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.events.some((e) => e.type === "output" && e.line === "hook done")).toBe(true);
    expectNoneFailed(load, timeline);
    expect(load.releases).toEqual(["v1", "v2"]);
    expect(load.lastRelease).toBe("v2");
    await expectAllOn("compose-roll-demo/app:v2");
    const states = run.events.filter((e) => e.type === "replica").map((e) => e.state);
    expect(states.filter((s) => s === "routed")).toHaveLength(3);
    expect(states.filter((s) => s === "draining")).toHaveLength(3);
  });

  it("drains by --drain-command when the healthcheck does not name the drain file", async () => {
    // --drain-file points elsewhere, so the drain file is not usable; the command makes the
    // same healthcheck fail (argv as a JSON array, exec'd without a shell of ours).
    const { run, load, timeline } = await underLoad([
      "--image",
      "compose-roll-demo/app:v3",
      "--drain-file",
      "/tmp/elsewhere",
      "--drain-command",
      '["touch", "/tmp/drain"]',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expectNoneFailed(load, timeline);
    expect(load.lastRelease).toBe("v3");
    await expectAllOn("compose-roll-demo/app:v3");
    const status = await runCli(
      [
        "status",
        "web",
        ...labelsArgs(stack),
        "--drain-file",
        "/tmp/elsewhere",
        "--drain-command",
        "touch /tmp/drain",
        "--json",
      ],
      { cwd: stack.dir },
    );
    expect(status.events[0]).toMatchObject({ drain: 'drain command ["touch","/tmp/drain"]' });
  });

  it("restores when interrupted after new containers served: back on the old ones, nothing lost", async () => {
    const timeline = await Timeline.watch(stack.project);
    const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 240, slowMs: 2000 }).start();
    let killed = false;
    const run = await runCli(["web", "--image", "compose-roll-demo/app:v2", ...labelsArgs(stack), "--json"], {
      cwd: stack.dir,
      // One SIGTERM, as a cancelled CI job sends: a kill at every later "removed" could land
      // after the command let go of its handlers, ending the process by signal (exit null).
      onEvent: (e, kill) => {
        timeline.note(e);
        if (e.type === "replica" && e.state === "removed" && !killed) {
          killed = true;
          kill("SIGTERM");
        }
      },
    });
    const load = await probe.stop();
    timeline.stop();
    console.log(`SIGTERM mid-rollout: exit ${run.code}; ${formatReport(load)}`);
    expect(run.code, run.stderr).toBe(5);
    expectNoneFailed(load, timeline);
    // v2 did serve (Traefik adds a healthy container by itself), then was drained away again.
    expect(load.releases).toContain("v2");
    expect(load.lastRelease).toBe("v3");
    await expectAllOn("compose-roll-demo/app:v3");
  });
});
