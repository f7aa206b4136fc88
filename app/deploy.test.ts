import { describe, expect, it } from "vitest";
import {
  ExitCode,
  exitCodeFor,
  LockLostError,
  PreDeployError,
  RefusedError,
  RollbackFailedError,
  RolledBackError,
} from "../controller/errors.js";
import { FakeWorld } from "../controller/fakes.test-support.js";
import type { ImageInfo, Replica } from "../controller/model.js";
import type { Clock, Tasks } from "../controller/ports.js";
import { lockKeeping } from "../state/keeping.js";
import type { RolloutOptions } from "./context.js";
import { deploy } from "./deploy.js";
import { MemoryState, testContext } from "./fakes.test-support.js";

const img = (tag: string): ImageInfo => ({ ref: `app:${tag}`, id: `sha256:${tag}`, exposedPorts: [8000] });
const [v1, v2, v3] = [img("v1"), img("v2"), img("v3")];
const svc = { project: "demo", service: "web" };
const other = { user: "ci", host: "other-runner", pid: 7 };

function context(
  world: FakeWorld,
  state: MemoryState,
  waitMs: number,
  over: { opts?: Partial<RolloutOptions>; tasks?: Tasks } = {},
) {
  return testContext(world, state, { ...over, opts: { waitMs, ...over.opts } });
}

const request = (image: ImageInfo, release = false) => ({
  image,
  command: `roll --image ${image.ref}`,
  release,
  signal: new AbortController().signal,
});

/** A pre-deploy hook whose one-off container runs `run` instead (the migration gate's quiet plan first). */
const hook = (run: () => Promise<number>) => ({
  opts: { preDeploy: ["python3", "manage.py", "migrate"] },
  tasks: {
    run: async () => ({ exitCode: await run(), stdout: "", lastError: "", seconds: 0 }),
  } as Tasks,
});

describe("deploy", () => {
  it("records what it found as revision 1 on first contact, then a numbered revision naming what it replaced", async () => {
    const world = new FakeWorld([v1, v2]).seed(2, v1);
    const state = new MemoryState();
    await deploy(context(world, state, 0), request(v2));
    expect(state.revisions).toMatchObject([
      { number: 1, image: { ref: "app:v1", id: v1.id }, result: "complete" },
      { number: 2, image: { ref: "app:v2" }, previousImage: { ref: "app:v1" }, previous: 1 },
    ]);
    expect(state.held).toBeUndefined();
    await deploy(context(world, state, 0), request(v1));
    expect(state.revisions.map((r) => r.number)).toEqual([1, 2, 3]);
  });

  it("runs the pre-deploy step under the lock before any container changes; its failure records nothing", async () => {
    const world = new FakeWorld([v1, v2]).seed(2, v1);
    const state = new MemoryState();
    const seen: string[] = [];
    const before = hook(async () => {
      seen.push(
        `lock ${state.held ? "held" : "free"}, ${world.events.length} events, ${world.routed.length} routed`,
      );
      return 1;
    });
    await expect(deploy(context(world, state, 0, before), request(v2, true))).rejects.toThrow(PreDeployError);
    expect(seen).toEqual(["lock held, 0 events, 2 routed"]);
    expect(state.revisions).toEqual([]);
    expect(state.held).toBeUndefined();
    expect([...world.replicasById.values()].map((r) => r.imageId)).toEqual([v1.id, v1.id]);
  });

  it("refuses what the rollout would refuse before the pre-deploy step runs (no migration for a rollout that never starts)", async () => {
    const world = new FakeWorld([v1, v2]).seed(2, v1);
    world.routed.pop(); // Traefik's file lists one of the two running containers: the rollout refuses
    let ran = false;
    const before = hook(async () => {
      ran = true;
      return 0;
    });
    await expect(deploy(context(world, new MemoryState(), 0, before), request(v2, true))).rejects.toThrow(
      RefusedError,
    );
    expect(ran).toBe(false);
  });

  it("keeps the lock when the restore fails too (repair resumes from it), releases it after a rollback", async () => {
    const broken = new FakeWorld([v1, v2], { verify: v2.id, stop: "*" }).seed(2, v1);
    const state = new MemoryState();
    await expect(deploy(context(broken, state, 0), request(v2))).rejects.toThrow(RollbackFailedError);
    expect(state.held).toMatchObject({ previous: { id: v1.id }, replicas: 2 });

    const world = new FakeWorld([v1, v2], { verify: v2.id }).seed(2, v1);
    const clean = new MemoryState();
    await expect(deploy(context(world, clean, 0), request(v2))).rejects.toThrow(RolledBackError);
    expect(clean.held).toBeUndefined();
  });

  it("has the lock count an exited container as a replica, as the rollout and its restore do", async () => {
    // docker-rollout#20: one of three replicas died; the rollout replaces it like the others,
    // so a repair from the kept lock must converge to three, not to the two still running.
    const world = new FakeWorld([v1, v2], { verify: v2.id, stop: "*" }).seed(3, v1);
    const dead = [...world.replicasById.values()][2] as Replica;
    Object.assign(dead, { running: false, exitCode: 137 });
    world.routed = world.routed.filter((u) => u !== dead.url);
    const state = new MemoryState();
    await expect(deploy(context(world, state, 0), request(v2))).rejects.toThrow(RollbackFailedError);
    expect(world.events.find((e) => e.type === "start")).toMatchObject({ replicas: 3 });
    expect(state.acquired[0]).toMatchObject({ replicas: 3 });
    expect(state.held).toMatchObject({ previous: { id: v1.id }, replicas: 3 });
  });

  it("exits 3 at once when another live rollout holds the lock and --wait is 0", async () => {
    const world = new FakeWorld([v1, v2]).seed(2, v1);
    const state = new MemoryState();
    state.held = {
      by: other,
      since: new Date(world.now()).toISOString(),
      target: v2,
      previous: v1,
      revision: 1,
      replicas: 2,
      command: "roll",
    };
    await expect(deploy(context(world, state, 0), request(v2))).rejects.toThrow(
      /is locked: roll by ci@other-runner/,
    );
    expect(state.revisions).toEqual([]);
  });

  it("after waiting out another rollout, reads the service again under the lock", async () => {
    // While we wait, the other run rolls v1 → v2 and records revision 1.
    const world = new FakeWorld([v1, v2, v3]).seed(2, v1);
    const state = new MemoryState();
    state.held = {
      by: other,
      since: new Date(world.now()).toISOString(),
      target: v2,
      previous: v1,
      revision: 1,
      replicas: 2,
      command: "roll",
    };
    state.onRefused = () => {
      state.onRefused = () => {};
      for (const r of world.replicasById.values()) Object.assign(r, { imageId: v2.id, imageRef: v2.ref });
      state.revisions.push({
        number: 1,
        image: v2,
        by: other,
        at: "",
        result: "complete",
        previousImage: v1,
      });
      state.held = undefined;
    };
    await deploy(context(world, state, 60_000), request(v3));
    // Our lock ends up describing the service as it was when we got it, not before the wait,
    expect(state.acquired.at(-1)).toMatchObject({ previous: { id: v2.id }, revision: 2 });
    // and our revision is the next number, replacing v2.
    expect(
      (await state.list(svc)).map((r) => `${r.number} ${r.image.ref} ← ${r.previousImage?.ref}`),
    ).toEqual(["2 app:v3 ← app:v2", "1 app:v2 ← app:v1"]);
  });
});

/** A lease clock whose every sleep ends on the next turn of the event loop, with time moved on by it. */
function hurriedClock(): Clock {
  let t = 0;
  return {
    now: () => t,
    sleep: (ms, signal) =>
      new Promise<void>((ok, fail) => {
        const timer = setTimeout(() => {
          t += ms;
          ok();
        }, 0);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          fail(signal.reason);
        });
      }),
  };
}

describe("deploy, when the lock is lost", () => {
  /** Runs v1 → v2 with `state`; what the world looked like when the run said it lost the lock. */
  async function lose(world: FakeWorld, state: MemoryState) {
    const said: string[] = [];
    let atLoss: string | undefined;
    const snapshot = () => JSON.stringify([world.events, world.routed, [...world.replicasById.values()]]);
    const ctx = {
      ...context(world, state, 0),
      keeping: lockKeeping(state, hurriedClock()),
      say: (line: string) => {
        said.push(line);
        if (line.startsWith("lost the lock")) atLoss = snapshot();
      },
    };
    const err = await deploy(ctx, request(v2)).then(
      () => undefined,
      (e: unknown) => e,
    );
    return { err, said, changedAfterLoss: atLoss !== undefined && atLoss !== snapshot() };
  }

  it("a renewal that never answers: stops at its deadline, restores nothing, exit 4", async () => {
    const world = new FakeWorld([v1, v2]).seed(2, v1);
    const state = new MemoryState();
    state.renew = () => new Promise<boolean>(() => {});
    const { err, changedAfterLoss } = await lose(world, state);
    expect(err).toBeInstanceOf(LockLostError);
    expect(exitCodeFor(err)).toBe(ExitCode.lockLost);
    expect(exitCodeFor(err)).toBe(4);
    expect((err as Error).message).toMatch(
      /lease could not be renewed for .*did not answer a lease renewal within 8s/,
    );
    expect(world.events.map((e) => e.type)).not.toContain("restore");
    expect(changedAfterLoss).toBe(false);
    expect(state.revisions.filter((r) => r.number > 1)).toEqual([]);
  });

  it("taken over by another run: no restore, exit 4, the new holder named", async () => {
    const state = new MemoryState();
    const theirs: LockInfo = {
      by: other,
      since: "2026-01-01T12:05:00.000Z",
      target: v3,
      previous: v1,
      revision: 2,
      replicas: 2,
      command: "roll --image app:v3",
    };
    // Once our first new container is up, another runner breaks our lock and takes it.
    const world = new FakeWorld(
      [v1, v2, v3],
      {},
      {
        controller: new AbortController(),
        atEvent: (e) => {
          if (e.type === "replica" && e.state === "healthy") state.held = theirs;
          return false;
        },
      },
    ).seed(2, v1);
    const { err, changedAfterLoss } = await lose(world, state);
    expect(exitCodeFor(err)).toBe(4);
    expect((err as LockLostError).message).toMatch(
      /taken over by another run; it is held now by ci@other-runner \(pid 7\) since 2026-01-01T12:05:00.000Z/,
    );
    expect((err as LockLostError).hint).toMatch(/compose-roll status/);
    expect(world.events.map((e) => e.type)).not.toContain("restore");
    expect(changedAfterLoss).toBe(false);
    expect(state.held).toBe(theirs); // not released from under its new holder
  });
});
