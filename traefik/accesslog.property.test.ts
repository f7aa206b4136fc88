// The access-log parser and store against generated lines: every request line Traefik could
// write is read back exactly; nothing else (its own log lines, cut or garbled lines) is ever
// counted; chunks cut anywhere give the same figures; memory stays within the limits.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LineBuffer } from "../engine/lines.js";
import { parseLine, type Request, TrafficStore } from "./accesslog.js";
import { ACCESS_LOG_LINE_CAP } from "./accesslog-source.js";

const server = fc
  .tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 }))
  .map(([ip, port]) => `http://${ip}:${port}`);
const status = fc.oneof(
  fc.constantFrom(200, 204, 302, 404, 500, 502, 503, 504),
  fc.integer({ min: 100, max: 599 }),
);
const request = fc.record({
  url: server,
  status,
  origin: fc.option(status, { nil: undefined }),
  ns: fc.integer({ min: 0, max: 120_000_000_000 }),
  at: fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
  path: fc.string({ maxLength: 40 }),
});
type Gen = typeof request extends fc.Arbitrary<infer T> ? T : never;

/** A line as Traefik writes it (field order and extra fields as on 3.7). */
function line(g: Gen): string {
  const start = new Date(g.at).toISOString().replace("Z", "123456Z");
  return JSON.stringify({
    ClientHost: "172.17.0.1",
    DownstreamStatus: g.status,
    Duration: g.ns,
    ...(g.origin !== undefined ? { OriginStatus: g.origin } : {}),
    RequestPath: g.path,
    RouterName: "web@file",
    ServiceName: "web@file",
    ServiceURL: g.url,
    StartUTC: start,
    level: "info",
    msg: "",
  });
}

describe("parseLine", () => {
  it("reads back every request line exactly", () => {
    fc.assert(
      fc.property(request, (g) => {
        const r = parseLine(line(g)) as Request;
        expect(r.url).toBe(g.url);
        expect(r.status).toBe(g.status);
        expect(r.second).toBe(Math.floor(g.at / 1000));
        expect(r.ms).toBeCloseTo(g.ns / 1e6, 6);
        expect(r.failed).toBe(g.status === 502 || g.status === 504 || !g.origin);
      }),
    );
  });

  it("never counts anything that is not a whole request line", () => {
    fc.assert(
      fc.property(request, fc.nat(), fc.string(), (g, cut, noise) => {
        const text = line(g);
        const at = cut % text.length;
        // A cut line is not valid JSON; Traefik's own log lines and any text are not requests.
        expect(parseLine(text.slice(0, at))).toBeUndefined();
        expect(parseLine(`time="2026-12-07T05:51:40Z" level=info msg="${noise}"`)).toBeUndefined();
        const parsed = (() => {
          try {
            return JSON.parse(noise) as unknown;
          } catch {
            return undefined;
          }
        })();
        if (typeof parsed !== "object" || parsed === null) expect(parseLine(noise)).toBeUndefined();
      }),
    );
  });

  it("skips compose-roll's own probe of a new server: it is not user traffic", () => {
    const probe = JSON.parse(
      line({ url: "http://a:1", status: 200, origin: 200, ns: 1, at: 1_700_000_000_000, path: "/" }),
    );
    expect(parseLine(JSON.stringify(probe))).toBeDefined();
    expect(
      parseLine(JSON.stringify({ ...probe, ServiceName: "web-compose-roll-probe@file" })),
    ).toBeUndefined();
  });

  it("skips lines without a server (Traefik's own routers: api, ping)", () => {
    const g = { url: "", status: 200, origin: undefined, ns: 1, at: 1_700_000_000_000, path: "/ping" };
    expect(parseLine(line(g))).toBeUndefined();
    expect(
      parseLine(
        JSON.stringify({ DownstreamStatus: 200, Duration: 1, StartUTC: "x", ServiceURL: "http://a:1" }),
      ),
    ).toBe(undefined);
  });
});

describe("TrafficStore", () => {
  it("gives the same figures however the stream is cut into chunks", () => {
    fc.assert(
      fc.property(fc.array(request, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 10 }), (gs, cuts) => {
        const text = gs.map((g) => `${line(g)}\n`).join("");
        const whole = new TrafficStore();
        for (const g of gs) whole.add(parseLine(line(g)) as Request);
        const chunked = new TrafficStore();
        const sink = new LineBuffer(ACCESS_LOG_LINE_CAP, "drop", (l) => {
          const r = parseLine(l);
          if (r) chunked.add(r);
        });
        const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        let from = 0;
        for (const c of [...at, text.length]) {
          sink.push(text.slice(from, c));
          from = c;
        }
        for (const url of new Set(gs.map((g) => g.url))) {
          const a = [...whole.series(url)].map(([s, b]) => [s, b.requests, b.errors, b.failures]);
          const b = [...chunked.series(url)].map(([s, b]) => [s, b.requests, b.errors, b.failures]);
          expect(b).toEqual(a);
        }
        const requests = gs.length;
        const counted = [...new Set(gs.map((g) => g.url))]
          .flatMap((u) => [...whole.series(u).values()])
          .reduce((n, b) => n + b.requests, 0);
        expect(counted).toBe(requests);
      }),
    );
  });

  it("keeps memory within its limits: seconds, samples and servers", () => {
    fc.assert(
      fc.property(fc.array(request, { maxLength: 300 }), (gs) => {
        const limits = { seconds: 5, samples: 3, servers: 4 };
        const store = new TrafficStore(limits);
        for (const g of gs) store.add(parseLine(line(g)) as Request);
        expect(store.urls().length).toBeLessThanOrEqual(limits.servers);
        for (const u of store.urls()) {
          const s = store.series(u);
          expect(s.size).toBeLessThanOrEqual(limits.seconds);
          for (const b of s.values())
            expect(b.latencies.length).toBeLessThanOrEqual(Math.min(limits.samples, b.requests));
        }
      }),
    );
  });

  it("counts 5xx and connection failures per second", () => {
    const store = new TrafficStore();
    const at = 1_700_000_000_500;
    for (const [status, origin] of [
      [200, 200],
      [500, 500],
      [502, 502],
      [504, undefined],
    ] as const)
      store.add(parseLine(line({ url: "http://a:1", status, origin, ns: 2e6, at, path: "/" })) as Request);
    expect(store.series("http://a:1").get(1_700_000_000)).toMatchObject({
      requests: 4,
      errors: 3,
      failures: 2,
    });
    expect(store.latest()).toBe(1_700_000_000);
  });
});
