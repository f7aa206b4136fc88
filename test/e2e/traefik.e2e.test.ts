// TraefikRouter against the REAL Traefik (compose-roll/traefik:3.7.15) with its file provider
// watching a bind-mounted directory, and a python http.server backend on a shared network.
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  GenericContainer,
  Network,
  type StartedNetwork,
  type StartedTestContainer,
  Wait,
} from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RoutingError } from "../../controller/errors.js";
import { hasProbe, PROBE_HEADER, PROBE_PRIORITY, probeName } from "../../traefik/file.js";
import { TraefikRouter } from "../../traefik/router.js";

const TRAEFIK_IMAGE = "compose-roll/traefik:3.7.15";
const BACKEND_IMAGE = "compose-roll/python-base:bookworm";

let network: StartedNetwork;
let traefik: StartedTestContainer;
let backend: StartedTestContainer;
let dir: string;
let file: string;
let apiUrl: string;
let webUrl: string;
let backendUrl: string;
let router: TraefikRouter;
const never = new AbortController().signal;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 100 ms until it holds (for conditions the real Traefik reaches eventually). */
async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(100);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cr-traefik-e2e-"));
  file = join(dir, "compose-roll.yml");
  // The user's own routing, in a file of its own that compose-roll never touches.
  await writeFile(
    join(dir, "routers.yml"),
    "http:\n  routers:\n    web:\n      rule: PathPrefix(`/`)\n      entryPoints: [web]\n      service: web@file\n",
  );
  network = await new Network().start();
  backend = await new GenericContainer(BACKEND_IMAGE)
    // A chosen name: Docker's DNS resolves those, never generated ones.
    .withName(`cr-backend-${process.pid}-${Date.now()}`)
    .withNetwork(network)
    .withCommand(["python3", "-u", "-m", "http.server", "8000"])
    .withWaitStrategy(Wait.forLogMessage(/Serving HTTP/))
    .start();
  backendUrl = `http://${backend.getIpAddress(network.getName())}:8000`;
  traefik = await new GenericContainer(TRAEFIK_IMAGE)
    .withNetwork(network)
    .withBindMounts([{ source: dir, target: "/dynamic", mode: "rw" }])
    .withCommand([
      "--entryPoints.web.address=:80",
      "--entryPoints.traefik.address=:8080",
      "--api.insecure=true",
      "--ping=true",
      "--providers.file.directory=/dynamic",
      "--log.level=INFO",
    ])
    .withExposedPorts(80, 8080)
    .withWaitStrategy(Wait.forHttp("/ping", 8080))
    .start();
  apiUrl = `http://${traefik.getHost()}:${traefik.getMappedPort(8080)}`;
  webUrl = `http://${traefik.getHost()}:${traefik.getMappedPort(80)}`;
  router = new TraefikRouter({ file, service: "web", api: apiUrl, probe: { url: webUrl } });
});

afterAll(async () => {
  await traefik?.stop();
  await backend?.stop();
  await network?.stop();
});

describe("TraefikRouter against Traefik 3.7.15", () => {
  it("preflight passes", async () => {
    await router.preflight();
    expect(await router.servers()).toEqual([]);
  });

  it("setServers: the API reflects it and requests through Traefik reach the backend", async () => {
    await router.setServers([backendUrl], 10_000, never);
    expect(await router.api.service("web")).toEqual([backendUrl]);
    const res = await fetch(`${webUrl}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Directory listing for /");
    expect(await readFile(file, "utf8")).toMatch(/^# Owned by compose-roll/);
  });

  it("verify succeeds for a reachable URL; the next setServers takes the probe out in its own write", async () => {
    await router.verify(backendUrl, 10_000, never);
    // Kept until the write that routes the proven server: one Traefik reload, not two.
    expect(hasProbe(await readFile(file, "utf8"), "web")).toBe(true);
    await router.setServers(await router.servers(), 10_000, never);
    expect(hasProbe(await readFile(file, "utf8"), "web")).toBe(false);
    // That write may sit in the 2 s throttle window.
    await eventually(async () => (await router.api.router(probeName("web"))) === undefined, 5_000);
    expect(await router.api.service(probeName("web"))).toBeUndefined();
  });

  it("verify fails with RoutingError for a wrong port within the timeout, and removes the probe", async () => {
    const wrong = backendUrl.replace(/:8000$/, ":8001");
    // Settling at all is the deadline at work: a verify that ignored it would wait for ever.
    const err = await router.verify(wrong, 5_000, never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RoutingError);
    expect((err as Error).message).toContain(`did not route a probe to ${wrong} within 5000 ms`);
    expect((err as Error).message).toMatch(/HTTP 502/);
    expect(hasProbe(await readFile(file, "utf8"), "web")).toBe(false);
    await eventually(async () => (await router.api.router(probeName("web"))) === undefined, 5_000);
    expect(await router.api.service("web")).toEqual([backendUrl]);
  });

  it("routes to a server by container name, and preflight ignores servers that are dead addresses", async () => {
    // compose-roll lists containers by name (Docker's DNS on the shared network).
    const byName = `http://${backend.getName().replace(/^\//, "")}:8000`;
    await router.verify(byName, 10_000, never);
    await router.setServers([byName], 10_000, never);
    const res = await fetch(`${webUrl}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Directory listing for /");
    // An address no container has (what an IP file lists after compose recreated the
    // containers): a routed request hangs while Traefik dials it. The preflight must not
    // route, or it reports the entrypoint unreachable (and this rejects).
    const dead = backendUrl.replace(/\.\d+:8000$/, ".250:8000");
    await router.setServers([dead], 10_000, never);
    await expect(router.preflight()).resolves.not.toThrow();
    await router.setServers([backendUrl], 10_000, never);
  });

  it("applies a write after a quiet period at once, and back-to-back writes within the 2 s throttle", async () => {
    await sleep(2_500);
    const other = backendUrl.replace(/:8000$/, ":8002");
    let t = Date.now();
    await router.setServers([backendUrl, other], 10_000, never);
    const first = Date.now() - t;
    t = Date.now();
    await router.setServers([backendUrl], 10_000, never);
    const second = Date.now() - t;
    console.log(`reload latency: first write ${first} ms, back-to-back write ${second} ms`);
    // Compared with each other, not with a number of seconds: on a loaded machine both grow,
    // but only the back-to-back write also waits out Traefik's throttle window.
    expect(first).toBeLessThan(second);
  });

  it("a probe router on the API's own entrypoint never beats the dashboard (why probes use --traefik-url)", async () => {
    const side = join(dir, "api-side-probe.yml");
    await writeFile(
      side,
      [
        "http:",
        "  routers:",
        "    api-side-probe:",
        `      rule: "Header(\`${PROBE_HEADER}\`, \`api-side\`)"`,
        "      entryPoints: [traefik]",
        `      priority: ${PROBE_PRIORITY}`,
        "      service: web@file",
        "",
      ].join("\n"),
    );
    await eventually(async () => (await router.api.router("api-side-probe"))?.status === "enabled", 5_000);
    const headers = { [PROBE_HEADER]: "api-side" };
    const root = await fetch(`${apiUrl}/`, { headers, redirect: "manual" });
    expect(root.status).toBe(301); // dashboard@internal's redirect to /dashboard/
    expect(root.headers.get("location")).toMatch(/\/dashboard\/$/);
    const health = await fetch(`${apiUrl}/health/`, { headers, redirect: "manual" });
    expect(health.status).toBe(404); // the dashboard's file server, not our backend
    expect(await health.text()).not.toContain("Directory listing");
    // One step above the user maximum and Traefik disables the router outright.
    await writeFile(
      side,
      (await readFile(side, "utf8")).replace(String(PROBE_PRIORITY), String(PROBE_PRIORITY + 1n)),
    );
    await eventually(async () => (await router.api.router("api-side-probe"))?.status === "disabled", 5_000);
    const disabled = await router.api.router("api-side-probe");
    expect(disabled?.errors.join()).toMatch(/exceeds the max user-defined priority 9223372036854774807/);
  });
});
