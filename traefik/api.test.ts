import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { fakeClock } from "../controller/clock.test-support.js";
import { AbortedError, RefusedError, RoutingError } from "../controller/errors.js";
import { qualify, TraefikApi } from "./api.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const servers: Server[] = [];

async function fake(handler: Handler): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
};

const serviceBody = (urls: string[]) => ({
  loadBalancer: urls.length
    ? { servers: urls.map((url) => ({ url })), passHostHeader: true }
    : { passHostHeader: true },
  name: "web@file",
  provider: "file",
  status: "enabled",
});

const never = new AbortController().signal;

describe("TraefikApi", () => {
  it("qualifies names with the file provider", () => {
    expect(qualify("web")).toBe("web@file");
    expect(qualify("web@docker")).toBe("web@docker");
  });

  it("ping refuses clearly when nothing listens", async () => {
    const url = await fake((_req, res) => res.end());
    await new Promise((r) => servers[0]?.close(r));
    const err = await new TraefikApi({ url }).ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).toContain(`Traefik API not reachable at URL: ${url}`);
    expect((err as RefusedError).hint).toMatch(/api.insecure/);
  });

  it("ping asks again when an answer is slow, and gives up after 3 timeouts", async () => {
    let calls = 0;
    const slowOnce = await fake((_req, res) => {
      calls++;
      if (calls === 1) setTimeout(() => json(res, 200, {}), 500);
      else json(res, 200, {});
    });
    await new TraefikApi({ url: slowOnce, requestTimeoutMs: 100 }).ping();
    expect(calls).toBe(2);
    let hung = 0;
    const hangs = await fake(() => {
      hung++;
    });
    const err = await new TraefikApi({ url: hangs, requestTimeoutMs: 100 }).ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).toMatch(/timed out after 100 ms, 3 tries/);
    expect(hung).toBe(3);
  });

  it("ping refuses a URL that is not Traefik's API", async () => {
    const url = await fake((_req, res) => {
      res.writeHead(404);
      res.end("404 page not found\n");
    });
    await expect(new TraefikApi({ url }).ping()).rejects.toThrow(/answered 404/);
  });

  it("service returns server URLs, [] without servers, undefined on 404", async () => {
    const url = await fake((req, res) => {
      if (req.url === "/api/http/services/web%40file")
        return json(res, 200, serviceBody(["http://a:1", "http://b:1"]));
      if (req.url === "/api/http/services/empty%40file") return json(res, 200, serviceBody([]));
      json(res, 404, { message: "service not found" });
    });
    const api = new TraefikApi({ url: `${url}/` });
    expect(await api.service("web")).toEqual(["http://a:1", "http://b:1"]);
    expect(await api.service("empty")).toEqual([]);
    expect(await api.service("nope")).toBeUndefined();
  });

  it("times out a request that hangs", async () => {
    const url = await fake(() => undefined);
    const api = new TraefikApi({ url, requestTimeoutMs: 50 });
    await expect(api.service("web")).rejects.toThrow(/timed out after 50 ms/);
  });

  it("routersFor follows pagination and matches web@file or the file provider's plain web", async () => {
    const page1 = [
      {
        name: "a@file",
        provider: "file",
        service: "web",
        entryPoints: ["web"],
        rule: "Host(`a`)",
        status: "enabled",
      },
      {
        name: "b@docker",
        provider: "docker",
        service: "web",
        entryPoints: ["web"],
        rule: "x",
        status: "enabled",
      },
    ];
    const page2 = [
      {
        name: "c@docker",
        provider: "docker",
        service: "web@file",
        entryPoints: ["websecure"],
        tls: {},
        rule: "y",
      },
      { name: "d@file", provider: "file", service: "api", entryPoints: ["web"], rule: "z" },
    ];
    const url = await fake((req, res) => {
      const page = new URL(req.url ?? "", "http://x").searchParams.get("page");
      if (page === "1") return json(res, 200, page1, { "X-Next-Page": "2" });
      json(res, 200, page2, { "X-Next-Page": "1" });
    });
    const routers = await new TraefikApi({ url }).routersFor("web");
    expect(routers.map((r) => [r.name, r.entryPoints, r.tls])).toEqual([
      ["a@file", ["web"], false],
      ["c@docker", ["websecure"], true],
    ]);
  });

  it("waitForServers polls until the set matches exactly (order ignored)", async () => {
    const answers = [
      undefined,
      ["http://a:1"],
      ["http://a:1", "http://b:1", "http://c:1"],
      ["http://b:1", "http://a:1"],
    ];
    let calls = 0;
    const url = await fake((_req, res) => {
      const a = answers[Math.min(calls++, answers.length - 1)];
      if (a === undefined) return json(res, 404, { message: "service not found" });
      json(res, 200, serviceBody(a));
    });
    const clock = fakeClock();
    await new TraefikApi({ url, clock }).waitForServers("web", ["http://a:1", "http://b:1"], 5000, never);
    expect(calls).toBe(4);
    expect(clock.slept).toEqual([100, 100, 100]);
  });

  it("waitForServers times out with what it last saw", async () => {
    const url = await fake((_req, res) => json(res, 200, serviceBody(["http://old:1"])));
    const clock = fakeClock();
    const err = await new TraefikApi({ url, clock })
      .waitForServers("web", ["http://new:1"], 250, never)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RoutingError);
    expect((err as Error).message).toMatch(
      /\[http:\/\/new:1\] for web@file within 250 ms; last seen \[http:\/\/old:1\]/,
    );
    expect(clock.slept).toEqual([100, 100, 50]);
  });

  it("waitForServers keeps polling through errors and reports the last one", async () => {
    const url = await fake((_req, res) => {
      res.writeHead(500);
      res.end("boom");
    });
    const err = await new TraefikApi({ url, clock: fakeClock() })
      .waitForServers("web", ["http://a:1"], 300, never)
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/last seen \(service absent\); last error: .*HTTP 500 boom/);
  });

  it("waitForServers stops with AbortedError when aborted", async () => {
    const url = await fake((_req, res) => json(res, 200, serviceBody([])));
    const ac = new AbortController();
    const clock = fakeClock();
    clock.sleep = async () => ac.abort();
    await expect(
      new TraefikApi({ url, clock }).waitForServers("web", ["http://a:1"], 5000, ac.signal),
    ).rejects.toBeInstanceOf(AbortedError);
  });

  it("waitForRouter waits for the exact rule and fails fast on a disabled router", async () => {
    const rule = "Header(`X`, `new`)";
    const states = [
      { rule: "Header(`X`, `old`)", status: "enabled" },
      { rule, status: "disabled", error: ["the router priority is too high"] },
    ];
    let calls = 0;
    const url = await fake((_req, res) =>
      json(res, 200, { name: "p@file", provider: "file", service: "p", ...states[Math.min(calls++, 1)] }),
    );
    const err = await new TraefikApi({ url, clock: fakeClock() })
      .waitForRouter("p", rule, 5000, never)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RoutingError);
    expect((err as Error).message).toMatch(/disabled it: the router priority is too high/);
    expect(calls).toBe(2);
  });
});

describe("TraefikApi's reads", () => {
  it("read at most 4 MiB of an answer, and say so instead of parsing a flood", async () => {
    const url = await fake((_req, res) => json(res, 200, { pad: "x".repeat(5 * 1024 * 1024) }));
    const api = new TraefikApi({ url });
    await expect(api.raw("/api/rawdata")).rejects.toThrow(/answered with more than 4 MiB/);
  });
});
