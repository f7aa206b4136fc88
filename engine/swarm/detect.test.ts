import type Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { detectSwarm, pollOf, routedStackService, serviceFacts } from "./detect.js";
import { eligibleNodes, matches, type SwarmNode } from "./placement.js";

const node = (id: string, over: Partial<SwarmNode> = {}): SwarmNode => ({
  ID: id,
  Spec: { Role: "manager", Availability: "active", Labels: { zone: "A" } },
  Description: { Hostname: `node${id}`, Platform: { OS: "linux", Architecture: "x86_64" } },
  Status: { State: "ready" },
  ...over,
});

describe("placement", () => {
  it("matches ==/!= on role, hostname (any case) and labels (exact)", () => {
    const n = node("1");
    expect(matches(n, "node.role==manager")).toBe(true);
    expect(matches(n, "node.role != manager")).toBe(false);
    expect(matches(n, "node.hostname==NODE1")).toBe(true);
    expect(matches(n, "node.labels.zone==A")).toBe(true);
    expect(matches(n, "node.labels.zone==a")).toBe(false);
    expect(matches(n, "node.labels.disk==ssd")).toBe(false);
    expect(matches(n, "node.labels.disk!=ssd")).toBe(true);
  });

  it("counts ready, active nodes that meet every constraint", () => {
    const nodes = [
      node("1"),
      node("2", { Spec: { Role: "worker", Availability: "active" } }),
      node("3", { Status: { State: "down" } }),
      node("4", { Spec: { Role: "manager", Availability: "drain" } }),
    ];
    expect(eligibleNodes(nodes, [])).toBe(2);
    expect(eligibleNodes(nodes, ["node.role==worker"])).toBe(1);
    expect(eligibleNodes(nodes, ["node.role==manager", "node.labels.zone==B"])).toBe(0);
  });
});

describe("serviceFacts and pollOf", () => {
  it("reads mode, replicas, labels and max per node from a service spec", () => {
    const f = serviceFacts(
      {
        Name: "shop_web",
        Labels: { "com.docker.stack.namespace": "shop", "traefik.enable": "true" },
        Mode: { Replicated: { Replicas: 4 } },
        TaskTemplate: { ContainerSpec: { Labels: { a: "b" } }, Placement: { MaxReplicas: 2 } },
      },
      3,
    );
    expect(f).toMatchObject({
      stack: "shop",
      mode: "replicated",
      replicas: 4,
      maxPerNode: 2,
      eligibleNodes: 3,
    });
    expect(serviceFacts({ Name: "x", Mode: { Global: {} } }, 1).mode).toBe("global");
  });

  it("reads Traefik's Swarm poll from its args (15 s when unset, none without the provider)", () => {
    expect(pollOf(["--providers.swarm=true", "--providers.swarm.refreshSeconds=1"])).toBe(1);
    expect(pollOf(["--providers.swarm.endpoint=unix:///var/run/docker.sock"])).toBe(15);
    expect(pollOf(["--providers.docker=true"])).toBeUndefined();
  });
});

/** Just the Engine calls detectSwarm makes. */
function fakeDocker(o: {
  state?: string;
  manager?: boolean;
  services?: object[];
  composeContainers?: number;
}) {
  return {
    info: async () => ({
      Swarm: { LocalNodeState: o.state ?? "active", ControlAvailable: o.manager ?? true },
    }),
    listServices: async () => o.services ?? [],
    listNodes: async () => [node("1"), node("2")],
    listContainers: async () =>
      Array.from({ length: o.composeContainers ?? 0 }, (_, i) => ({ Id: `${i}`, Image: "app" })),
    getContainer: () => ({ inspect: async () => ({ Args: [] }) }),
  } as unknown as Docker;
}

const svc = { project: "shop", service: "web" };

describe("detectSwarm", () => {
  it("leaves an engine outside a swarm to the compose case", async () => {
    expect(await detectSwarm(fakeDocker({ state: "inactive" }), svc)).toBeUndefined();
  });

  it("calls a worker a worker, unless the compose project runs on it", async () => {
    expect(await detectSwarm(fakeDocker({ manager: false }), svc)).toEqual({ role: "worker" });
    expect(await detectSwarm(fakeDocker({ manager: false, composeContainers: 1 }), svc)).toBeUndefined();
  });

  it("finds the stack service <project>_<service> by its exact name on a manager", async () => {
    const spec = {
      Name: "shop_web",
      Labels: { "com.docker.stack.namespace": "shop" },
      Mode: { Replicated: { Replicas: 2 } },
    };
    const near = { ...spec, Name: "shop_web2" };
    const found = await detectSwarm(fakeDocker({ services: [{ Spec: near }, { Spec: spec }] }), svc);
    expect(found?.service).toMatchObject({ name: "shop_web", replicas: 2, eligibleNodes: 2 });
    expect(await detectSwarm(fakeDocker({ services: [{ Spec: near }] }), svc)).toBeUndefined();
  });
});

describe("routedStackService", () => {
  const stack = "com.docker.stack.namespace";
  const routed = (name: string, more: Record<string, string> = {}) => ({
    Spec: {
      Name: name,
      Labels: { [stack]: "shop", "traefik.http.routers.r.rule": "PathPrefix(`/`)", ...more },
    },
  });
  const plain = (name: string) => ({ Spec: { Name: name, Labels: { [stack]: "shop" } } });

  it("names the stack's one service Traefik routes, stand-ins and unrouted services aside", async () => {
    const services = [
      routed("shop_web"),
      plain("shop_db"),
      routed("shop_web-standin-1", { "compose-roll.stand-in": "shop_web" }),
    ];
    expect(await routedStackService(fakeDocker({ services }), "shop")).toBe("web");
  });

  it("none when the stack routes several, none, or the engine is no manager", async () => {
    expect(
      await routedStackService(fakeDocker({ services: [routed("shop_web"), routed("shop_api")] }), "shop"),
    ).toBeUndefined();
    expect(await routedStackService(fakeDocker({ services: [plain("shop_db")] }), "shop")).toBeUndefined();
    expect(
      await routedStackService(fakeDocker({ state: "inactive", services: [routed("shop_web")] }), "shop"),
    ).toBeUndefined();
    expect(
      await routedStackService(fakeDocker({ manager: false, services: [routed("shop_web")] }), "shop"),
    ).toBeUndefined();
  });
});
