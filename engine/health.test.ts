import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { AbortedError, EngineError, HealthError } from "../controller/errors.js";
import type { Clock } from "../controller/ports.js";
import { judge, lastProbe, waitHealthy } from "./health.js";
import type { ContainerInspect } from "./types.js";

const c = (State: ContainerInspect["State"]): ContainerInspect => ({
  Id: "x",
  Name: "/demo-web-4",
  Image: "sha256:x",
  State,
  Config: {},
  HostConfig: {},
  NetworkSettings: {},
});

describe("judge", () => {
  it("is healthy when Docker says so, or when running without a healthcheck", () => {
    expect(
      judge(c({ Status: "running", Running: true, ExitCode: 0, Health: { Status: "healthy" } })),
    ).toEqual({
      ok: true,
    });
    expect(judge(c({ Status: "running", Running: true, ExitCode: 0 }))).toEqual({ ok: true });
  });

  it("waits while starting", () => {
    expect(judge(c({ Status: "running", Running: true, ExitCode: 0, Health: { Status: "starting" } }))).toBe(
      undefined,
    );
  });

  it("fails on unhealthy or exited, with the last telling probe output", () => {
    const exited = c({
      Status: "exited",
      Running: false,
      ExitCode: 3,
      Health: {
        Status: "unhealthy",
        Log: [
          { ExitCode: 1, Output: "unhealthy: <urlopen error [Errno 111] Connection refused>\n" },
          { ExitCode: 137, Output: "" },
        ],
      },
    });
    expect(judge(exited)).toEqual({
      ok: false,
      why: "exited with code 3; last health check exited 1: unhealthy: <urlopen error [Errno 111] Connection refused>",
    });
    const sick = c({
      Status: "running",
      Running: true,
      ExitCode: 0,
      Health: { Status: "unhealthy", Log: [] },
    });
    expect(judge(sick)).toEqual({ ok: false, why: "is unhealthy" });
  });

  it("trims long multi-line probe output to its last line", () => {
    const long = "x".repeat(500);
    const out = lastProbe(
      c({
        Status: "running",
        Running: true,
        ExitCode: 0,
        Health: { Status: "unhealthy", Log: [{ ExitCode: 1, Output: `a\n${long}\n` }] },
      }),
    );
    expect(out.length).toBeLessThan(250);
    expect(out).toMatch(/^; last health check exited 1: x+\.\.\.$/);
  });
});

describe("waitHealthy (fake engine)", () => {
  const running = (health?: string): ContainerInspect["State"] => ({
    Status: "running",
    Running: true,
    ExitCode: 0,
    ...(health ? { Health: { Status: health } } : {}),
  });

  function fake(states: ContainerInspect["State"][]) {
    const calls: string[] = [];
    const stream = new PassThrough();
    let i = 0;
    const docker = {
      getEvents: async (opts: { filters: unknown }) => {
        calls.push(`events ${JSON.stringify(opts.filters)}`);
        return stream;
      },
      getContainer: (id: string) => ({
        inspect: async () => {
          calls.push(`inspect ${id}`);
          const st = states[Math.min(i++, states.length - 1)] ?? running();
          return c(st);
        },
      }),
    } as unknown as Docker;
    const send = (ev: object) => stream.write(`${JSON.stringify(ev)}\n`);
    return { docker, stream, calls, send };
  }

  // A clock whose sleeps end only when the test says so.
  function manualClock() {
    let fire: () => void = () => {};
    const clock: Clock = {
      now: () => 0,
      sleep: (_ms, signal) =>
        new Promise<void>((resolve, reject) => {
          fire = resolve;
          signal.addEventListener("abort", () => reject(signal.reason), { once: true });
        }),
    };
    return { clock, fire: () => fire() };
  }

  const target = { id: "abc", name: "demo-web-4" };
  const never = new AbortController().signal;
  const tick = () => new Promise((r) => setTimeout(r, 5));

  it("subscribes before it inspects, then resolves on the healthy event", async () => {
    const f = fake([running("starting")]);
    const p = waitHealthy(f.docker, target, 10_000, never, manualClock().clock);
    await tick();
    expect(f.calls).toEqual([
      'events {"type":["container"],"container":["abc"],"event":["health_status","die"]}',
      "inspect abc",
    ]);
    f.send({ Type: "container", Action: "health_status: healthy", Actor: { ID: "abc" } });
    await p;
    expect(f.stream.destroyed).toBe(true);
  });

  it("resolves from the inspect alone when it is already healthy, or has no healthcheck", async () => {
    const f = fake([running("healthy")]);
    await waitHealthy(f.docker, target, 10_000, never, manualClock().clock);
    expect(f.stream.destroyed).toBe(true);
    await waitHealthy(fake([running()]).docker, target, 10_000, never, manualClock().clock);
  });

  it("understands the legacy `status` field of API < 1.46 events split across chunks", async () => {
    const f = fake([running("starting")]);
    const p = waitHealthy(f.docker, target, 10_000, never, manualClock().clock);
    await tick();
    f.stream.write('{"status":"health_status: hea');
    f.stream.write('lthy","id":"abc"}\n');
    await p;
  });

  it("rejects on die with the event's exit code", async () => {
    const f = fake([
      running("starting"),
      { Status: "running", Running: true, Restarting: true, ExitCode: 0 },
    ]);
    const p = waitHealthy(f.docker, target, 10_000, never, manualClock().clock);
    await tick();
    f.send({ Action: "die", Actor: { ID: "abc", Attributes: { exitCode: "3" } } });
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HealthError);
    expect((err as HealthError).message).toBe("demo-web-4 exited with code 3");
    expect(f.stream.destroyed).toBe(true);
  });

  it("rejects with HealthError on timeout, with the health state and last probe", async () => {
    const probing = { Status: "starting", Log: [{ ExitCode: 1, Output: "connection refused\n" }] };
    const f = fake([{ ...running(), Health: probing }]);
    const m = manualClock();
    const p = waitHealthy(f.docker, target, 90_000, never, m.clock);
    await tick();
    m.fire();
    await expect(p).rejects.toThrow(
      "demo-web-4 did not become healthy within 90s (starting; last health check exited 1: connection refused)",
    );
    expect(f.stream.destroyed).toBe(true);
  });

  it("rejects with AbortedError when aborted, before or while waiting", async () => {
    const ac = new AbortController();
    const f = fake([running("starting")]);
    const p = waitHealthy(f.docker, target, 10_000, ac.signal, manualClock().clock);
    await tick();
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(AbortedError);
    expect(f.stream.destroyed).toBe(true);
    await expect(waitHealthy(f.docker, target, 10_000, ac.signal)).rejects.toBeInstanceOf(AbortedError);
  });

  it("rejects with EngineError when the event stream breaks", async () => {
    const f = fake([running("starting")]);
    const p = waitHealthy(f.docker, target, 10_000, never, manualClock().clock);
    await tick();
    f.stream.destroy();
    await expect(p).rejects.toBeInstanceOf(EngineError);
  });
});
