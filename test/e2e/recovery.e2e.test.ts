// Recovery from what compose and Docker do behind compose-roll's back (issue 8), on the
// real demo stack: compose recreating the containers, containers coming back on other
// addresses, a Traefik file that does not (or no longer) define the service. Each case
// ends with traffic through Traefik and, where it matters, a rollout under load.
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { formatReport, LoadProbe, type ProbeReport } from "../load/probe.js";
import { containers, runCli, stackArgs } from "../support/cli.js";
import { type DemoStack, startDemo } from "../support/stack.js";

const docker = new Docker();
const run = promisify(execFile);
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
  await run("docker", ["compose", "-p", stack.project, "-f", "compose.yaml", ...args], {
    cwd: stack.dir,
    env: { ...process.env, ...stack.composeEnv },
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

/**
 * Until Traefik's API lists exactly these servers for web@file: the file as an older release
 * left it, loaded (a rewrite is seen empty for a moment, and web@file is then briefly absent).
 */
async function untilTraefikServes(urls: string[]): Promise<void> {
  const want = [...urls].sort();
  let seen: string[] = [];
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(200)) {
    const res = await fetch(`${stack.apiUrl}/api/http/services/web@file`).catch(() => undefined);
    if (!res?.ok) continue;
    const body = (await res.json()) as { loadBalancer?: { servers?: { url: string }[] } };
    seen = (body.loadBalancer?.servers ?? []).map((x) => x.url).sort();
    if (JSON.stringify(seen) === JSON.stringify(want)) return;
  }
  throw new Error(`Traefik lists ${JSON.stringify(seen)} for web@file, not ${JSON.stringify(want)}`);
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
    await untilTraefikServes(ips.map((ip) => `http://${ip}:8000`));
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
