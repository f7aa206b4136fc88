// The checks against a real node:http server on loopback, through localHttp: what the
// container receives (counts, concurrency, connections) is observed on the server's side.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AbortedError, HealthError, LockLostError } from "../controller/errors.js";
import { localHttp } from "../host/hostio.js";
import { DEFAULT_WARMUP_COUNT } from "./checkSpec.js";
import { type ReplicaChecksOptions, replicaChecks } from "./checks.js";

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A server that counts requests per path, the most in flight at once, and connections. */
async function serve(handler: Handler, port = 0) {
  const seen = { paths: [] as string[], inFlight: 0, maxInFlight: 0, sockets: 0 };
  const s = createServer((req, res) => {
    seen.paths.push(req.url ?? "");
    seen.inFlight++;
    seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
    res.on("close", () => seen.inFlight--);
    handler(req, res);
  });
  s.on("connection", () => seen.sockets++);
  servers.push(s);
  await new Promise<void>((r) => s.listen(port, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, seen };
}

/** A loopback port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function checks(opts: Partial<ReplicaChecksOptions>) {
  const lines: string[] = [];
  const c = replicaChecks({
    http: localHttp,
    warmup: [],
    smoke: [],
    timeoutMs: 3000,
    report: (l) => lines.push(l),
    ...opts,
  });
  if (!c) throw new Error("expected checks");
  return { c, lines };
}

const never = new AbortController().signal;
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );

describe("replicaChecks", () => {
  it("is undefined when there is nothing to check", () => {
    expect(replicaChecks({ http: localHttp, warmup: [], smoke: [], timeoutMs: 1000, report: () => {} })).toBe(
      undefined,
    );
  });

  it("sends --check-host as the Host header of smoke and warm-up requests (Django's ALLOWED_HOSTS)", async () => {
    const hosts: string[] = [];
    const { url } = await serve((q, res) => {
      hosts.push(q.headers.host ?? "");
      res.end("ok");
    });
    const { c } = checks({
      smoke: [{ path: "/", expect: "ok" }],
      warmup: [{ path: "/", count: 3 }],
      host: "shop.example.com",
    });
    await c.run({ name: "w-1", url }, never);
    expect(hosts).toEqual(Array(4).fill("shop.example.com"));
    const plain = checks({ smoke: [{ path: "/", expect: "ok" }] });
    await plain.c.run({ name: "w-1", url }, never);
    expect(hosts.at(-1)).toBe(new URL(url).host);
  });

  it("passes a smoke check whose 2xx answer contains the text, and reports it", async () => {
    const { url } = await serve((_q, res) => res.end('{"release": "v2"}'));
    const { c, lines } = checks({ smoke: [{ path: "/version/", expect: '"v2"' }] });
    await c.run({ name: "demo-web-4", url }, never);
    expect(lines).toEqual([
      expect.stringMatching(/^smoke check \/version\/ on demo-web-4: 200, found "\\"v2\\"" \(\d+ ms\)$/),
    ]);
  });

  it("fails a mismatch with one exact line naming path, expected and received text", async () => {
    const { url } = await serve((_q, res) => res.end('{"release": "v1"}\n'));
    const { c } = checks({ smoke: [{ path: "/version/", expect: "v2" }] });
    const err = await failure(c.run({ name: "demo-web-4", url }, never));
    expect(err).toBeInstanceOf(HealthError);
    expect(err?.message).toBe(
      'smoke check /version/ on demo-web-4: expected "v2", got 200 "{\\"release\\": \\"v1\\"}"',
    );
  });

  it("fails a non-2xx answer even when it contains the text, and cuts a long body to one short line", async () => {
    const body = `v2 is down\n${"x".repeat(500)}`;
    const { url } = await serve((_q, res) => {
      res.statusCode = 503;
      res.end(body);
    });
    const { c } = checks({ smoke: [{ path: "/v", expect: "v2" }] });
    const err = await failure(c.run({ name: "w-1", url }, never));
    expect(err).toBeInstanceOf(HealthError);
    expect(err?.message).toBe(
      `smoke check /v on w-1: expected "v2", got 503 "v2 is down\\n${"x".repeat(106)}..."`,
    );
    expect(err?.message).not.toContain("\n");
  });

  it("retries a refused connection until the app listens", async () => {
    const port = await freePort();
    const { c, lines } = checks({ smoke: [{ path: "/", expect: "ok" }] });
    const run = c.run({ name: "w-1", url: `http://127.0.0.1:${port}` }, never);
    await new Promise((r) => setTimeout(r, 300));
    await serve((_q, res) => res.end("ok"), port);
    await run;
    expect(lines[0]).toMatch(/^smoke check \/ on w-1: 200/);
  });

  it("fails a smoke check that never gets an answer within the timeout", async () => {
    const port = await freePort();
    const { c } = checks({ smoke: [{ path: "/", expect: "ok" }], timeoutMs: 400 });
    const err = await failure(c.run({ name: "w-1", url: `http://127.0.0.1:${port}` }, never));
    expect(err).toBeInstanceOf(HealthError);
    expect(err?.message).toBe(
      `smoke check / on w-1: expected "ok", got no answer from http://127.0.0.1:${port}/ within 0.4s (ECONNREFUSED)`,
    );
  });

  it("sends exactly the warm-up count, a few at a time, over kept-alive connections", async () => {
    const { url, seen } = await serve((_q, res) => setTimeout(() => res.end("warm"), 20));
    const { c, lines } = checks({
      warmup: [
        { path: "/w", count: 25 },
        { path: "/d", count: DEFAULT_WARMUP_COUNT },
      ],
    });
    await c.run({ name: "w-1", url }, never);
    expect(seen.paths.filter((p) => p === "/w")).toHaveLength(25);
    expect(seen.paths.filter((p) => p === "/d")).toHaveLength(10);
    expect(seen.maxInFlight).toBe(4);
    // Pooled: the 35 requests share the few connections the 4 workers opened.
    expect(seen.sockets).toBeLessThanOrEqual(8);
    expect(lines).toEqual([
      expect.stringMatching(
        /^warm-up \/w on w-1: 25 of 25 requests, 4 at a time: 25 2xx, 0 3xx, 0 other, 0 no answer; p50 \d+ ms, max \d+ ms$/,
      ),
      expect.stringMatching(/^warm-up \/d on w-1: 10 of 10 requests, 4 at a time: 10 2xx/),
    ]);
  });

  it("takes non-2xx warm-up answers as best effort: reported, not a failure", async () => {
    let n = 0;
    const { url } = await serve((_q, res) => {
      res.statusCode = [200, 302, 500, 404][n++ % 4] as number;
      res.end();
    });
    const { c, lines } = checks({ warmup: [{ path: "/", count: 8 }] });
    await c.run({ name: "w-1", url }, never);
    expect(lines[0]).toMatch(
      /: 8 of 8 requests, 4 at a time: 2 2xx, 2 3xx, 4 other \(404, 500\), 0 no answer;/,
    );
  });

  it("fails a warm-up when the container never answers", async () => {
    const port = await freePort();
    const { c } = checks({ warmup: [{ path: "/", count: 5 }], timeoutMs: 300 });
    const err = await failure(c.run({ name: "w-1", url: `http://127.0.0.1:${port}` }, never));
    expect(err).toBeInstanceOf(HealthError);
    expect(err?.message).toBe(
      `warm-up / on w-1: the container does not answer on http://127.0.0.1:${port}/ within 0.3s (ECONNREFUSED)`,
    );
  });

  it("smoke-checks first: a wrong build is never warmed", async () => {
    const { url, seen } = await serve((_q, res) => res.end("v1"));
    const { c } = checks({ smoke: [{ path: "/version", expect: "v2" }], warmup: [{ path: "/", count: 10 }] });
    expect(await failure(c.run({ name: "w-1", url }, never))).toBeInstanceOf(HealthError);
    expect(seen.paths).toEqual(["/version"]);
  });

  it("stops the warm-up at the timeout, reporting how far it got", async () => {
    const { url, seen } = await serve((_q, res) => setTimeout(() => res.end(), 50));
    const { c, lines } = checks({ warmup: [{ path: "/", count: 1000 }], timeoutMs: 400 });
    await c.run({ name: "w-1", url }, never);
    expect(seen.paths.length).toBeLessThan(100);
    expect(lines[0]).toMatch(
      /^warm-up \/ on w-1: \d+ of 1000 requests \(stopped at the 0\.4s limit\), 4 at a time:/,
    );
  });

  it("stops promptly when the signal aborts, with the rollout's own reason when it gave one", async () => {
    const { url } = await serve(() => {}); // accepts, never answers
    for (const [reason, type] of [
      [undefined, AbortedError],
      [new LockLostError("lock lost"), LockLostError],
    ] as const) {
      const ac = new AbortController();
      const { c } = checks({ warmup: [{ path: "/", count: 100 }], timeoutMs: 30_000 });
      const started = Date.now();
      setTimeout(() => ac.abort(reason), 100);
      const err = await failure(c.run({ name: "w-1", url }, ac.signal));
      expect(err).toBeInstanceOf(type);
      expect(Date.now() - started).toBeLessThan(1000);
    }
  });

  it("requests the URL resolve() gives, with the path appended (never resolved against it)", async () => {
    const { url, seen } = await serve((_q, res) => res.end("ok"));
    const { c } = checks({ smoke: [{ path: "//evil/x", expect: "ok" }], resolve: async () => `${url}/` });
    await c.run({ name: "w-1", url: "http://0123456789ab:8000" }, never);
    expect(seen.paths).toEqual(["//evil/x"]);
  });
});
