// The bake inside the rollout loop, on the in-memory world: where it runs, what it is given,
// the canary's weights, and a breach rolling everything back.
import { describe, expect, it } from "vitest";
import { decide } from "./decide.js";
import { BakeError, RolledBackError } from "./errors.js";
import { aReplica, FakeWorld } from "./fakes.test-support.js";
import type { ImageInfo, Replica } from "./model.js";
import { type RolloutRequest, rollout } from "./rollout.js";

const v1: ImageInfo = { ref: "app:v1", id: "sha256:v1", exposedPorts: [8000] };
const v2: ImageInfo = { ref: "app:v2", id: "sha256:v2", exposedPorts: [8000] };
const svc = { project: "demo", service: "web" };

/** A world whose Traefik weighs servers, remembering each write's weights. */
class WeighingWorld extends FakeWorld {
  readonly weighs = true;
  writes: { urls: string[]; weights?: Record<string, number> }[] = [];
  override async setServers(
    urls: string[],
    _t?: number,
    _s?: AbortSignal,
    o?: { weights?: Record<string, number> },
  ) {
    this.writes.push({ urls: [...urls], ...(o?.weights ? { weights: o.weights } : {}) });
    await super.setServers(urls);
  }
}

type Baked = { replica: string; fresh: string[]; old: string[]; serving: number };

function request(bake: RolloutRequest["bake"], canary?: number): RolloutRequest {
  return {
    svc,
    image: v2,
    maxSurge: 1,
    signal: new AbortController().signal,
    timeouts: { healthMs: 120_000, routeMs: 10_000, drainMs: 3000 },
    ...(bake ? { bake } : {}),
    ...(canary !== undefined ? { canary } : {}),
  };
}

const deps = (w: FakeWorld) => ({ engine: w, router: w, clock: w, reporter: w });
const names = (rs: Replica[]) => rs.map((r) => r.name);

describe("rollout with a bake", () => {
  it("bakes each new replica while every old one still serves, then retires one", async () => {
    const world = new WeighingWorld([v1, v2]).seed(3, v1);
    const baked: Baked[] = [];
    await rollout(
      deps(world),
      request(async ({ replica, fresh, old }) => {
        baked.push({ replica: replica.name, fresh: names(fresh), old: names(old), serving: world.serving() });
      }),
    );
    expect(baked).toEqual([
      {
        replica: "demo-web-4",
        fresh: ["demo-web-4"],
        old: ["demo-web-1", "demo-web-2", "demo-web-3"],
        serving: 4,
      },
      {
        replica: "demo-web-1",
        fresh: ["demo-web-4", "demo-web-1"],
        old: ["demo-web-2", "demo-web-3"],
        serving: 4,
      },
      {
        replica: "demo-web-2",
        fresh: ["demo-web-4", "demo-web-1", "demo-web-2"],
        old: ["demo-web-3"],
        serving: 4,
      },
    ]);
    expect(world.minServing).toBe(3);
    expect(world.writes.every((w) => w.weights === undefined)).toBe(true);
  });

  it("gives the first new replica its canary share by weight, for its bake only", async () => {
    const world = new WeighingWorld([v1, v2]).seed(3, v1);
    await rollout(
      deps(world),
      request(async () => {}, 10),
    );
    const weighted = world.writes.filter((w) => w.weights);
    expect(weighted).toHaveLength(1);
    const w = weighted[0]?.weights as Record<string, number>;
    const total = Object.values(w).reduce((a, b) => a + b, 0);
    const fresh = world.writes[0]?.urls.at(-1) as string;
    expect((100 * (w[fresh] as number)) / total).toBeCloseTo(10);
  });

  it("does not weigh servers where the router cannot (label mode: 1/(N+1))", async () => {
    const world = new FakeWorld([v1, v2]).seed(3, v1);
    let shares = 0;
    await rollout(
      deps(world),
      request(async ({ fresh, old }) => {
        if (fresh.length === 1) shares = old.length + 1;
      }, 10),
    );
    expect(shares).toBe(4);
  });

  it("rolls everything back on a breach, at full capacity, with the bake's line as the reason", async () => {
    const world = new WeighingWorld([v1, v2]).seed(3, v1);
    const line = "demo-web-4 (app:v2): 5xx 18.2 % of 612 requests vs 0.1 % on app:v1 in the same 30 s";
    const err = await rollout(
      deps(world),
      request(async () => {
        throw new BakeError(line);
      }, 10),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RolledBackError);
    expect((err as RolledBackError).message).toContain(line);
    expect([...world.replicasById.values()].map((r) => r.imageRef)).toEqual(["app:v1", "app:v1", "app:v1"]);
    expect(world.minServing).toBe(3);
    // The restore's write lists the old servers without the canary's weights.
    expect(world.writes.at(-1)?.weights).toBeUndefined();
  });

  it("leaves the restore unbaked: a rollback is not a release under test", async () => {
    const world = new FakeWorld([v1, v2]).seed(2, v1);
    let calls = 0;
    await rollout(
      deps(world),
      request(async () => {
        calls++;
        throw new BakeError("worse");
      }),
    ).catch(() => {});
    expect(calls).toBe(1);
  });
});

describe("decide with a bake", () => {
  it("routes a new replica without swapping an old one out", () => {
    const old = [1, 2].map((n) =>
      aReplica({ id: `o${n}`, name: `web-${n}`, number: n, imageId: v1.id, url: `http://o${n}` }),
    );
    const ready = aReplica({ id: "n3", name: "web-3", number: 3, imageId: v2.id, url: "http://n3" });
    const obs = { replicas: [...old, ready], routed: ["http://o1", "http://o2"] };
    expect(decide(obs, { image: v2, replicas: 2, maxSurge: 1 })).toMatchObject({
      kind: "route",
      retire: old[0],
    });
    const step = decide(obs, { image: v2, replicas: 2, maxSurge: 1, bake: true });
    expect(step).toEqual({ kind: "route", replica: ready });
  });
});
