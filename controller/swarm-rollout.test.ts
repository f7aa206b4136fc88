import { describe, expect, it } from "vitest";
import {
  disabled,
  finalLabels,
  probeLabels,
  recovery,
  routingVerdict,
  type SwarmTaskView,
  servesItself,
  tasksVerdict,
  usersBalancer,
} from "./swarm-rollout.js";

const L = {
  "com.docker.stack.namespace": "shop",
  "traefik.enable": "true",
  "traefik.http.routers.shop-web.rule": "PathPrefix(`/`)",
  "traefik.http.routers.shop-web.entrypoints": "web",
  "traefik.http.services.shop-web.loadbalancer.server.port": "8000",
};
const task = (
  id: string,
  state = "running",
  addresses = [`10.0.0.${id}`],
  error?: string,
): SwarmTaskView => ({
  id,
  state,
  desired: state === "running" || state === "starting" ? "running" : "shutdown",
  addresses,
  ...(error ? { error } : {}),
});

describe("usersBalancer", () => {
  it("reads the one load balancer, its port, entrypoints and network", () => {
    expect(usersBalancer({ ...L, "traefik.swarm.network": "front" })).toEqual({
      name: "shop-web",
      port: "8000",
      entryPoints: "web",
      network: "front",
    });
  });
  it("refuses labels with no service port or with two services", () => {
    expect(usersBalancer({ "traefik.enable": "true" })).toHaveProperty("refused");
    const two = { ...L, "traefik.http.services.admin.loadbalancer.server.port": "9000" };
    expect(usersBalancer(two)).toEqual({
      refused: expect.stringMatching(/2 Traefik services \(shop-web, admin\)/),
    });
  });
});

describe("probeLabels", () => {
  it("replaces the users' traefik labels with a header-only router on the same entrypoints and port", () => {
    const lb = usersBalancer(L);
    if ("refused" in lb) throw new Error(lb.refused);
    const p = probeLabels(L, lb, "probe-1", "t0k");
    expect(p["com.docker.stack.namespace"]).toBe("shop");
    expect(Object.keys(p).some((k) => k.includes("shop-web"))).toBe(false);
    expect(p["traefik.http.routers.probe-1.rule"]).toBe("Header(`X-Compose-Roll-Probe`, `t0k`)");
    expect(p["traefik.http.routers.probe-1.entrypoints"]).toBe("web");
    expect(p["traefik.http.services.probe-1.loadbalancer.server.port"]).toBe("8000");
    expect(p["traefik.http.middlewares.probe-1.headers.customresponseheaders.X-Compose-Roll-Probe"]).toBe(
      "t0k",
    );
  });
  it("disabled() keeps every label and takes the service out of Traefik", () => {
    expect(disabled(L)).toEqual({ ...L, "traefik.enable": "false" });
  });
});

describe("tasksVerdict", () => {
  it("waits for the tasks to run, then is ok", () => {
    expect(tasksVerdict([task("1", "starting")], 1, 1).kind).toBe("wait");
    expect(tasksVerdict([task("1"), task("2")], 2, 1)).toEqual({ kind: "ok" });
  });
  it("fails once a task of the new image ended, with Swarm's error", () => {
    const v = tasksVerdict([task("1", "failed", [], "task: non-zero exit (1): unhealthy container")], 1, 1);
    expect(v).toEqual({ kind: "fail", why: expect.stringMatching(/unhealthy container/) });
  });
  it("fails on a task Swarm shut down itself (an unhealthy task ends 'complete', with no error)", () => {
    const v = tasksVerdict([task("1", "complete"), task("2", "starting")], 1, 1);
    expect(v).toEqual({
      kind: "fail",
      why: expect.stringMatching(/1 task\(s\) of the new image ended \(complete: unhealthy/),
    });
  });
  it("counts ended tasks only up to the limit given (a restore waits through them)", () => {
    expect(tasksVerdict([task("1", "complete"), task("2")], 1, Number.POSITIVE_INFINITY)).toEqual({
      kind: "ok",
    });
  });
});

describe("routingVerdict", () => {
  const tasks = [task("1"), task("2", "running", ["10.1.0.2", "10.0.0.2"])];
  it("is ok when Traefik lists exactly one server per task, at any of its addresses", () => {
    expect(routingVerdict(tasks, ["http://10.0.0.1:8000", "http://10.0.0.2:8000"])).toEqual({ kind: "ok" });
  });
  it("waits while a server of a task that should be gone is still listed", () => {
    const v = routingVerdict(tasks, ["http://10.0.0.1:8000", "http://10.0.0.2:8000", "http://10.0.0.9:8000"]);
    expect(v).toEqual({ kind: "wait", why: expect.stringMatching(/1 not expected/) });
  });
  it("waits while a task is missing or Traefik has no such balancer", () => {
    expect(routingVerdict(tasks, ["http://10.0.0.1:8000"]).kind).toBe("wait");
    expect(routingVerdict(tasks, undefined).kind).toBe("wait");
  });
});

describe("recovery", () => {
  it("removes the stand-ins before the service changed, restores it while it is out or replaced, finishes after", () => {
    expect(recovery("stand-ins")).toBe("remove-stand-ins");
    expect(recovery("hand-over")).toBe("restore-service");
    expect(recovery("replace")).toBe("restore-service");
    expect(recovery("put-back")).toBe("finish");
    expect(recovery("settle")).toBe("finish");
  });
});

describe("finalLabels", () => {
  it("names the new ref in the stack's image label, as `docker stack deploy` would write it", () => {
    const stack = { ...L, "com.docker.stack.image": "app:v1" };
    expect(finalLabels(stack, "app:v2")).toEqual({ ...L, "com.docker.stack.image": "app:v2" });
    expect(finalLabels(L, "app:v2")).toEqual(L);
  });
});

describe("servesItself", () => {
  it("is false while the service is out of Traefik or on its own probe router", () => {
    expect(servesItself("shop_web", L)).toBe(true);
    expect(servesItself("shop_web", disabled(L))).toBe(false);
    expect(servesItself("shop_web", { "traefik.http.routers.shop-web-probe.rule": "Header(`X`, `t`)" })).toBe(
      false,
    );
  });
});
