// roll() and rollRelease() on the controller's in-memory world: what a change does around
// the rollout itself (refusals first, the dry run, the hooks, the crash watch, the pull).
import { describe, expect, it } from "vitest";
import { RefusedError, RolledBackError } from "../controller/errors.js";
import { FakeWorld } from "../controller/fakes.test-support.js";
import type { ImageInfo } from "../controller/model.js";
import type { ContainerEvents, Images, PullPolicy, Routing, Tasks } from "../controller/ports.js";
import { MemoryState, testContext } from "./fakes.test-support.js";
import { roll, rollRelease } from "./roll.js";

const img = (tag: string, ports = [8000]): ImageInfo => ({
  ref: `app:${tag}`,
  id: `sha256:${tag}`,
  exposedPorts: ports,
});
const [v1, v2] = [img("v1"), img("v2")];

/** Records each one-off's argv; every command succeeds. */
function recordingTasks(): Tasks & { ran: string[][] } {
  const ran: string[][] = [];
  return {
    ran,
    run: async (_t, _i, argv) => {
      ran.push(argv);
      return { exitCode: 0, stdout: "", lastError: "", seconds: 0 };
    },
  };
}

describe("roll", () => {
  it("rolls every replica to the image, records the revision and releases the lock", async () => {
    const world = new FakeWorld([v1, v2]).seed(3, v1);
    const state = new MemoryState();
    const outcome = await roll(testContext(world, state), v2, "roll --image app:v2", true);
    expect(outcome).toMatchObject({ rolled: { result: "complete", replicas: 3 } });
    expect([...world.replicasById.values()].map((r) => r.imageId)).toEqual([v2.id, v2.id, v2.id]);
    expect(state.revisions.map((r) => `${r.number} ${r.image.ref} ${r.result}`)).toEqual([
      "1 app:v1 complete",
      "2 app:v2 complete",
    ]);
    expect(state.held).toBeUndefined();
    expect(world.minServing).toBeGreaterThanOrEqual(3);
  });

  it("refuses what the routing mode refuses before it observes, locks or changes anything", async () => {
    const world = new FakeWorld([v1, v2]).seed(2, v1);
    const refusal = new RefusedError("no safe drain", "add a drain file check");
    const router = Object.assign(Object.create(world), {
      describe: (): Routing => ({ ...world.describe(), mode: "labels", refusal }),
    });
    const state = new MemoryState();
    const ctx = testContext(world, state, { deps: { engine: world, router, clock: world, reporter: world } });
    await expect(roll(ctx, v2, "roll", true)).rejects.toBe(refusal);
    expect(state.acquired).toEqual([]);
    expect(world.events).toEqual([]);
  });

  it("plans a dry run without taking the lock or touching a container", async () => {
    const world = new FakeWorld([v1, v2]).seed(2, v1);
    const state = new MemoryState();
    const outcome = await roll(testContext(world, state, { opts: { dryRun: true } }), v2, "roll", true);
    expect(outcome).toMatchObject({
      planned: { from: { ref: "app:v1" }, image: { ref: "app:v2" }, replicas: 2 },
    });
    expect(state.acquired).toEqual([]);
    expect(state.revisions).toEqual([]);
    expect([...world.replicasById.values()].map((r) => r.imageId)).toEqual([v1.id, v1.id]);
  });

  it("runs the pre-deploy hook before and the post-deploy hook after a new release, none for a rollback", async () => {
    const world = new FakeWorld([v1, v2]).seed(2, v1);
    const tasks = recordingTasks();
    const opts = { preDeploy: ["./pre"], postDeploy: ["./post"] };
    await roll(testContext(world, new MemoryState(), { tasks, opts }), v2, "roll", true);
    expect(tasks.ran).toEqual([["./pre"], ["./post"]]);
    const after = recordingTasks();
    await roll(testContext(world, new MemoryState(), { tasks: after, opts }), v1, "undo", false);
    expect(after.ran).toEqual([]);
  });

  it("stops and restores at once when the crash watch reports a new container dying", async () => {
    const world = new FakeWorld([v1, v2]).seed(2, v1);
    let stops = 0;
    const events: ContainerEvents = {
      watchCrashes: async (_svc, imageId, onCrash) => {
        expect(imageId).toBe(v2.id);
        // The first new container dies as soon as it is reported started.
        const report = world.event.bind(world);
        world.event = (e) => {
          report(e);
          if (e.type === "replica" && e.state === "adding") onCrash("demo-web-3", "139");
        };
        return () => stops++;
      },
    };
    const err = await roll(testContext(world, new MemoryState(), { events }), v2, "roll", true).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RolledBackError);
    expect(String((err as RolledBackError).message)).toMatch(/demo-web-3 exited with code 139/);
    expect([...world.replicasById.values()].map((r) => r.imageId)).toEqual([v1.id, v1.id]);
    expect(stops).toBe(1);
  });
});

describe("rollRelease", () => {
  function pulling(world: FakeWorld, seen: { ref: string; policy: PullPolicy; from?: string }[]): Images {
    return {
      ensure: async (ref, policy, o) => {
        seen.push({ ref, policy, ...(o.policyFrom ? { from: o.policyFrom } : {}) });
        o.onProgress?.({ ref, status: "pulled" });
        return (await world.image(ref)) as ImageInfo;
      },
    };
  }

  it("pulls by --pull, else the service's pull_policy, else missing, reporting progress", async () => {
    const seen: { ref: string; policy: PullPolicy; from?: string }[] = [];
    for (const opts of [{ pull: "always" as const }, { servicePull: "never" }, {}]) {
      const world = new FakeWorld([v1, v2]).seed(1, v1);
      await rollRelease(
        testContext(world, new MemoryState(), { images: pulling(world, seen), opts }),
        "app:v2",
      );
      expect(world.events[0]).toMatchObject({ type: "pull", ref: "app:v2", status: "pulled" });
    }
    expect(seen).toEqual([
      { ref: "app:v2", policy: "always", from: "--pull" },
      { ref: "app:v2", policy: "never", from: "pull_policy:" },
      { ref: "app:v2", policy: "missing", from: "default" },
    ]);
  });

  it("refuses an image with several ports unless --port names one, which then keys the engine's port", async () => {
    const two = img("two", [8000, 9000]);
    const world = new FakeWorld([v1, two]).seed(1, v1);
    await expect(rollRelease(testContext(world, new MemoryState()), "app:two")).rejects.toThrow(
      /exposes ports 8000, 9000/,
    );
    const ctx = testContext(world, new MemoryState(), { opts: { port: 9000 } });
    await rollRelease(ctx, "app:two");
    expect(ctx.portByImage).toEqual({ [two.id]: 9000 });
  });

  it("pulls nothing in a dry run, and says what the rollout would do with an image not on the host", async () => {
    const world = new FakeWorld([v1]).seed(1, v1);
    const seen: { ref: string; policy: PullPolicy }[] = [];
    const ctx = testContext(world, new MemoryState(), {
      images: pulling(world, seen),
      opts: { dryRun: true },
    });
    const outcome = await rollRelease(ctx, "app:v9");
    expect(seen).toEqual([]);
    expect(ctx.said).toContain("dry run: app:v9 is not on the Docker host; the rollout would pull it first");
    expect(outcome).toMatchObject({ planned: { image: { ref: "app:v9" } } });
  });
});
