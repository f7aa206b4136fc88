// Each routing mode describes itself in its own words: what status and --dry-run print.
import type Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { RefusedError } from "../controller/errors.js";
import type { DockerEngine } from "../engine/dockerEngine.js";
import { FileModeRouter, LabelModeRouter } from "./modes.js";

const clock = { now: () => 0, sleep: async () => {} };
const label = (over: Partial<ConstructorParameters<typeof LabelModeRouter>[0]> = {}) =>
  new LabelModeRouter({
    service: "web-accroll@docker",
    docker: {} as Docker,
    engine: { replicas: async () => [] } as unknown as DockerEngine,
    svc: { project: "accroll", service: "web" },
    api: "http://127.0.0.1:1",
    probePath: "/",
    clock,
    ...over,
  });

describe("FileModeRouter.describe", () => {
  it("names the owned file and the @file service, and proves each server through Traefik", () => {
    const r = new FileModeRouter({
      file: "/srv/dynamic/web.yml",
      service: "web",
      api: "http://127.0.0.1:1",
      probe: { url: "http://127.0.0.1:2", path: "/" },
    });
    const d = r.describe();
    expect(d).toMatchObject({ mode: "file", service: "web@file", file: "/srv/dynamic/web.yml" });
    expect(r.owned).toBe(r);
    expect(d.steps.route("shop-web-4")).toBe(
      "prove shop-web-4 answers through Traefik, then add it to Traefik",
    );
    expect(d.steps.retire("shop-web-1", "app:v1")).toBe(
      "take shop-web-1 (app:v1) out of Traefik, drain, stop and remove it",
    );
  });
});

describe("LabelModeRouter.describe", () => {
  it("names the @docker service Traefik really routes and the drain, and owns no list", () => {
    const r = label({ drain: { kind: "file", path: "/tmp/drain" } });
    const d = r.describe();
    expect(d).toMatchObject({ mode: "labels", service: "web-accroll@docker" });
    expect(d.summary).toBe("labels (Traefik's Docker provider routes web-accroll@docker)");
    expect(d.drain).toMatch(/^drain file \/tmp\/drain/);
    expect(r.owned).toBeUndefined();
    // Traefik adds the container itself; the proof is a direct request, not "add it to Traefik".
    expect(d.steps.route("accroll-web-4")).not.toMatch(/add it to Traefik/);
    expect(d.steps.route("accroll-web-4")).toMatch(/direct request/);
    expect(d.steps.retire("accroll-web-1", "app:v1")).toMatch(
      /^drain accroll-web-1 \(app:v1\) until Traefik drops it/,
    );
  });

  it("carries the refusal when no drain is safe", () => {
    const refusal = new RefusedError("no safe drain", "add a healthcheck");
    const d = label({ refusal }).describe();
    expect(d.refusal).toBe(refusal);
    expect(d.drain).toBeUndefined();
  });
});
