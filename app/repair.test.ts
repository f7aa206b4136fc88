// repair()'s decision, step by step, on the controller's in-memory world.
import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import { FakeWorld } from "../controller/fakes.test-support.js";
import type { ImageInfo } from "../controller/model.js";
import type { OwnedServers, Revision, Router } from "../controller/ports.js";
import { MemoryState, testContext } from "./fakes.test-support.js";
import { repair } from "./repair.js";

const img = (tag: string): ImageInfo => ({ ref: `app:${tag}`, id: `sha256:${tag}`, exposedPorts: [8000] });
const [v1, v2] = [img("v1"), img("v2")];
const by = { user: "ci", host: "other-runner", pid: 7 };
const rev = (number: number, image: ImageInfo, result: Revision["result"] = "complete"): Revision => ({
  number,
  image: { ref: image.ref, id: image.id },
  by,
  at: "2026-11-01T00:00:00Z",
  result,
});
const images = (world: FakeWorld) => [...world.replicasById.values()].map((r) => r.imageId);

/** File mode's owned list over the world's routed servers (FakeWorld alone is a router without one). */
function withOwnedList(world: FakeWorld): Router & { writes: string[][] } {
  const writes: string[][] = [];
  const owned: OwnedServers = {
    file: "/traefik/web.yml",
    service: "web",
    listed: async () => [...world.routed],
    setServers: async (urls, ms, signal) => {
      writes.push(urls);
      await world.setServers(urls);
      void ms;
      void signal;
    },
    preview: async (urls) => ({ after: urls.join("\n") }),
    routed: async () => true,
  };
  return Object.assign(Object.create(world), { owned, writes });
}

describe("repair", () => {
  it("goes back to what an interrupted rollout replaced, taking over its stale lock", async () => {
    // Killed half way: one v2 container beside one v1; its lock's lease ran out long ago.
    const world = new FakeWorld([v1, v2]).seed(1, v1).seed(1, v2);
    const state = new MemoryState();
    state.revisions = [rev(1, v1)];
    state.held = {
      by,
      since: "2026-11-01T00:00:00Z",
      target: v2,
      previous: v1,
      revision: 2,
      replicas: 2,
      command: "roll --image app:v2",
      leaseMs: 60_000,
      renewedAgoMs: 600_000,
    };
    const ctx = testContext(world, state);
    await repair(ctx);
    expect(images(world)).toEqual([v1.id, v1.id]);
    expect(ctx.said.some((l) => l.startsWith("taking over a stale lock"))).toBe(true);
    expect(state.held).toBeUndefined();
    expect(state.revisions.map((r) => `${r.number} ${r.image.ref} ${r.result}`)).toContain(
      "2 app:v1 complete",
    );
  });

  it("does nothing to a service at its baseline, and says so", async () => {
    const world = new FakeWorld([v1]).seed(2, v1);
    const ctx = testContext(world, new MemoryState());
    expect(await repair(ctx)).toBeUndefined();
    expect(ctx.said).toEqual([
      "web is consistent: every running container is in Traefik, on one image; nothing to repair",
    ]);
    expect(world.events).toEqual([]);
  });

  it("on one image with the owned list out of step (compose recreated a container), a sync is the whole repair", async () => {
    const world = new FakeWorld([v1]).seed(2, v1);
    world.routed = [world.routed[0] as string, "http://10.0.0.99:8000"];
    const router = withOwnedList(world);
    const state = new MemoryState();
    const ctx = testContext(world, state, { deps: { engine: world, router, clock: world, reporter: world } });
    expect(await repair(ctx)).toBeUndefined();
    const running = [...world.replicasById.values()].map((r) => r.url);
    expect([...world.routed].sort()).toEqual(running.sort());
    expect(ctx.said.at(-1)).toMatch(/^repair: Traefik now serves exactly the running containers/);
    expect(state.acquired).toEqual([]); // no rollout, so no lock
  });

  it("otherwise aims at the newest complete revision, skipping a newer failed one", async () => {
    // Mixed images with no lock left: the target is decided, and the rollout itself then
    // refuses mixed images (only a kept lock's recovery may start from them).
    const world = new FakeWorld([v1, v2]).seed(2, v1).seed(1, v2);
    world.routed = world.routed.slice(0, 2);
    const state = new MemoryState();
    state.revisions = [rev(2, v2, "failed"), rev(1, v1)];
    const ctx = testContext(world, state);
    await expect(repair(ctx)).rejects.toThrow(/runs mixed images/);
    expect(ctx.said).toContain("repair: converging on app:v1");
    expect(state.held).toBeUndefined();
  });

  it("refuses when nothing runs and no revision is recorded", async () => {
    const world = new FakeWorld([v1]);
    world.routed = ["http://10.0.0.9:8000"];
    await expect(repair(testContext(world, new MemoryState()))).rejects.toThrow(RefusedError);
  });
});
