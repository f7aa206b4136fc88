import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect as tcpConnect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { addressOf } from "../engine/names.js";
import { type Connector, HttpFailure, hostHttp, localHttp } from "./hostio.js";

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return (s.address() as AddressInfo).port;
}

/** A connector that records what it was asked for and connects on loopback instead. */
function recording(): { connect: Connector; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    connect: (host, port, signal) =>
      new Promise((resolve, reject) => {
        asked.push(`${host}:${port}`);
        const s = tcpConnect({ host: "127.0.0.1", port });
        signal.addEventListener("abort", () => s.destroy(), { once: true });
        s.once("connect", () => resolve(s));
        s.once("error", reject);
      }),
  };
}

describe("hostHttp", () => {
  it("sends every connection through the connector, with names resolved first and the Host header kept", async () => {
    const port = await serve((req, res) => res.end(`${req.headers.host} ${req.headers["x-a"]}`));
    const { connect, asked } = recording();
    const http = hostHttp(connect, async (name) => (name === "traefik" ? "10.9.8.7" : name));
    const pooled = await http.request({
      url: `http://traefik:${port}/api`,
      timeoutMs: 2000,
      headers: { "x-a": "1" },
    });
    expect(pooled).toMatchObject({ status: 200, body: `traefik:${port} 1` });
    const fresh = await http.request({ url: `http://127.0.0.1:${port}/`, timeoutMs: 2000, fresh: true });
    expect(fresh.status).toBe(200);
    expect(asked).toEqual([`10.9.8.7:${port}`, `127.0.0.1:${port}`]);
  });

  it("reuses a pooled connection: one stream for several API calls", async () => {
    const port = await serve((_req, res) => res.end("{}"));
    const { connect, asked } = recording();
    const http = hostHttp(connect);
    for (let i = 0; i < 3; i++) await http.request({ url: `http://127.0.0.1:${port}/`, timeoutMs: 2000 });
    expect(asked).toHaveLength(1);
  });

  it("says whether a request that timed out had connected", async () => {
    const port = await serve(() => {}); // accepts, never answers
    for (const http of [localHttp, hostHttp(recording().connect)]) {
      const err = await http
        .request({ url: `http://127.0.0.1:${port}/`, timeoutMs: 150, fresh: true })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HttpFailure);
      expect(err).toMatchObject({ why: "timeout", connected: true });
    }
  });

  it("reports a refused connection by its code, and an abort as aborted", async () => {
    const port = await serve(() => {});
    const closed = servers.pop() as Server;
    await new Promise((r) => closed.close(r));
    for (const http of [localHttp, hostHttp(recording().connect)]) {
      const err = await http
        .request({ url: `http://127.0.0.1:${port}/`, timeoutMs: 1000 })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ why: "error", code: "ECONNREFUSED", connected: false });
    }
    const ac = new AbortController();
    ac.abort();
    const err = await localHttp
      .request({ url: `http://127.0.0.1:${port}/`, timeoutMs: 1000, signal: ac.signal })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ why: "aborted" });
  });
});

describe("addressOf", () => {
  it("prefers the project's network, then the first by name; host networking is loopback", () => {
    const nets = {
      b_net: { IPAddress: "10.0.0.2" },
      a_net: { IPAddress: "10.0.0.1" },
      none: { IPAddress: "" },
    };
    expect(addressOf({ NetworkSettings: { Networks: nets } })).toBe("10.0.0.1");
    expect(addressOf({ NetworkSettings: { Networks: nets } }, "b_net")).toBe("10.0.0.2");
    expect(addressOf({ HostConfig: { NetworkMode: "host" } })).toBe("127.0.0.1");
    expect(addressOf({ NetworkSettings: { Networks: { none: { IPAddress: "" } } } })).toBeUndefined();
  });
});
