// TraefikRouter against a fake Traefik that reads the owned file the way the real one would
// (API views of services/routers, and an entrypoint honouring the probe router). The real
// binary is exercised in test/e2e/traefik.e2e.test.ts.
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { type AddressInfo, createServer as createTcpServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { AbortedError, RefusedError, RoutingError } from "../controller/errors.js";
import { addProbe, hasProbe, PROBE_HEADER } from "./file.js";
import { judge } from "./probe.js";
import { TraefikRouter } from "./router.js";

const servers: Server[] = [];
afterEach(async () => {
  routerListFailures = 0;
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * `reachable`: server URLs the fake "backend network" answers for. `deadServers`: requests
 * the probe router does not take go to the service's servers, which never answer (Traefik
 * dialing the address of a removed container).
 */
/** How many router listings the fake API answers 503 (Traefik restarting) before it answers again. */
let routerListFailures = 0;

async function fakeTraefik(file: string, reachable: Set<string>, deadServers = false) {
  const load = () => {
    try {
      return parse(readFileSync(file, "utf8"))?.http ?? {};
    } catch {
      return {};
    }
  };
  const api = await listen(
    createServer((req, res) => {
      const http = load();
      const [, kind, raw] = req.url?.match(/^\/api\/http\/(services|routers)\/(.+)$/) ?? [];
      const name = decodeURIComponent(raw ?? "").replace(/@file$/, "");
      if (req.url === "/api/overview") return res.end("{}");
      if (req.url?.startsWith("/api/http/routers?")) {
        if (routerListFailures > 0) {
          routerListFailures--;
          res.writeHead(503);
          return res.end("restarting");
        }
        const list = Object.entries(http.routers ?? {}).map(([n, r]) => ({
          ...(r as object),
          name: `${n}@file`,
          provider: "file",
        }));
        return res.end(JSON.stringify(list));
      }
      const found = kind ? http[kind]?.[name] : undefined;
      if (!found) {
        res.writeHead(404);
        return res.end(JSON.stringify({ message: "not found" }));
      }
      res.end(JSON.stringify({ ...found, status: "enabled", name: `${name}@file` }));
    }),
  );
  const entry = await listen(
    createServer((req, res) => {
      // Go's net/http refuses an invalid Host before any router sees the request.
      if (/\s/.test(req.headers.host ?? "")) {
        res.writeHead(400);
        return res.end("400 Bad Request: malformed Host header");
      }
      const http = load();
      const token = req.headers[PROBE_HEADER.toLowerCase()];
      type R = { rule: string; service: string; entryPoints?: string[] };
      for (const [, r] of Object.entries<R>(http.routers ?? {})) {
        if (r.rule !== `Header(\`${PROBE_HEADER}\`, \`${token}\`)`) continue;
        // This fake has one entrypoint, "web": the probe must have joined the service's.
        if (!r.entryPoints?.includes("web")) continue;
        const url = http.services[r.service].loadBalancer.servers[0].url;
        res.writeHead(reachable.has(url) ? 200 : 502, { [PROBE_HEADER]: String(token) });
        return res.end(reachable.has(url) ? "hello" : "Bad Gateway");
      }
      if (deadServers) return; // the request hangs on a dead server's address
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end("404 page not found\n");
    }),
  );
  return { api, entry };
}

async function setup(reachable = new Set<string>(), deadServers = false) {
  const dir = await mkdtemp(join(tmpdir(), "cr-router-"));
  const file = join(dir, "dynamic", "compose-roll.yml");
  await mkdir(join(dir, "dynamic"));
  await writeFile(
    file,
    "# mine\nhttp:\n  routers:\n    web:\n      rule: PathPrefix(`/`)\n      entryPoints: [web]\n      service: web\n  services:\n    web:\n      loadBalancer:\n        servers:\n          - url: http://old:8000\n",
  );
  const { api, entry } = await fakeTraefik(file, reachable, deadServers);
  const router = new TraefikRouter({
    file,
    service: "web",
    api,
    probe: { url: entry, requestTimeoutMs: 500 },
  });
  return { dir, file, api, entry, router };
}

const never = new AbortController().signal;

describe("judge", () => {
  const token = "t";
  it("accepts any answer that came through the probe router except a gateway error", () => {
    expect(judge(200, { "x-compose-roll-probe": "t" }, "hi", token)).toEqual({ ok: true, status: 200 });
    expect(judge(404, { "x-compose-roll-probe": "t" }, "404 page not found\n", token).ok).toBe(true);
    expect(judge(500, { "x-compose-roll-probe": "t" }, "", token).ok).toBe(true);
    for (const s of [502, 503, 504])
      expect(judge(s, { "x-compose-roll-probe": "t" }, "", token).ok).toBe(false);
  });
  it("tells Traefik's own 404 and other routers' answers apart", () => {
    const own = judge(404, {}, "404 page not found\n", token);
    expect(own).toMatchObject({ ok: false, detail: expect.stringMatching(/Traefik's own 404/) });
    expect(judge(200, { "x-compose-roll-probe": "other" }, "", token).ok).toBe(false);
    expect(judge(301, { location: "https://x/" }, "", token)).toMatchObject({
      detail: expect.stringMatching(/301 to https/),
    });
  });
});

describe("TraefikRouter", () => {
  it("reads and sets the servers, waiting for the API", async () => {
    const { router, file } = await setup();
    expect(await router.servers()).toEqual(["http://old:8000"]);
    await router.setServers(["http://old:8000", "http://new:8000"], 2000, never);
    expect(await router.servers()).toEqual(["http://old:8000", "http://new:8000"]);
    expect(await readFile(file, "utf8")).toContain("# mine");
    await expect(router.setServers([], 2000, never)).rejects.toBeInstanceOf(RefusedError);
  });

  it("setServers also clears a probe a killed run left behind, in the same write", async () => {
    const { router, file } = await setup();
    const spec = { service: "web", token: "t", url: "http://gone:8000", entryPoints: ["web"], tls: false };
    await writeFile(file, addProbe(await readFile(file, "utf8"), spec, file));
    expect(hasProbe(await readFile(file, "utf8"), "web")).toBe(true);
    await router.setServers(["http://old:8000", "http://new:8000"], 2000, never);
    const after = await readFile(file, "utf8");
    expect(hasProbe(after, "web")).toBe(false);
    expect(after).toContain("# mine");
    expect(await router.servers()).toEqual(["http://old:8000", "http://new:8000"]);
  });

  it("verify succeeds for a reachable server; the next setServers removes the probe in its own write", async () => {
    const { router, file } = await setup(new Set(["http://new:8000"]));
    const before = await readFile(file, "utf8");
    await router.verify("http://new:8000", 3000, never);
    expect(hasProbe(await readFile(file, "utf8"), "web")).toBe(true);
    await router.setServers(await router.servers(), 2000, never);
    const after = await readFile(file, "utf8");
    expect(hasProbe(after, "web")).toBe(false);
    expect(parse(after)).toEqual(parse(before));
  });

  it("verify rides out an API that fails for a moment, and says so when it stays down", async () => {
    const { router } = await setup(new Set(["http://new:8000"]));
    routerListFailures = 3;
    await router.verify("http://new:8000", 3000, never);
    routerListFailures = 1_000_000;
    // Another URL: the proven one's probe route is kept for setServers, so it asks no API.
    await expect(router.verify("http://other:8000", 400, never)).rejects.toThrow(
      /could not list Traefik's routers/,
    );
    routerListFailures = 0;
  });

  it("prepare writes the probe route ahead; verify then probes without writing again", async () => {
    const { router, file } = await setup(new Set(["http://new:8000"]));
    await router.prepare("http://new:8000", never);
    const prepared = await readFile(file, "utf8");
    expect(hasProbe(prepared, "web")).toBe(true);
    await router.verify("http://new:8000", 3000, never);
    expect(await readFile(file, "utf8")).toBe(prepared);
  });

  it("clear removes a prepared probe that no setServers followed (the container failed)", async () => {
    const { router, file } = await setup();
    const before = await readFile(file, "utf8");
    await router.prepare("http://new:8000", never);
    await router.clear(never);
    expect(parse(await readFile(file, "utf8"))).toEqual(parse(before));
  });

  it("verify fails with RoutingError on a gateway error, and still removes the probe", async () => {
    const { router, file } = await setup();
    const err = await router.verify("http://new:9999", 600, never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RoutingError);
    expect((err as Error).message).toMatch(
      /did not route a probe to http:\/\/new:9999 within 600 ms: .*HTTP 502/,
    );
    expect(hasProbe(await readFile(file, "utf8"), "web")).toBe(false);
  });

  it("verify removes the probe when aborted", async () => {
    const { router, file } = await setup();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 150);
    await expect(router.verify("http://new:9999", 5000, ac.signal)).rejects.toBeInstanceOf(AbortedError);
    expect(hasProbe(await readFile(file, "utf8"), "web")).toBe(false);
  });

  it("preflight passes, and refuses a missing directory or an unreachable API", async () => {
    const { router, dir, api, entry } = await setup();
    await router.preflight();
    const missing = new TraefikRouter({
      file: join(dir, "nope", "x.yml"),
      service: "web",
      api,
      probe: { url: entry },
    });
    await expect(missing.preflight()).rejects.toThrow(/directory of the Traefik file does not exist/);
    const down = new TraefikRouter({
      file: join(dir, "x.yml"),
      service: "web",
      api: "http://127.0.0.1:1",
      probe: { url: entry },
    });
    await expect(down.preflight()).rejects.toThrow(/Traefik API not reachable at URL: http:\/\/127.0.0.1:1/);
  });
});

describe("TraefikRouter on a file that is not yet in shape", () => {
  it("preflight does not send its request to the service's servers (dead ones would hang it)", async () => {
    const { router } = await setup(new Set(), true);
    await router.preflight();
  });

  it("preflight takes an accepted but unanswered connection as reachable, and refuses a closed port", async () => {
    const { dir, api } = await setup();
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    const file = join(dir, "dynamic", "compose-roll.yml");
    const mk = (url: string) =>
      new TraefikRouter({ file, service: "web", api, probe: { url, requestTimeoutMs: 300 } });
    await mk(`http://127.0.0.1:${port}`).preflight();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    await expect(mk(`http://127.0.0.1:${port}`).preflight()).rejects.toThrow(
      /Traefik entrypoint not reachable at .*ECONNREFUSED/,
    );
  });

  it("a file without the service: preflight passes, a rollout's read refuses, sync's creates it", async () => {
    const { router, file } = await setup(new Set(["http://demo-web-1:8000"]));
    await writeFile(
      file,
      "# routes only\nhttp:\n  routers:\n    web: { rule: PathPrefix(`/`), entryPoints: [web], service: web }\n",
    );
    await router.preflight();
    expect(await router.listed()).toBeUndefined();
    await expect(router.servers()).rejects.toMatchObject({
      message: expect.stringMatching(/has no http.services.web.loadBalancer/),
      hint: expect.stringMatching(/run `compose-roll sync` to add service web/),
    });
    await expect(router.setServers(["http://demo-web-1:8000"], 2000, never)).rejects.toBeInstanceOf(
      RefusedError,
    );
    await router.verify("http://demo-web-1:8000", 3000, never);
    await router.setServers(["http://demo-web-1:8000"], 2000, never, { create: true });
    expect(await router.servers()).toEqual(["http://demo-web-1:8000"]);
    expect(await readFile(file, "utf8")).toContain("# routes only");
  });
});

describe("TraefikRouter.preflight: nothing has changed yet, so a failure is a refusal (exit 2)", () => {
  it("refuses a Traefik file it cannot read, and an API that fails on the service", async () => {
    const { dir, api, entry } = await setup();
    const unreadable = join(dir, "dynamic", "a-directory.yml");
    await mkdir(unreadable);
    const router = new TraefikRouter({ file: unreadable, service: "web", api, probe: { url: entry } });
    await expect(router.preflight()).rejects.toBeInstanceOf(RefusedError);
    const failing = await listen(
      createServer((req, res) => {
        if (req.url === "/api/overview") return res.end("{}");
        res.writeHead(500);
        res.end("internal error");
      }),
    );
    const file = join(dir, "dynamic", "listed.yml");
    await writeFile(
      file,
      "http:\n  services:\n    web:\n      loadBalancer:\n        servers:\n          - url: http://a:80\n",
    );
    const broken = new TraefikRouter({ file, service: "web", api: failing, probe: { url: entry } });
    const err = await broken.preflight().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).toMatch(/HTTP 500/);
  });
});
