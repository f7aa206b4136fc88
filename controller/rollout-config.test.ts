// A change of configuration (what compose creates for the files), not only of the image,
// and of the replica count: the same loop, the same guarantees.
import { describe, expect, it } from "vitest";
import { RolledBackError } from "./errors.js";
import { FakeWorld } from "./fakes.test-support.js";
import type { ImageInfo } from "./model.js";
import { type RolloutRequest, rollout } from "./rollout.js";

const v1: ImageInfo = { ref: "app:v1", id: "sha256:v1", exposedPorts: [8000] };
const v2: ImageInfo = { ref: "app:v2", id: "sha256:v2", exposedPorts: [8000] };
const svc = { project: "demo", service: "web" };

function request(world: FakeWorld, image: ImageInfo, over: Partial<RolloutRequest> = {}): RolloutRequest {
  return {
    svc,
    image,
    maxSurge: 1,
    signal: new AbortController().signal,
    timeouts: { healthMs: 120_000, routeMs: 10_000, drainMs: 3000 },
    create: () => world.createWithCompose(image),
    ...over,
  };
}

const deps = (world: FakeWorld) => ({ engine: world, router: world, clock: world, reporter: world });
const hashes = (world: FakeWorld) => [...world.replicasById.values()].map((r) => r.configHash);
const imagesOf = (world: FakeWorld) => [...world.replicasById.values()].map((r) => r.imageRef);

describe("rollout of a configuration change", () => {
  it("replaces every container of the same image whose config hash differs, by compose's own, never fewer than N serving", async () => {
    const world = new FakeWorld([v1]).seed(3, v1, "old");
    world.composeConfig = "new";
    const res = await rollout(deps(world), request(world, v1, { config: "new" }));
    expect(res.result).toBe("complete");
    expect(hashes(world)).toEqual(["new", "new", "new"]);
    expect(world.minServing).toBe(3);
    expect(world.created.size).toBe(0);
  });

  it("does nothing when image and config hash already match", async () => {
    const world = new FakeWorld([v1]).seed(2, v1, "same");
    const res = await rollout(deps(world), request(world, v1, { config: "same" }));
    expect(res.result).toBe("unchanged");
    expect(world.events).toEqual([]);
  });

  it("takes the hash compose actually wrote when `config --hash` said another (env_file, compose 2.22-5.4)", async () => {
    const world = new FakeWorld([v1]).seed(2, v1, "old");
    world.composeConfig = "as-up-writes";
    const res = await rollout(deps(world), request(world, v1, { config: "as-config-says" }));
    expect(res.result).toBe("complete");
    // Two created, not a loop of creates: the first told the goal what to look for.
    expect(hashes(world)).toEqual(["as-up-writes", "as-up-writes"]);
  });

  it("restores clones of the old containers, with their old hash, when the new ones fail", async () => {
    const world = new FakeWorld([v1, v2], { health: v2.id }).seed(3, v1, "old");
    world.composeConfig = "new";
    const err = await rollout(deps(world), request(world, v2, { config: "new" })).catch((e) => e);
    expect(err).toBeInstanceOf(RolledBackError);
    expect(imagesOf(world)).toEqual(["app:v1", "app:v1", "app:v1"]);
    expect(hashes(world)).toEqual(["old", "old", "old"]);
    expect(world.serving()).toBe(3);
    expect(world.minServing).toBeGreaterThanOrEqual(3);
  });
});

describe("rollout to another replica count", () => {
  it("scales 3 → 5 → 2 on the same image: new ones join proven, surplus ones drain, never below the smaller count", async () => {
    const world = new FakeWorld([v1]).seed(3, v1, "h");
    world.composeConfig = "h";
    const up = await rollout(deps(world), request(world, v1, { config: "h", replicas: 5 }));
    expect(up).toMatchObject({ result: "complete", replicas: 5 });
    expect(world.serving()).toBe(5);
    expect(world.minServing).toBeGreaterThanOrEqual(3);
    const down = await rollout(deps(world), request(world, v1, { config: "h", replicas: 2 }));
    expect(down).toMatchObject({ result: "complete", replicas: 2 });
    expect(world.serving()).toBe(2);
    expect(world.routed).toHaveLength(2);
    // Each removed replica left Traefik and drained before it was stopped.
    const drained = world.events.filter((e) => e.type === "replica" && e.state === "draining");
    expect(drained).toHaveLength(3);
    expect(world.minServing).toBe(2);
  });

  it("a failed scale-up with a new image goes back to the old count", async () => {
    const world = new FakeWorld([v1, v2], { verify: v2.id }).seed(3, v1);
    const err = await rollout(deps(world), { ...request(world, v2), create: undefined, replicas: 5 }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(RolledBackError);
    expect(imagesOf(world)).toEqual(["app:v1", "app:v1", "app:v1"]);
    expect(world.serving()).toBe(3);
  });
});
