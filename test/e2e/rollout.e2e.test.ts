// The product's promise, end to end: real Docker, real Traefik, the real demo app, and a
// load probe (keep-alive, fresh connections, slow requests in flight) during each rollout.
// First the testbed itself (Traefik's API, then all 3 replicas answering once synced);
// failure cases next, each leaving the stack on v1 at full capacity, so the v1 → v2 rollout
// also proves the restores left nothing behind (exit codes 7, 8 and 1: recovery.e2e).
// Traefik at its default 2 s provider throttle: the pacing users get is this file's business.
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReport, LoadProbe, type ProbeReport } from "../load/probe.js";
import { runCli, stackArgs } from "../support/cli.js";
import { expectAllOn, lockStatus } from "../support/expect.js";
import { type DemoStack, startDemo } from "../support/stack.js";
import { expectNoneFailed } from "../support/timeline.js";

let stack: DemoStack;
const docker = new Docker();

beforeAll(async () => {
  stack = await startDemo("roll", { TRAEFIK_THROTTLE: "2s" });
});
afterAll(async () => {
  await stack?.down();
});

async function underLoad(
  args: string[],
): Promise<{ run: Awaited<ReturnType<typeof runCli>>; load: ProbeReport }> {
  const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 240, slowMs: 2000 }).start();
  const run = await runCli(["web", ...args, ...stackArgs(stack), "--json"], { cwd: stack.dir });
  const load = await probe.stop();
  console.log(`${args.join(" ")}: exit ${run.code}; ${formatReport(load)}`);
  return { run, load };
}

describe("the testbed", () => {
  it("exposes Traefik's API and ping on loopback, routing to the compose DNS alias until synced", async () => {
    expect(await (await fetch(`${stack.apiUrl}/ping`)).text()).toBe("OK");
    const svc = (await (await fetch(`${stack.apiUrl}/api/http/services/web@file`)).json()) as {
      loadBalancer: { servers: { url: string }[] };
    };
    expect(svc.loadBalancer.servers.map((s) => s.url)).toEqual(["http://web:8000"]);
  });

  it("once synced, serves v1 through Traefik from each of the 3 replicas", async () => {
    const sync = await runCli(["sync", "web", ...stackArgs(stack)], { cwd: stack.dir });
    expect(sync.code, sync.stderr).toBe(0);
    const list = await docker.listContainers({
      filters: { label: [`com.docker.compose.project=${stack.project}`, "com.docker.compose.service=web"] },
    });
    const expected = await Promise.all(
      list.map(async (c) => (await docker.getContainer(c.Id).inspect()).Config.Hostname),
    );
    expect(expected).toHaveLength(3);
    // Traefik balances round robin over one server per container: 30 requests reach all 3.
    const hosts = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`${stack.httpUrl}/`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { release: string; hostname: string };
      expect(body.release).toBe("v1");
      hosts.add(body.hostname);
    }
    expect([...hosts].sort()).toEqual(expected.sort());
  });
});

describe("rollout under load", () => {
  it("rolls back a never-healthy image: exit 5, nothing lost, still 3 x v1", async () => {
    const { run, load } = await underLoad([
      "--image",
      "compose-roll-demo/app:broken",
      "--health-timeout",
      "10s",
    ]);
    expect(run.code, run.stderr).toBe(5);
    expect(run.stderr).toMatch(/rolled back; still serving compose-roll-demo\/app:v1/);
    expectNoneFailed(load);
    expect(load.sent).toBeGreaterThan(100);
    expect(load.releases).toEqual(["v1"]);
    await expectAllOn(stack, "compose-roll-demo/app:v1");
  });

  it("rolls back an image that crashes at boot", async () => {
    const { run, load } = await underLoad(["--image", "compose-roll-demo/app:crash"]);
    expect(run.code, run.stderr).toBe(5);
    expect(run.stderr).toMatch(/exited with code 3/);
    expectNoneFailed(load);
    expect(load.releases).toEqual(["v1"]);
    await expectAllOn(stack, "compose-roll-demo/app:v1");
  });

  it("rolls back a healthy container Traefik cannot reach (wrong --port)", async () => {
    const { run, load } = await underLoad([
      "--image",
      "compose-roll-demo/app:v2",
      "--port",
      "9999",
      "--route-timeout",
      "8s",
    ]);
    expect(run.code, run.stderr).toBe(5);
    expectNoneFailed(load);
    // v2 never served a user: the probe went to it alone, through its own router.
    expect(load.releases).toEqual(["v1"]);
    await expectAllOn(stack, "compose-roll-demo/app:v1");
  });

  it("refuses bad input before changing anything (exit 2)", async () => {
    // --pull never: without it compose-roll would ask Docker Hub, whose answer depends on the network.
    const missing = await runCli(
      ["web", "--image", "compose-roll-demo/app:nope", "--pull", "never", ...stackArgs(stack)],
      { cwd: stack.dir },
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/image compose-roll-demo\/app:nope is not on the Docker host/);
    const badApi = await runCli(
      [
        "web",
        "--image",
        "compose-roll-demo/app:v2",
        ...stackArgs(stack),
        "--traefik-api",
        "http://127.0.0.1:1",
      ],
      { cwd: stack.dir },
    );
    expect(badApi.code).toBe(2);
    expect(badApi.stderr).toMatch(/Traefik API not reachable/);
    await expectAllOn(stack, "compose-roll-demo/app:v1");
  });

  it("rolls v1 → v2 with zero failed requests, switching responses to v2", async () => {
    const { run, load } = await underLoad(["--image", "compose-roll-demo/app:v2"]);
    expect(run.code, run.stderr).toBe(0);
    expectNoneFailed(load);
    expect(load.releases).toEqual(["v1", "v2"]);
    expect(load.lastRelease).toBe("v2");
    await expectAllOn(stack, "compose-roll-demo/app:v2");
    const done = run.events.find((e) => e.type === "done");
    expect(done).toMatchObject({ result: "complete", replicas: 3 });
    // Each replica went adding → healthy → routed, each old one draining → removed.
    const states = run.events.filter((e) => e.type === "replica").map((e) => e.state);
    expect(states.filter((s) => s === "routed")).toHaveLength(3);
    expect(states.filter((s) => s === "draining")).toHaveLength(3);
  });

  it("restores when interrupted with SIGTERM mid-rollout", async () => {
    const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 240 }).start();
    let killed = false;
    const run = await runCli(["web", "--image", "compose-roll-demo/app:v3", ...stackArgs(stack), "--json"], {
      cwd: stack.dir,
      // One SIGTERM, as a cancelled CI job sends: a kill at every later "removed" could land
      // after the command let go of its handlers, ending the process by signal (exit null).
      onEvent: (e, kill) => {
        if (e.type === "replica" && e.state === "removed" && !killed) {
          killed = true;
          kill("SIGTERM");
        }
      },
    });
    const load = await probe.stop();
    console.log(`SIGTERM mid-rollout: exit ${run.code}; ${formatReport(load)}`);
    expect(run.code, run.stderr).toBe(5);
    expectNoneFailed(load);
    await expectAllOn(stack, "compose-roll-demo/app:v2");
    expect(await lockStatus(stack)).toBeNull();
  });
});
