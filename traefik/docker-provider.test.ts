import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RefusedError, RoutingError } from "../controller/errors.js";
import type { Replica } from "../controller/model.js";
import type { TraefikApi } from "./api.js";
import { LabelRouter } from "./docker-provider.js";
import type { DrainMethod } from "./labels.js";

let server: Server;
let live: string;
beforeAll(async () => {
  server = createServer((_, res) => res.end("ok"));
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  live = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

/** Traefik's API as a mutable list of server URLs (undefined: no such service), used by router web. */
function fakeApi(state: { servers: string[] | undefined; usedBy?: string[] }): TraefikApi {
  return {
    url: "http://traefik.invalid",
    ping: async () => {},
    service: async () => state.servers && [...state.servers],
    serviceView: async () =>
      state.servers && { servers: [...state.servers], usedBy: state.usedBy ?? ["web@docker"] },
  } as unknown as TraefikApi;
}

/** Finished healthchecks per container, as Docker logs them (Start on this machine's clock). */
const checks: Record<string, { Start: string; End: string }[]> = {};
const checkNow = (id: string) => {
  const at = new Date().toISOString();
  checks[id] = [...(checks[id] ?? []), { Start: at, End: at }];
};

/** A Docker whose exec records argv and runs `onExec`; health per container from `health`. */
function fakeDocker(
  health: Record<string, string>,
  onExec: (id: string, argv: string[]) => void,
  exitCode = 0,
) {
  const execs: string[][] = [];
  const docker = {
    modem: { demuxStream: (s: PassThrough, out: PassThrough) => s.pipe(out) },
    getContainer: (id: string) => ({
      exec: async ({ Cmd }: { Cmd: string[] }) => ({
        start: async () => {
          execs.push(Cmd);
          onExec(id, Cmd);
          const s = new PassThrough();
          s.end(exitCode ? "touch: cannot touch '/tmp/drain': Read-only file system\n" : "");
          return s;
        },
        inspect: async () => ({ ExitCode: exitCode }),
      }),
      inspect: async () => ({
        State: { Running: true, Health: { Status: health[id], Log: checks[id] ?? [] } },
      }),
    }),
    info: async () => ({ SystemTime: new Date().toISOString() }),
  } as unknown as Docker;
  return { docker, execs };
}

const replica = (id: string, url: string): Replica => ({
  id,
  name: `demo-web-${id}`,
  number: 1,
  imageId: "sha256:1",
  imageRef: "app:v1",
  running: true,
  health: "healthy",
  url,
});

function router(
  state: { servers: string[] | undefined },
  docker: Docker,
  drain: DrainMethod,
  rs: Replica[] = [],
) {
  return new LabelRouter({
    api: fakeApi(state),
    service: "web-demo@docker",
    docker,
    replicas: async () => rs,
    drain,
    probePath: "/",
  });
}

const never = new AbortController().signal;

describe("LabelRouter", () => {
  it("refuses when Traefik has no such @docker service", async () => {
    const r = router({ servers: undefined }, fakeDocker({}, () => {}).docker, { kind: "unsafe" });
    await expect(r.preflight()).rejects.toBeInstanceOf(RefusedError);
  });

  it("refuses when Traefik lists the service but no router sends to it (a router name two projects define)", async () => {
    const r = router({ servers: ["http://10.0.0.1:8000"], usedBy: [] }, fakeDocker({}, () => {}).docker, {
      kind: "unsafe",
    });
    const err = await r.preflight().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as RefusedError).message).toMatch(/lists web-demo@docker but no router sends to it/);
    expect((err as RefusedError).hint).toMatch(/defined multiple times/);
    await expect(
      router({ servers: ["http://10.0.0.1:8000"] }, fakeDocker({}, () => {}).docker, {
        kind: "unsafe",
      }).preflight(),
    ).resolves.toBeUndefined();
  });

  it("refuses (exit 2), not fails, when the API errs on the service before anything changed", async () => {
    const oops = async () => {
      throw new Error("GET http://traefik.invalid/api/http/services/web-demo@docker: HTTP 500 oops");
    };
    const api = { ...fakeApi({ servers: [] }), service: oops, serviceView: oops } as unknown as TraefikApi;
    const r = new LabelRouter({
      api,
      service: "web-demo@docker",
      docker: fakeDocker({}, () => {}).docker,
      replicas: async () => [],
      drain: { kind: "unsafe" },
      probePath: "/",
    });
    await expect(r.preflight()).rejects.toBeInstanceOf(RefusedError);
  });

  it("hides a server that joined by itself until verify() proved it with a live request", async () => {
    const state = { servers: ["http://10.0.0.1:8000"] };
    const r = router(state, fakeDocker({}, () => {}).docker, { kind: "unsafe" });
    await r.preflight();
    state.servers.push(live);
    expect(await r.servers()).toEqual(["http://10.0.0.1:8000"]);
    await r.verify(live, 2000, never);
    expect((await r.servers()).sort()).toEqual(["http://10.0.0.1:8000", live].sort());
  });

  it("verify() fails when Traefik never lists the URL, or nothing answers there", async () => {
    const state = { servers: [] as string[] };
    const r = router(state, fakeDocker({}, () => {}).docker, { kind: "unsafe" });
    await r.preflight();
    await expect(r.verify(live, 300, never)).rejects.toThrow(/did not list/);
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, "127.0.0.1", ok));
    const dead = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((ok) => closed.close(() => ok()));
    state.servers.push(dead);
    const err = await r.verify(dead, 500, never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RoutingError);
    expect((err as Error).message).toMatch(/did not answer a live request.*ECONNREFUSED/);
    expect(await r.servers()).toEqual([]);
  });

  it("setServers starts the drain and returns; the stop then waits until unhealthy AND out of the API", async () => {
    const [a, b] = ["http://10.0.0.1:8000", "http://10.0.0.2:8000"];
    const state = { servers: [a, b] };
    const health: Record<string, string> = { old: "healthy" };
    const { docker, execs } = fakeDocker(health, () => {
      // Docker notices the failing healthcheck first; Traefik drops the server a little later.
      setTimeout(() => (health.old = "unhealthy"), 150);
      setTimeout(() => (state.servers = [b]), 350);
    });
    const old = replica("old", a);
    const r = router(state, docker, { kind: "file", path: "/tmp/drain" }, [old]);
    const t0 = Date.now();
    await r.setServers([b], 3000, never);
    expect(Date.now() - t0).toBeLessThan(150);
    expect(execs).toEqual([["touch", "/tmp/drain"]]);
    // No longer counted as routed by compose-roll, though Traefik still sends to it.
    expect(await r.servers()).toEqual([b]);
    expect(await r.drainBeforeStop(old, 3000, never)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(340);
    // Begun once: the drain command is not run a second time.
    expect(execs).toHaveLength(1);
  });

  it("a signal during setServers, once a drain has begun, still finishes the step (the drain is the caller's)", async () => {
    const [a, b] = ["http://10.0.0.1:8000", "http://10.0.0.2:8000"];
    const state = { servers: [a, b] };
    const { docker, execs } = fakeDocker({ old: "healthy" }, () => {});
    const old = replica("old", a);
    const stop = new AbortController();
    // The API call honours its signal, as fetch does: an aborted one never reaches Traefik.
    const api = {
      ...fakeApi(state),
      service: async (_: string, signal?: AbortSignal) => {
        if (signal?.aborted) throw new Error("This operation was aborted");
        return [...state.servers];
      },
    } as unknown as TraefikApi;
    const r = new LabelRouter({
      api,
      service: "web-demo@docker",
      docker,
      // SIGTERM lands while the step looks up the container it drains.
      replicas: async () => {
        stop.abort();
        return [old];
      },
      drain: { kind: "file", path: "/tmp/drain" },
      probePath: "/",
    });
    await r.setServers([b], 3000, stop.signal);
    expect(execs).toEqual([["touch", "/tmp/drain"]]);
    expect(await r.servers()).toEqual([b]);
  });

  it("leaving() waits until unhealthy AND out of the API; the stop after it owes no second wait", async () => {
    const [a, b] = ["http://10.0.0.1:8000", "http://10.0.0.2:8000"];
    const state = { servers: [a, b] };
    const health: Record<string, string> = { old: "healthy" };
    const { docker, execs } = fakeDocker(health, () => {
      setTimeout(() => (state.servers = [b]), 150); // the API drops it before Docker's verdict
      setTimeout(() => (health.old = "unhealthy"), 300);
    });
    const old = replica("old", a);
    const r = router(state, docker, { kind: "file", path: "/tmp/drain" }, [old]);
    await r.setServers([b], 3000, never);
    const t0 = Date.now();
    await r.leaving(a, 3000, never);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    const t1 = Date.now();
    expect(await r.drainBeforeStop(old, 3000, never)).toBe(false);
    expect(Date.now() - t1).toBeLessThan(250);
    expect(execs).toHaveLength(1);
    // A server setServers() did not drain (never listed, or unsafe): nothing to wait for here.
    await r.leaving("http://10.0.0.9:8000", 3000, never);
  });

  it("a failing drain command is a RoutingError naming the container and the output", async () => {
    const a = "http://10.0.0.1:8000";
    const { docker } = fakeDocker({ old: "healthy" }, () => {}, 1);
    const r = router({ servers: [a] }, docker, { kind: "file", path: "/tmp/drain" }, [replica("old", a)]);
    await r.preflight();
    // Launched in the background (the next replica boots meanwhile); its failure surfaces in
    // leaving(), and the container, untouched, counts as routed again.
    await r.setServers([], 1000, never);
    await expect(r.leaving(a, 1000, never)).rejects.toThrow(
      /draining demo-web-old: \["touch","\/tmp\/drain"\] exited 1: touch: cannot touch/,
    );
    expect(await r.servers()).toEqual([a]);
  });

  it("times out when the healthcheck ignores the drain file", async () => {
    const a = "http://10.0.0.1:8000";
    const { docker } = fakeDocker({ old: "healthy" }, () => {});
    const r = router({ servers: [a] }, docker, { kind: "command", argv: ["true"] }, [replica("old", a)]);
    await r.setServers([], 400, never);
    await expect(r.drainBeforeStop(replica("old", a), 400, never)).rejects.toThrow(
      /demo-web-old was still healthy or in Traefik 400 ms after drain command \["true"\]/,
    );
  });

  it("drainBeforeStop drains what Traefik lists or may still add, and lets the rest go at once", async () => {
    const [a, b] = ["http://10.0.0.1:8000", "http://10.0.0.2:8000"];
    const state = { servers: [a] };
    const health: Record<string, string> = { n: "healthy", s: "starting", u: "unhealthy" };
    const { docker, execs } = fakeDocker(health, (id) => {
      // The next healthcheck, begun after the drain file: it fails, the status stays.
      setTimeout(() => checkNow(id), 50);
      if (id !== "n") return;
      setTimeout(() => (health.n = "unhealthy"), 200);
      setTimeout(() => (state.servers = [a]), 300);
    });
    const r = router(state, docker, { kind: "file", path: "/tmp/drain" });
    await r.preflight();
    // Starting or unhealthy and not listed: Traefik will never add it, so no wait.
    expect(await r.drainBeforeStop(replica("s", b), 1000, never)).toBe(false);
    expect(await r.drainBeforeStop(replica("u", b), 1000, never)).toBe(false);
    // Healthy, listed by Traefik though never proven: drained, and waited for.
    state.servers = [a, b];
    const t0 = Date.now();
    expect(await r.drainBeforeStop(replica("n", b), 2000, never)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(execs).toHaveLength(3);
    expect(await r.servers()).toEqual([a]);
  });

  it("drainBeforeStop waits for a healthy container Traefik has not picked up yet", async () => {
    const [a, b] = ["http://10.0.0.1:8000", "http://10.0.0.2:8000"];
    const state = { servers: [a] };
    const health: Record<string, string> = { n: "healthy" };
    const { docker } = fakeDocker(health, () => {
      // The provider adds it after our look, then drops it once the healthcheck fails.
      setTimeout(() => (state.servers = [a, b]), 50);
      setTimeout(() => (health.n = "unhealthy"), 250);
      setTimeout(() => (state.servers = [a]), 400);
    });
    const r = router(state, docker, { kind: "file", path: "/tmp/drain" });
    const t0 = Date.now();
    expect(await r.drainBeforeStop(replica("n", b), 2000, never)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
  });

  it("drainBeforeStop decides on a healthcheck begun after the drain, not one already running", async () => {
    const [a, b] = ["http://10.0.0.1:8000", "http://10.0.0.2:8000"];
    const state = { servers: [a] };
    const health: Record<string, string> = { r: "starting" };
    const { docker } = fakeDocker(health, () => {
      // A check begun before the drain file passes: healthy, and Traefik adds it...
      setTimeout(() => {
        health.r = "healthy";
        state.servers = [a, b];
      }, 150);
      // ...then the next one, begun after, fails and Traefik drops it again.
      setTimeout(() => {
        checkNow("r");
        health.r = "unhealthy";
      }, 300);
      setTimeout(() => (state.servers = [a]), 450);
    });
    const r = router(state, docker, { kind: "file", path: "/tmp/drain" });
    const t0 = Date.now();
    // Stopped at once (false), it would have cut a server Traefik sent to from 150 ms on.
    expect(await r.drainBeforeStop(replica("r", b), 2000, never)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(440);
  });
});
