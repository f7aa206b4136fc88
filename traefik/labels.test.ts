import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import {
  chooseDrain,
  declaredServices,
  describeDrain,
  dockerServiceName,
  labelAddress,
  normalize,
  routedByLabels,
} from "./labels.js";

const svc = { project: "shop_prod", service: "web" };

describe("routedByLabels", () => {
  it("is true for traefik.enable=true or any traefik.http.* label", () => {
    expect(routedByLabels({ "traefik.enable": "true" })).toBe(true);
    expect(routedByLabels({ "traefik.enable": "True" })).toBe(true);
    expect(routedByLabels({ "traefik.http.routers.web.rule": "Host(`a`)" })).toBe(true);
  });
  it("is false without traefik labels, and when traefik.enable=false says Traefik ignores it", () => {
    expect(routedByLabels({ "com.docker.compose.service": "web" })).toBe(false);
    expect(routedByLabels({ "traefik.tcp.routers.x.rule": "HostSNI(`*`)" })).toBe(false);
    expect(routedByLabels({ "traefik.enable": "false", "traefik.http.routers.web.rule": "Host(`a`)" })).toBe(
      false,
    );
  });
});

describe("dockerServiceName", () => {
  it("defaults to <service>-<project>@docker, normalized like Traefik", () => {
    expect(normalize("web_shop_prod")).toBe("web-shop-prod");
    expect(dockerServiceName({ "traefik.enable": "true" }, svc)).toBe("web-shop-prod@docker");
  });
  it("takes the name a traefik.http.services label declares", () => {
    const labels = { "traefik.http.services.api.loadbalancer.server.port": "8000" };
    expect(declaredServices(labels)).toEqual(["api"]);
    expect(dockerServiceName(labels, svc)).toBe("api@docker");
  });
  it("takes an explicit name, and refuses to guess between several declared ones", () => {
    const labels = {
      "traefik.http.services.a.loadbalancer.server.port": "1",
      "traefik.http.services.b.loadbalancer.server.port": "2",
    };
    expect(() => dockerServiceName(labels, svc)).toThrow(/several Traefik services \(a, b\)/);
    expect(dockerServiceName(labels, svc, "b")).toBe("b@docker");
    expect(dockerServiceName(labels, svc, "b@docker")).toBe("b@docker");
  });
});

describe("labelAddress", () => {
  it("reads the service's port label and traefik.docker.network", () => {
    const labels = {
      "traefik.http.services.api.loadbalancer.server.port": "8080",
      "traefik.docker.network": "proxy",
    };
    expect(labelAddress(labels, "api@docker")).toEqual({ port: 8080, network: "proxy" });
  });
  it("ignores another service's port and a port that is not one", () => {
    expect(
      labelAddress({ "traefik.http.services.other.loadbalancer.server.port": "1" }, "api@docker"),
    ).toEqual({});
    expect(labelAddress({ "traefik.http.services.api.loadbalancer.server.port": "x" }, "api@docker")).toEqual(
      {},
    );
  });
});

describe("chooseDrain", () => {
  const drainCheck = ["CMD-SHELL", "test ! -f /tmp/drain && curl -f localhost/health"];
  const plainCheck = ["CMD", "python3", "/app/healthcheck.py"];
  const base = { drainFile: "/tmp/drain", allowUnsafe: false };

  it("prefers the drain file when the healthcheck checks it", () => {
    const m = chooseDrain(drainCheck, { ...base, drainCommand: ["x"] }, "web");
    expect(m).toEqual({ kind: "file", path: "/tmp/drain" });
    expect(describeDrain(m)).toMatch(/drain file \/tmp\/drain/);
  });
  it("takes docker-rollout's pre-stop-hook label: the file it touches when the healthcheck tests it, else the hook through sh -c", () => {
    const ownPath = ["CMD-SHELL", "test ! -f /tmp/draining && curl -f localhost/health"];
    const hook = "touch /tmp/draining && sleep 10";
    expect(chooseDrain(ownPath, { ...base, preStopHook: hook }, "web")).toEqual({
      kind: "file",
      path: "/tmp/draining",
    });
    expect(chooseDrain(plainCheck, { ...base, preStopHook: "kill -USR1 1; sleep 5" }, "web")).toEqual({
      kind: "command",
      argv: ["sh", "-c", "kill -USR1 1; sleep 5"],
    });
    // The default drain file, when the healthcheck tests it, still comes first; so does --drain-command.
    expect(chooseDrain(drainCheck, { ...base, preStopHook: hook }, "web")).toEqual({
      kind: "file",
      path: "/tmp/drain",
    });
    expect(chooseDrain(ownPath, { ...base, preStopHook: hook, drainCommand: ["x"] }, "web")).toEqual({
      kind: "command",
      argv: ["x"],
    });
    // Without a healthcheck no hook can take it out of Traefik: refused as before.
    expect(() => chooseDrain(undefined, { ...base, preStopHook: hook }, "web")).toThrow(/requests in flight/);
  });
  it("falls back to the drain command", () => {
    expect(chooseDrain(plainCheck, { ...base, drainCommand: ["touch", "/x"] }, "web")).toEqual({
      kind: "command",
      argv: ["touch", "/x"],
    });
  });
  it("refuses in one line naming the healthcheck line to add, unless unsafe is allowed", () => {
    let err: unknown;
    try {
      chooseDrain(plainCheck, base, "web");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as RefusedError).message).not.toContain("\n");
    expect((err as RefusedError).message).toMatch(/^requests in flight to old containers may fail/);
    expect((err as RefusedError).hint).toContain(
      'test: ["CMD-SHELL", "test ! -f /tmp/drain && <your check>"]',
    );
    expect(chooseDrain(plainCheck, { ...base, allowUnsafe: true }, "web")).toEqual({ kind: "unsafe" });
  });
  it("a drain command cannot help a container without a healthcheck", () => {
    expect(() => chooseDrain(undefined, { ...base, drainCommand: ["x"] }, "web")).toThrow(
      /has no healthcheck/,
    );
    expect(() => chooseDrain(["NONE"], { ...base, drainCommand: ["x"] }, "web")).toThrow(
      /has no healthcheck/,
    );
    expect(chooseDrain(undefined, { ...base, allowUnsafe: true }, "web")).toEqual({ kind: "unsafe" });
  });
});
