import { describe, expect, it } from "vitest";
import { decide } from "./decide.js";
import { aReplica } from "./fakes.test-support.js";
import type { Goal, ImageInfo, Observation, Replica } from "./model.js";
import { replicaTarget, rolloutBounds } from "./scale.js";

const v1: ImageInfo = { ref: "app:v1", id: "sha256:v1", exposedPorts: [8000] };
const v2: ImageInfo = { ref: "app:v2", id: "sha256:v2", exposedPorts: [8000] };

let seq = 0;
function replica(number: number, image: ImageInfo, health: Replica["health"], configHash?: string): Replica {
  const id = `c${++seq}`;
  const over = { id, name: `demo-web-${number}`, number, imageId: image.id, imageRef: image.ref, health };
  return aReplica({ ...over, url: `http://${id}:8000`, ...(configHash ? { configHash } : {}) });
}

/**
 * Drives decide() to done with every action succeeding, counting after each step the
 * containers in Traefik or booting (a draining one is out of Traefik, finishing its
 * requests, like Kubernetes' terminating pods) and the healthy ones Traefik routes to.
 */
function simulate(n: number, from: ImageInfo, goal: Goal, fromConfig?: string) {
  const replicas = Array.from({ length: n }, (_, i) => replica(i + 1, from, "healthy", fromConfig));
  let obs: Observation = { replicas, routed: replicas.map((r) => r.url as string) };
  let draining: Replica[] = [];
  let maxContainers = n;
  let minServing = n;
  const starts: number[] = [];
  for (let i = 0; i < 200; i++) {
    const step = decide({ ...obs, held: draining.map((r) => r.number) }, goal);
    draining = [];
    if (step.kind === "done") return { obs, maxContainers, minServing, starts };
    if (step.kind === "start") {
      starts.push(step.number);
      obs = {
        ...obs,
        replicas: [...obs.replicas, replica(step.number, goal.image, "starting", goal.config)],
      };
    } else if (step.kind === "await-health") {
      obs = {
        ...obs,
        replicas: obs.replicas.map((r) => (r.id === step.replica.id ? { ...r, health: "healthy" } : r)),
      };
    } else if (step.kind === "route") {
      const out = step.retire;
      if (out) draining.push(out);
      obs = {
        replicas: obs.replicas.filter((r) => r.id !== out?.id),
        routed: [...obs.routed.filter((u) => u !== out?.url), step.replica.url as string],
      };
    } else if (step.kind === "retire") {
      draining.push(step.replica);
      obs = {
        replicas: obs.replicas.filter((r) => r.id !== step.replica.id),
        routed: obs.routed.filter((u) => u !== step.replica.url),
      };
    } else throw new Error(`unexpected ${step.kind}`);
    const serving = obs.replicas.filter(
      (r) => r.health === "healthy" && obs.routed.includes(r.url as string),
    ).length;
    minServing = Math.min(minServing, serving);
    maxContainers = Math.max(maxContainers, obs.replicas.length);
  }
  throw new Error("no convergence");
}

describe("replicaTarget", () => {
  it("takes --scale, then deploy.replicas, then the running count", () => {
    expect(replicaTarget({ running: 3, scale: 5, declared: 2 })).toEqual({ replicas: 5, source: "--scale" });
    expect(replicaTarget({ running: 3, declared: 2 })).toEqual({ replicas: 2, source: "deploy.replicas" });
    expect(replicaTarget({ running: 3 })).toEqual({ replicas: 3, source: "running" });
  });

  it("refuses zero replicas, naming where the number came from", () => {
    expect(() => replicaTarget({ running: 3, scale: 0 })).toThrow(/--scale asks for 0 replicas/);
    expect(() => replicaTarget({ running: 3, declared: 0 })).toThrow(/deploy.replicas asks for 0/);
  });
});

describe("rolloutBounds, checked against decide()", () => {
  const cases: [string, number, ImageInfo, number, number, { minServing: number; maxContainers: number }][] =
    [
      ["3 → 5 with a new image, surge 1", 3, v2, 5, 1, { minServing: 3, maxContainers: 6 }],
      ["5 → 2 with a new image, surge 1", 5, v2, 2, 1, { minServing: 2, maxContainers: 5 }],
      ["3 → 3 with a new image, surge 3", 3, v2, 3, 3, { minServing: 3, maxContainers: 6 }],
      ["3 → 5, same image", 3, v1, 5, 1, { minServing: 3, maxContainers: 6 }],
      ["5 → 2, same image", 5, v1, 2, 1, { minServing: 2, maxContainers: 5 }],
    ];
  for (const [what, n, image, m, surge, bounds] of cases) {
    it(what, () => {
      const goal: Goal = { image, replicas: m, maxSurge: surge };
      expect(rolloutBounds(n, goal)).toEqual(bounds);
      const run = simulate(n, v1, goal);
      expect(run.minServing).toBeGreaterThanOrEqual(bounds.minServing);
      expect(run.maxContainers).toBeLessThanOrEqual(bounds.maxContainers);
      // Converged: exactly m routed containers of the goal image.
      expect(run.obs.replicas.map((r) => r.imageId)).toEqual(Array(m).fill(image.id));
      expect(run.obs.routed).toHaveLength(m);
    });
  }

  it("a scale-down of the same image starts nothing", () => {
    expect(simulate(5, v1, { image: v1, replicas: 2, maxSurge: 1 }).starts).toEqual([]);
  });

  it("a scale-up of the same image starts only the missing ones", () => {
    expect(simulate(3, v1, { image: v1, replicas: 5, maxSurge: 1 }).starts).toHaveLength(2);
  });

  it("a configuration change on the same image replaces every container", () => {
    const run = simulate(3, v1, { image: v1, replicas: 3, maxSurge: 1, config: "new" }, "old");
    expect(run.starts).toHaveLength(3);
    expect(run.minServing).toBe(3);
    expect(run.obs.replicas.map((r) => r.configHash)).toEqual(["new", "new", "new"]);
  });
});
