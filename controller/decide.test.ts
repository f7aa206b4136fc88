import { describe, expect, it } from "vitest";
import { decide, maxContainers, nextNumber, type Step, swapOut } from "./decide.js";
import type { Goal, ImageInfo, Observation, Replica } from "./model.js";

const v1: ImageInfo = { ref: "app:v1", id: "sha256:v1", exposedPorts: [8000] };
const v2: ImageInfo = { ref: "app:v2", id: "sha256:v2", exposedPorts: [8000] };

function replica(number: number, image: ImageInfo, over: Partial<Replica> = {}): Replica {
  return {
    id: `id${number}`,
    name: `demo-web-${number}`,
    number,
    imageId: image.id,
    imageRef: image.ref,
    running: true,
    health: "healthy",
    url: `http://10.0.0.${number}:8000`,
    ...over,
  };
}

/** N old replicas, all routed: the state before a rollout. */
function steady(n: number, image = v1): Observation {
  const replicas = Array.from({ length: n }, (_, i) => replica(i + 1, image));
  return { replicas, routed: replicas.map((r) => r.url as string) };
}

/** Applies a step the way the real controller would, when every action succeeds. */
function apply(obs: Observation, step: Step, image: ImageInfo): Observation {
  switch (step.kind) {
    case "start":
      return { ...obs, replicas: [...obs.replicas, replica(step.number, image, { health: "starting" })] };
    case "await-health":
      return {
        ...obs,
        replicas: obs.replicas.map((r) => (r.id === step.replica.id ? { ...r, health: "healthy" } : r)),
      };
    case "route": {
      // The swapped-out old one drains out of decide()'s sight (the loop hides it).
      const out = step.retire;
      return {
        replicas: obs.replicas.filter((r) => r.id !== out?.id),
        routed: [...obs.routed.filter((u) => u !== out?.url), step.replica.url as string],
      };
    }
    case "retire":
      return {
        replicas: obs.replicas.filter((r) => r.id !== step.replica.id),
        routed: obs.routed.filter((u) => u !== step.replica.url),
      };
    case "unroute-orphan":
      return { ...obs, routed: obs.routed.filter((u) => u !== step.url) };
    default:
      throw new Error(`cannot apply ${step.kind}`);
  }
}

/** Serving = routed to a running, healthy container. */
function serving(obs: Observation): number {
  return obs.replicas.filter(
    (r) => r.running && r.health === "healthy" && r.url && obs.routed.includes(r.url),
  ).length;
}

function run(obs: Observation, goal: Goal, limit = 100): { steps: Step[]; final: Observation } {
  const steps: Step[] = [];
  let cur = obs;
  for (let i = 0; i < limit; i++) {
    const step = decide(cur, goal);
    steps.push(step);
    if (step.kind === "done" || step.kind === "fail") return { steps, final: cur };
    // Between steps, at every moment: never fewer than N serving, never more than N + surge containers.
    cur = apply(cur, step, goal.image);
    expect(serving(cur)).toBeGreaterThanOrEqual(Math.min(goal.replicas, serving(obs)));
    expect(cur.replicas.length).toBeLessThanOrEqual(Math.max(maxContainers(goal), obs.replicas.length));
  }
  throw new Error("did not converge");
}

describe("decide: rolling plans", () => {
  for (const n of [1, 2, 3, 4, 5]) {
    it(`rolls ${n} replica(s) one at a time: start, await, route+retire in one write — never below ${n} serving`, () => {
      const { steps, final } = run(steady(n), { image: v2, replicas: n, maxSurge: 1 });
      expect(steps.map((s) => s.kind)).toEqual([
        ...Array.from({ length: n }, () => ["start", "await-health", "route"]).flat(),
        "done",
      ]);
      expect(final.replicas.every((r) => r.imageId === v2.id)).toBe(true);
      expect(final.replicas).toHaveLength(n);
      expect(final.routed).toHaveLength(n);
      // Retires the oldest first (lowest compose numbers), as compose would.
      const retired = steps.flatMap((s) => (s.kind === "route" && s.retire ? [s.retire.number] : []));
      expect(retired).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    });

    it(`with surge ${n}, boots all ${n} new side by side before retiring`, () => {
      const { steps, final } = run(steady(n), { image: v2, replicas: n, maxSurge: n });
      const kinds = steps.map((s) => s.kind);
      expect(kinds.slice(0, n)).toEqual(Array(n).fill("start"));
      expect(kinds.filter((k) => k === "start")).toHaveLength(n);
      expect(final.replicas.every((r) => r.imageId === v2.id)).toBe(true);
    });
  }

  it("restoring is the same loop towards the old image: replaces the routed new ones", () => {
    // Mid-rollout of 3: #1 was replaced by new #4, new #5 is still starting.
    const obs: Observation = {
      replicas: [replica(2, v1), replica(3, v1), replica(4, v2), replica(5, v2, { health: "unhealthy" })],
      routed: ["http://10.0.0.2:8000", "http://10.0.0.3:8000", "http://10.0.0.4:8000"],
    };
    const { steps, final } = run(obs, { image: v1, replicas: 3, maxSurge: 1 });
    // The broken, unrouted #5 goes first (it serves nobody), then #4 is replaced.
    expect(steps.map((s) => s.kind)).toEqual(["retire", "start", "await-health", "route", "done"]);
    expect(steps[3]).toMatchObject({ kind: "route", retire: { number: 4 } });
    expect(final.replicas.map((r) => r.imageId)).toEqual([v1.id, v1.id, v1.id]);
    expect(final.routed).toHaveLength(3);
  });
});

describe("swapOut: which old server leaves in the write that adds a new one", () => {
  const goal = { image: v2, replicas: 3, maxSurge: 1 };
  const old = [replica(2, v1), replica(1, v1), replica(3, v1)];
  it("3 replicas, first new one: 1 new + 3 old = 4 > 3, so the oldest (#1) goes", () => {
    expect(swapOut(1, old, goal)?.number).toBe(1);
  });
  it("3 replicas, 1 new + 2 old = 3 (an old one already gone): nothing to swap, just add", () => {
    expect(swapOut(1, old.slice(0, 2), goal)).toBeUndefined();
  });
  it("1 replica: 1 new + 1 old = 2 > 1, the only old one goes", () => {
    expect(swapOut(1, [replica(1, v1)], { ...goal, replicas: 1 })?.number).toBe(1);
  });
  it("scaling up 3 → 5 with 3 old: 1 new + 3 old = 4 ≤ 5, nothing leaves", () => {
    expect(swapOut(1, old, { ...goal, replicas: 5 })).toBeUndefined();
  });
});

describe("decide: failures and leftovers", () => {
  it("fails when a new container turns unhealthy", () => {
    const obs = steady(3);
    obs.replicas.push(replica(4, v2, { health: "unhealthy" }));
    expect(decide(obs, { image: v2, replicas: 3, maxSurge: 1 })).toMatchObject({
      kind: "fail",
      reason: "demo-web-4 is unhealthy",
    });
  });

  it("fails when a new container exits, naming its exit code", () => {
    const obs = steady(2);
    obs.replicas.push(replica(3, v2, { running: false, exitCode: 3, health: "starting" }));
    expect(decide(obs, { image: v2, replicas: 2, maxSurge: 1 })).toMatchObject({
      kind: "fail",
      reason: "demo-web-3 exited with code 3",
    });
  });

  it("judges only the containers this run started: one of the goal image another run left stopped is retired", () => {
    // A repair back to v1 after a SIGKILL: v1's web-1 was drained and stopped by the killed
    // run, which died before removing it; web-4 (v2) serves, web-2 and web-3 (v1) too.
    const obs = steady(3);
    obs.replicas[0] = replica(1, v1, { running: false, exitCode: 0 });
    obs.routed = obs.routed.slice(1);
    obs.replicas.push(replica(4, v2));
    obs.routed.push("http://10.0.0.4:8000");
    const goal = { image: v1, replicas: 3, maxSurge: 1, restore: true };
    expect(decide({ ...obs, mine: [] }, goal)).toMatchObject({ kind: "retire", replica: { number: 1 } });
    // Unhealthy, as a drain file leaves it in label mode: retired too.
    obs.replicas[0] = replica(1, v1, { health: "unhealthy" });
    expect(decide({ ...obs, mine: [] }, goal)).toMatchObject({ kind: "retire", replica: { number: 1 } });
    // Started by this run, it is a verdict on the image.
    expect(decide({ ...obs, mine: ["id1"] }, goal)).toMatchObject({
      kind: "fail",
      reason: "demo-web-1 is unhealthy",
    });
  });

  it("removes a server with no container behind it before anything else", () => {
    const obs = steady(2);
    obs.routed.push("http://10.0.0.99:8000");
    expect(decide(obs, { image: v2, replicas: 2, maxSurge: 1 })).toEqual({
      kind: "unroute-orphan",
      url: "http://10.0.0.99:8000",
    });
  });

  it("clears an exited old container first (docker-rollout#20)", () => {
    const obs = steady(2);
    obs.replicas.push(replica(3, v1, { running: false, exitCode: 0 }));
    expect(decide(obs, { image: v2, replicas: 2, maxSurge: 1 })).toMatchObject({
      kind: "retire",
      replica: { number: 3 },
    });
  });

  it("takes an unhealthy (hung) old container out first, before any replacement", () => {
    const obs = steady(3);
    obs.replicas[2] = replica(3, v1, { health: "unhealthy" });
    expect(decide(obs, { image: v2, replicas: 3, maxSurge: 1 })).toMatchObject({
      kind: "retire",
      replica: { number: 3 },
    });
  });

  it("waits for a booting container instead of starting past the surge", () => {
    const obs = steady(3);
    obs.replicas.push(replica(4, v2, { health: "starting" }));
    expect(decide(obs, { image: v2, replicas: 3, maxSurge: 1 })).toMatchObject({
      kind: "await-health",
      replica: { number: 4 },
    });
  });

  it("is done when the goal already holds (a rerun changes nothing)", () => {
    expect(decide(steady(3, v2), { image: v2, replicas: 3, maxSurge: 1 })).toEqual({ kind: "done" });
  });

  it("routes a container without a HEALTHCHECK once running", () => {
    const obs = steady(1);
    obs.replicas.push(replica(2, v2, { health: "none" }));
    expect(decide(obs, { image: v2, replicas: 1, maxSurge: 1 })).toMatchObject({ kind: "route" });
  });

  it("numbers new containers with the lowest free number, counting draining ones", () => {
    expect(nextNumber([replica(1, v1), replica(7, v1)])).toBe(2);
    expect(nextNumber([])).toBe(1);
    expect(nextNumber([replica(2, v1), replica(3, v1)], [1])).toBe(4);
  });

  it("keeps names at 1..N+surge over many rollouts (simulated)", () => {
    // Each rollout: start lowest-free, then retire the oldest old one, N times.
    let live = [1, 2, 3];
    for (let rollout = 0; rollout < 20; rollout++) {
      const olds = [...live];
      for (const old of olds) {
        const n = nextNumber(live.map((k) => replica(k, v1)));
        live = [...live.filter((k) => k !== old), n];
      }
      expect(Math.max(...live)).toBeLessThanOrEqual(4);
      expect(new Set(live).size).toBe(3);
    }
  });
});
