// Recovery from what compose and Docker do behind compose-roll's back (issue 8), on the
// real demo stack: compose recreating the containers, containers coming back on other
// addresses, a Traefik file that does not (or no longer) define the service. Each case
// ends with traffic through Traefik and, where it matters, a rollout under load. Then the
// exit codes a rollout ends with when what it depends on fails: 8 (the post-deploy hook),
// 7 (Traefik gone, so the restore cannot finish; `repair` converges) and 1 (the engine).
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { formatReport, LoadProbe, type ProbeReport } from "../load/probe.js";
import { containers, runCli, stackArgs } from "../support/cli.js";
import { startFailingEngine } from "../support/fake-engine.js";
import { type DemoStack, startDemo } from "../support/stack.js";

const docker = new Docker();
const run = promisify(execFile);
const app = (tag: string) => `compose-roll-demo/app:${tag}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let stack: DemoStack;
// Traefik's reload throttle at 100 ms keeps this file's rollouts short; the pacing itself is
// rollout.e2e's business.
const env = { TRAEFIK_THROTTLE: "100ms" };

beforeAll(async () => {
  stack = await startDemo("recovery", env);
  const sync = await runCli(["sync", "web", ...stackArgs(stack)], { cwd: stack.dir });
  expect(sync.code, sync.stderr).toBe(0);
});
afterAll(async () => {
  await stack?.down();
});

/** `over`: flags that replace the stack's (commander keeps the last of a repeated flag). */
const cli = (args: string[], over: string[] = []) =>
  runCli([...args, ...stackArgs(stack), ...over], { cwd: stack.dir });

/** What a user types: docker compose with the stack's project, files and environment. */
async function compose(...args: string[]): Promise<void> {
  const [http, api] = [new URL(stack.httpUrl).port, new URL(stack.apiUrl).port];
  await run("docker", ["compose", "-p", stack.project, "-f", "compose.yaml", ...args], {
    cwd: stack.dir,
    env: { ...process.env, ...env, DEMO_HTTP_PORT: http, DEMO_API_PORT: api },
  });
}

async function load(seconds: number): Promise<ProbeReport> {
  const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: seconds, slowMs: 500 }).start();
  await sleep(seconds * 1000);
  return probe.stop();
}

async function rollUnderLoad(image: string) {
  const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 240, slowMs: 2000 }).start();
  const roll = await cli(["web", "--image", image, "--json"]);
  const report = await probe.stop();
  console.log(`roll to ${image}: exit ${roll.code}; ${formatReport(report)}`);
  expect(roll.code, roll.stderr).toBe(0);
  expect(report.failed, JSON.stringify(report.failures)).toBe(0);
  expect(report.lastRelease).toBe(image.split(":")[1]);
}

async function drift(): Promise<string[]> {
  const status = await cli(["status", "web", "--json"]);
  expect(status.code, status.stderr).toBe(0);
  return (JSON.parse(status.stdout) as { drift: string[] }).drift;
}

async function webIps(): Promise<Map<string, string>> {
  const ips = new Map<string, string>();
  for (const c of await containers(stack.project)) {
    const i = await docker.getContainer(c.name).inspect();
    ips.set(c.name, i.NetworkSettings.Networks[`${stack.project}_default`]?.IPAddress ?? "");
  }
  return ips;
}

async function untilHealthy(names: string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const states = await Promise.all(names.map((n) => docker.getContainer(n).inspect()));
    if (states.every((s) => s.State.Health?.Status === "healthy")) return;
    if (Date.now() > deadline) throw new Error(`not healthy within 60 s: ${names.join(", ")}`);
    await sleep(250);
  }
}

describe("recovery", () => {
  it("after compose recreates or replaces containers: sync/repair exit 0, no drift, the next rollout loses nothing", async () => {
    const roll = await cli(["web", "--image", "compose-roll-demo/app:v3", "--max-surge", "3"]);
    expect(roll.code, roll.stderr).toBe(0);
    await compose("up", "-d", "--force-recreate", "--wait", "web");
    const sync = await cli(["sync", "web"]);
    expect(sync.code, sync.stderr).toBe(0);
    expect(await drift()).toEqual([]);
    // One container removed by hand, compose starting a replacement under a new name: the
    // file now lists a server nobody answers for. `repair` does sync's routing repair: that
    // server out first, then the new container proven and added.
    const [goneName] = (await containers(stack.project)).map((c) => c.name);
    const gone = (await docker.getContainer(goneName as string).inspect()).Id.slice(0, 12);
    await docker.getContainer(goneName as string).remove({ force: true });
    await compose("up", "-d", "--wait", "web");
    const repair = await cli(["repair", "web"]);
    expect(repair.code, repair.stderr).toBe(0);
    expect(repair.stderr).toContain(`removing from Traefik, no ready container there: http://${gone}:8000`);
    expect(repair.stderr).toMatch(/repair: Traefik now serves exactly the running containers/);
    expect(await drift()).toEqual([]);
    await rollUnderLoad("compose-roll-demo/app:v2");
  });

  it("containers back on other addresses: Traefik still reaches every one, no sync needed", async () => {
    const before = await webIps();
    const names = [...before.keys()];
    await Promise.all(names.map((n) => docker.getContainer(n).stop({ t: 10 })));
    // Something else takes one of the freed addresses first; with IPs in the file Traefik
    // would now send users to it. Then the web containers start in reverse order.
    const squatter = await docker.createContainer({
      Image: "compose-roll/python-base:bookworm",
      Cmd: ["sleep", "600"],
      HostConfig: { NetworkMode: `${stack.project}_default` },
    });
    try {
      await squatter.start();
      for (const n of [...names].reverse()) await docker.getContainer(n).start();
      await untilHealthy(names);
      const after = await webIps();
      console.log(`addresses before ${[...before.values()]}, after ${[...after.values()]}`);
      expect([...after.values()].sort()).not.toEqual([...before.values()].sort());
      const report = await load(6);
      console.log(`after the address change: ${formatReport(report)}`);
      expect(report.failed, JSON.stringify(report.failures)).toBe(0);
      const hosts = new Set(report.samples.map((s) => s.hostname));
      expect(hosts.size, `answered by ${[...hosts]}`).toBe(3);
      expect(await drift()).toEqual([]);
      await rollUnderLoad("compose-roll-demo/app:v3");
    } finally {
      await squatter.remove({ force: true });
    }
  });

  it("converts a file an older compose-roll wrote with IPs: a rollout refuses, sync converts", async () => {
    const ips = [...(await webIps()).values()];
    await writeFile(
      stack.traefikFile,
      `http:\n  services:\n    web:\n      loadBalancer:\n        servers:\n${ips.map((ip) => `          - url: http://${ip}:8000\n`).join("")}`,
    );
    const refused = await cli(["web", "--image", "compose-roll-demo/app:v2"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/run `compose-roll sync web`/);
    const sync = await cli(["sync", "web"]);
    expect(sync.code, sync.stderr).toBe(0);
    const urls = parse(await readFile(stack.traefikFile, "utf8")).http.services.web.loadBalancer.servers;
    expect(urls.map((s: { url: string }) => s.url).sort()).toEqual(
      (await Promise.all((await containers(stack.project)).map((c) => docker.getContainer(c.name).inspect())))
        .map((c) => `http://${c.Id.slice(0, 12)}:8000`)
        .sort(),
    );
    expect(await drift()).toEqual([]);
  });

  it("sync on a file without the service (given as its directory) creates it, keeping the rest", async () => {
    await writeFile(
      stack.traefikFile,
      "# hand-written: compression for everyone\nhttp:\n  middlewares:\n    gzip:\n      compress: {}\n",
    );
    const dir = join(stack.dir, "dynamic");
    const sync = await cli(["sync", "web"], ["--traefik-file", dir]);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stderr).not.toMatch(/warning/);
    const text = await readFile(stack.traefikFile, "utf8");
    expect(text).toContain("# hand-written: compression for everyone");
    const http = parse(text).http;
    expect(http.middlewares.gzip).toEqual({ compress: {} });
    expect(http.services.web.loadBalancer.servers).toHaveLength(3);
    const report = await load(4);
    console.log(`after sync created the service: ${formatReport(report)}`);
    expect(report.failed, JSON.stringify(report.failures)).toBe(0);
    expect(report.sent).toBeGreaterThan(20);

    // A service no router sends to: created all the same, with one line saying so.
    const lone = await cli(["sync", "web", "--traefik-service", "lone"], ["--traefik-file", `${dir}/`]);
    expect(lone.code, lone.stderr).toBe(0);
    expect(lone.stderr).toMatch(/^compose-roll: warning: no Traefik router uses lone@file/m);
    expect(parse(await readFile(join(dir, "lone.yml"), "utf8")).http.services.lone).toBeDefined();
  });
});

describe("exit codes a rollout ends with", () => {
  async function expectAllOn(image: string) {
    const cs = await containers(stack.project);
    expect(cs.map((c) => `${c.image} ${c.state} ${c.health}`)).toEqual(
      Array(3).fill(`${image} running healthy`),
    );
  }
  async function lockStatus(): Promise<Record<string, unknown> | null> {
    const st = await runCli(["lock", "status", "web", "-p", stack.project, "--json"], { cwd: stack.dir });
    expect(st.code, st.stderr).toBe(0);
    return (JSON.parse(st.stdout) as { lock: Record<string, unknown> | null }).lock;
  }

  it("8: the post-deploy hook fails after a complete rollout; nothing rolled back, nothing lost", async () => {
    const hook = `python3 -c "import sys; sys.exit('post-deploy check failed')"`;
    const probe = new LoadProbe({ url: stack.httpUrl, maxSeconds: 240, slowMs: 2000 }).start();
    const roll = await cli(["web", "--image", app("v2"), "--post-deploy", hook, "--json"]);
    const load = await probe.stop();
    console.log(`failing post-deploy hook: exit ${roll.code}; ${formatReport(load)}`);
    expect(roll.code, roll.stderr).toBe(8);
    expect(roll.stderr).toMatch(
      /post-deploy hook .* failed with exit code 1 \(post-deploy check failed\); the rollout itself is complete: web serves compose-roll-demo\/app:v2, nothing was rolled back/,
    );
    expect(roll.events.find((e) => e.type === "done")).toMatchObject({ result: "complete", replicas: 3 });
    expect(load.failed, JSON.stringify(load.failures)).toBe(0);
    await expectAllOn(app("v2"));
    expect(await lockStatus()).toBeNull();
  });

  it("7: Traefik dies mid-rollout, so the restore cannot finish; the lock is kept and `repair` converges", async () => {
    const traefik = docker.getContainer(`${stack.project}-traefik-1`);
    let killed: Promise<unknown> | undefined;
    const roll = await runCli(
      ["web", "--image", app("v3"), "--route-timeout", "8s", ...stackArgs(stack), "--json"],
      {
        cwd: stack.dir,
        onEvent: (e) => {
          if (e.type === "replica" && e.state === "routed" && !killed) killed = traefik.kill();
        },
      },
    );
    await killed;
    expect(killed, "the rollout never routed a new replica").toBeDefined();
    expect(roll.code, roll.stderr).toBe(7);
    expect(roll.stderr).toMatch(/state now/);
    // The failed restore keeps the lock, naming what a repair goes back to.
    expect(await lockStatus()).toMatchObject({
      target: { ref: app("v3") },
      previous: { ref: app("v2") },
      replicas: 3,
    });
    await traefik.start();
    await expect
      .poll(async () => (await fetch(`${stack.apiUrl}/ping`).catch(() => undefined))?.ok)
      .toBe(true);
    const repair = await cli(["repair", "web"]);
    expect(repair.code, repair.stderr).toBe(0);
    await expectAllOn(app("v2"));
    expect(await lockStatus()).toBeNull();
    expect(await drift()).toEqual([]);
    const report = await load(4);
    expect(report.failed, JSON.stringify(report.failures)).toBe(0);
    expect(new Set(report.samples.map((s) => s.hostname)).size).toBe(3);
  });

  it("1: the Docker engine fails a call (HTTP 500): one line, no stack trace, nothing else", async () => {
    const engine = await startFailingEngine();
    try {
      for (const args of [
        ["status", "web", "-p", stack.project],
        ["web", "--image", app("v3"), ...stackArgs(stack)],
      ]) {
        const r = await runCli(args, { cwd: stack.dir, env: { DOCKER_HOST: engine.host } });
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toMatch(/^compose-roll: Docker: .*injected engine fault\n/);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }
      // It got past the handshake: the exit is the engine's failure, not a refusal before it.
      expect(engine.calls.filter((c) => !/\/(_ping|version)$/.test(c)).length).toBeGreaterThan(0);
    } finally {
      await engine.close();
    }
    await expectAllOn(app("v2"));
  });
});
