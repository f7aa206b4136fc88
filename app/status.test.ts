// status() on the in-memory world: drift, the sync hint, and label mode's drain line.
import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import { FakeWorld } from "../controller/fakes.test-support.js";
import type { ImageInfo } from "../controller/model.js";
import type { LockInfo, Routing, TrafficFeed } from "../controller/ports.js";
import { TrafficStore } from "../traefik/accesslog.js";
import { MemoryState, testContext } from "./fakes.test-support.js";
import { status } from "./status.js";

const v1: ImageInfo = { ref: "app:v1", id: "sha256:v1", exposedPorts: [8000] };
const v2: ImageInfo = { ref: "app:v2", id: "sha256:v2", exposedPorts: [8000] };

describe("status", () => {
  it("is clean for a converged service; a server with no container asks for a sync", async () => {
    const world = new FakeWorld([v1]).seed(2, v1);
    const ctx = testContext(world, new MemoryState());
    expect(await status(ctx)).toMatchObject({ drift: [], unsynced: false });
    world.routed.push("http://10.0.0.99:8000");
    const s = await status(ctx);
    expect(s.unsynced).toBe(true);
    expect(s.drift).toEqual(["Traefik routes to http://10.0.0.99:8000, but no container is there"]);
  });

  it("in label mode says which drain a rollout will use, or why it will refuse", async () => {
    const world = new FakeWorld([v1]).seed(1, v1);
    const refusal = new RefusedError("no safe drain", "add a healthcheck");
    const labels = (over: Partial<Routing>) =>
      Object.assign(Object.create(world), {
        describe: () => ({ ...world.describe(), mode: "labels", ...over }),
      });
    const ctx = (router: unknown) =>
      testContext(world, new MemoryState(), {
        deps: { engine: world, router: router as FakeWorld, clock: world, reporter: world },
      });
    expect((await status(ctx(labels({ drain: "drain file /tmp/drain" })))).drain).toBe(
      "drain file /tmp/drain",
    );
    expect((await status(ctx(labels({ refusal })))).drain).toBe(
      "none: a rollout will refuse (add a healthcheck)",
    );
    expect((await status(ctx(world))).drain).toBeUndefined();
  });

  it("refuses a project the Docker host has never heard of", async () => {
    const ctx = testContext(new FakeWorld([v1]), new MemoryState(), { knownProject: async () => false });
    await expect(status(ctx)).rejects.toThrow(/no compose project demo on this Docker host/);
  });

  it("shows a bake in progress: each image's figures in the same last 30 s of the access log", async () => {
    const world = new FakeWorld([v1, v2]).seed(2, v1);
    const fresh = await world.start(undefined as never, v2, 3);
    world.routed.push(fresh.url as string);
    const [a, b] = world.routed as [string, string, string];
    const store = new TrafficStore();
    const add = (url: string, status: number, ms: number, second = 1000) =>
      store.add({ url, second, status, failed: false, ms });
    for (let i = 0; i < 90; i++) add(i % 2 ? a : b, 200, 10);
    for (let i = 0; i < 9; i++) add(fresh.url as string, 200, 40);
    add(fresh.url as string, 500, 30);
    add(a, 200, 10, 1001); // the second that makes the others complete
    const feed: TrafficFeed = {
      series: (u) => store.series(u),
      latest: () => store.latest(),
      close: () => {},
    };
    const state = new MemoryState();
    const ctx = testContext(world, state, {
      traffic: { unavailable: async () => undefined, follow: async () => feed, recent: async () => feed },
    });
    expect((await status(ctx)).bake).toBeUndefined(); // no rollout holds the lock
    state.held = { command: "roll" } as LockInfo;
    expect((await status(ctx)).bake).toEqual([
      "app:v1 (demo-web-1, demo-web-2): 5xx 0.0 % of 90 requests, p99 10 ms in the last 30 s",
      "app:v2 (demo-web-3): 5xx 10.0 % of 10 requests, p99 40 ms in the last 30 s",
    ]);
  });
});
