import { describe, expect, it } from "vitest";
import { describeSwarm, roomForSurge, type SwarmServiceFacts, swarmVerdict } from "./swarm-rules.js";

const routed = {
  "traefik.enable": "true",
  "traefik.http.routers.web.rule": "PathPrefix(`/`)",
  "traefik.http.services.web.loadbalancer.server.port": "8000",
};

function service(over: Partial<SwarmServiceFacts> = {}): SwarmServiceFacts {
  return {
    name: "shop_web",
    stack: "shop",
    mode: "replicated",
    replicas: 3,
    labels: { "com.docker.stack.namespace": "shop", ...routed },
    containerLabels: {},
    eligibleNodes: 3,
    ...over,
  };
}

const facts = (over: Partial<SwarmServiceFacts> = {}, pollSeconds?: number) => ({
  role: "manager" as const,
  service: service(over),
  ...(pollSeconds ? { pollSeconds } : {}),
});
/** The refusal, or "rollable" when the service passes every rule. */
const verdict = (over: Partial<SwarmServiceFacts> = {}, pollSeconds?: number) =>
  swarmVerdict(facts(over, pollSeconds)) ?? { message: "rollable", hint: "" };

describe("roomForSurge: max per node × eligible nodes ≥ replicas + 1", () => {
  it.each([
    // replicas, max per node, eligible nodes, room
    [3, 1, 3, false], // Swarm's start-first hangs forever here
    [2, 1, 3, true],
    [3, 2, 2, true],
    [4, 2, 2, false],
    [3, undefined, 1, true], // no limit: one node takes them all
    [3, 0, 3, true], // 0 = no limit, as Swarm reads it
    [1, undefined, 0, false], // no node can take a task at all
  ])("replicas %i, max %s per node, %i nodes → %s", (replicas, max, nodes, room) => {
    expect(roomForSurge(replicas, max, nodes)).toBe(room);
  });
});

describe("swarmVerdict", () => {
  it("refuses a worker engine and names a manager as what to reach", () => {
    const v = swarmVerdict({ role: "worker" }) ?? { message: "", hint: "" };
    expect(v.message).toMatch(/Swarm worker/);
    expect(v.hint).toMatch(/manager/);
  });

  it("refuses a global service (and jobs), naming the mode", () => {
    expect(verdict({ mode: "global" }).message).toMatch(/shop_web runs in global mode/);
    expect(verdict({ mode: "replicated-job" }).message).toMatch(/replicated-job mode/);
    expect(verdict({ mode: "global" }).hint).toMatch(/deploy.mode: replicated/);
  });

  it.each(["traefik.docker.lbswarm", "traefik.swarm.lbswarm"])("refuses VIP routing by %s=true", (key) => {
    const v = verdict({ labels: { ...routed, [key]: "True" } });
    expect(v.message).toContain(`${key}=true`);
    expect(v.message).toMatch(/VIP/);
    expect(v.hint).toContain(`remove ${key}`);
  });

  it("lets lbswarm=false through to the next rule", () => {
    expect(verdict({ labels: { ...routed, "traefik.swarm.lbswarm": "false" } }).message).toBe("rollable");
  });

  it("refuses a service with no traefik labels, and says where misplaced ones must go", () => {
    expect(verdict({ labels: {} }).message).toMatch(/no traefik\.\* labels on the service/);
    const misplaced = verdict({ labels: { "com.docker.stack.namespace": "shop" }, containerLabels: routed });
    expect(misplaced.message).toMatch(/on the containers/);
    expect(misplaced.hint).toMatch(/deploy\.labels/);
  });

  it("refuses a placement with no room for one more task, with the limit that would fit", () => {
    const v = verdict({ replicas: 3, maxPerNode: 1, eligibleNodes: 3 });
    expect(v.message).toMatch(/room for 4 tasks .* max_replicas_per_node 1 × 3 eligible node\(s\) allows 3/);
    expect(v.hint).toMatch(/max_replicas_per_node to 2/);
    expect(verdict({ replicas: 3, maxPerNode: 2, eligibleNodes: 3 }).message).toBe("rollable");
  });

  it("checks the mode before the labels and the labels before the placement (the first broken rule is named)", () => {
    expect(verdict({ mode: "global", labels: {}, maxPerNode: 1 }).message).toMatch(/global mode/);
    expect(verdict({ labels: {}, maxPerNode: 1 }).message).toMatch(/no traefik/);
  });

  it("lets a service that passes every rule through, and describes it with the facts", () => {
    expect(swarmVerdict(facts({}, 15))).toBeUndefined();
    expect(describeSwarm(facts({}, 15))).toBe(
      "shop_web is a Swarm stack service (stack shop, 3 replica(s), 3 eligible node(s), Traefik Swarm poll 15 s)",
    );
    expect(describeSwarm(facts({}))).not.toMatch(/poll/);
  });
});
